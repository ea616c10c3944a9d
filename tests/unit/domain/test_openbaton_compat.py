"""Open Baton packages as they are found in the wild: what nfvo accepts, warns about or refuses.

Each package here is a look-alike written for these tests: a small firewall VNF by ACME.
"""

import io
import json
import tarfile

import pytest

from nfvo.domain.archive import PackageArchive
from nfvo.domain.openbaton import read_package
from nfvo.errors import ValidationFailed

DIGEST = "sha256:" + "4f" * 32

FW_VNFD = {
    "name": "acme-fw", "vendor": "ACME", "version": "1.2",
    "vdu": [{"vm_image": [], "scale_in_out": 1, "vimInstanceName": []}],
    "deployment_flavour": [{"flavour_key": "m1.small"}],
    "type": "firewall", "endpoint": "docker",
}

# Metadata.yaml of a firewall package for a Docker VIM; each case below changes a line or two.
FW_METADATA = """\
name: acme-fw
provider: ACME
nfvo_version: 6.0.0
vim_types:
  - docker
image:
  upload: check
  names: [acme-fw]
  link: acme/fw:1.2
image-config:
  name: acme-fw
  diskFormat: raw
  containerFormat: docker
"""

FW_IMAGES_MAP = """\
name: acme-fw
provider: ACME
nfvo_version: 6.1.0
vim_types: [docker]
images:
  acme/fw:1.2:
    file: images/vnf-fw.tar
    diskFormat: raw
    containerFormat: docker
"""


def package(tmp_path, metadata, vnfd=None, images=()):
    files = {"Metadata.yaml": metadata.encode(), "acme-fw.json": json.dumps(vnfd or FW_VNFD, indent=2).encode()}
    files.update({f"images/{name}": b"tar bytes" for name in images})
    path = tmp_path / "acme-fw.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def read(tmp_path, metadata, *, strict=False, **kwargs):
    with PackageArchive.open(package(tmp_path, metadata, **kwargs), display_name="acme-fw.tar") as archive:
        return read_package(archive, strict=strict)


def findings(tmp_path, metadata, **kwargs):
    """Every finding of the package, whether it is refused or not."""
    try:
        return list(read(tmp_path, metadata, **kwargs).warnings)
    except ValidationFailed as refused:
        return refused.errors


def edit(text, old, new):
    assert old in text
    return text.replace(old, new)


WITH_VM_IMAGE = dict(FW_VNFD, vdu=[dict(FW_VNFD["vdu"][0], vm_image=["acme/fw:1.2"])])

CASES = [
    # 1. unknown keys are warnings; a "did you mean" only for a close known key
    ("unknown key", edit(FW_METADATA, "provider: ACME\n", "provider: ACME\nshared: true\n"), {},
     "warning", 3, "/shared", "unknown key 'shared' (Open Baton ignores it)"),
    ("misspelt key", edit(FW_METADATA, "provider: ACME\n", "provider: ACME\ndescripton: a firewall\n"), {},
     "warning", 3, "/descripton", "unknown key 'descripton' (Open Baton ignores it; did you mean 'description'?)"),
    ("unknown key in image-config", FW_METADATA + "  minCpu: 1\n", {},
     "warning", 14, "/image-config/minCpu", "unknown key 'minCpu' (Open Baton ignores it; did you mean 'minCPU'?)"),
    ("known key, wrong value", FW_METADATA + "tag: [a, b]\n", {},
     "error", 14, "/tag", "must be a string, not a list"),
    # 2. a bare Docker reference as image.link
    ("Docker reference for openstack", edit(FW_METADATA, "  - docker\n", "  - openstack\n"), {},
     "error", 9, "/image/link",
     "image.link 'acme/fw:1.2' is a Docker image reference; VIM type 'openstack' cannot use it"),
    ("Docker reference, mixed VIM types", edit(FW_METADATA, "  - docker\n", "  - docker\n  - openstack\n  - local\n"),
     {}, "error", 11, "/image/link",
     "image.link 'acme/fw:1.2' is a Docker image reference; VIM types 'openstack', 'local' cannot use it"),
    ("Docker reference as an images url",
     edit(FW_IMAGES_MAP, "vim_types: [docker]", "vim_types: [openstack]").replace(
         "    file: images/vnf-fw.tar\n", "    url: mongo:latest\n"), {},
     "error", 7, "/images/acme~1fw:1.2/url",
     "url 'mongo:latest' is a Docker image reference; VIM type 'openstack' cannot use it"),
    ("neither URL nor reference", edit(FW_METADATA, "link: acme/fw:1.2", "link: ACME firewall 1.2"), {},
     "error", 9, "/image/link", "'ACME firewall 1.2' is neither an http or https URL nor a Docker image reference"),
    ("not an http URL", edit(FW_METADATA, "link: acme/fw:1.2", "link: ftp://example.org/fw.tar"), {},
     "error", 9, "/image/link", "'ftp://example.org/fw.tar' is not an http or https URL"),
    # 3. required keys follow nfvo_version
    ("4.x without vendor", edit(FW_METADATA, "provider: ACME\nnfvo_version: 6.0.0\n", "nfvo_version: 4.0.0\n"), {},
     "warning", 1, "/vendor",
     "'vendor' (or its alias 'provider') is required from Open Baton 5.0 on; this package is for 4.0.0"),
    ("4.x as a number, without vendor", edit(FW_METADATA, "provider: ACME\nnfvo_version: 6.0.0\n", "nfvo-version: 4.0\n"),
     {}, "warning", 1, "/vendor",
     "'vendor' (or its alias 'provider') is required from Open Baton 5.0 on; this package is for 4.0"),
    ("4.x without image", "name: acme-fw\nprovider: ACME\nnfvo_version: 4.0.1\nvim_types: [docker]\n",
     {"vnfd": WITH_VM_IMAGE}, "error", 1, "/image", "'image' is required by Open Baton 4.0.1"),
    ("6.x without vendor", edit(FW_METADATA, "provider: ACME\n", ""), {},
     "error", 1, "/vendor", "'vendor' (or its alias 'provider') is required"),
    ("no nfvo_version, without vendor", edit(FW_METADATA, "provider: ACME\nnfvo_version: 6.0.0\n", ""), {},
     "error", 1, "/vendor", "'vendor' (or its alias 'provider') is required"),
    # 4. an images: entry names its file
    ("images file missing", FW_IMAGES_MAP, {},
     "error", 7, "/images/acme~1fw:1.2/file", "'images/vnf-fw.tar' is not a file in the package's images/ folder"),
    ("images url and file", edit(FW_IMAGES_MAP, "    file:", "    url: https://images.example.com/fw.tar\n    file:"),
     {"images": ["vnf-fw.tar"]}, "error", 6, "/images/acme~1fw:1.2", "image 'acme/fw:1.2': give either url or file, "
                                                                    "not both"),
    ("images name with / and no file", edit(FW_IMAGES_MAP, "    file: images/vnf-fw.tar\n", ""), {},
     "error", 6, "/images/acme~1fw:1.2", "image name 'acme/fw:1.2' cannot be a file name in images/"),
]


@pytest.mark.parametrize("metadata, kwargs, severity, line, pointer, message",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_compatibility_findings(tmp_path, metadata, kwargs, severity, line, pointer, message):
    found = findings(tmp_path, metadata, **kwargs)
    assert ("Metadata.yaml", line, pointer, message, severity) in [
        (f.file, f.line, f.pointer, f.message, f.severity) for f in found]
    if severity == "warning":
        assert [f.severity for f in found] == ["warning"]  # the only finding: the package is accepted


@pytest.mark.parametrize("reference", ["openbaton/iperfclient:latest", "mongo:latest", "acme/fw:1.2",
                                       "registry.example.com:5000/x/y:tag", f"acme/fw@{DIGEST}",
                                       f"localhost:5000/acme/fw:1.2@{DIGEST}"])
def test_a_bare_docker_reference_is_a_docker_link(tmp_path, reference):
    metadata = edit(FW_METADATA, "link: acme/fw:1.2", f"link: {reference}")
    for vim_types in ("  - docker\n", "  - Docker\n"):
        package = read(tmp_path, edit(metadata, "  - docker\n", vim_types))
        assert package.warnings == ()
        assert package.metadata.images[0].link == f"docker://{reference}"


def test_a_bare_docker_reference_without_vim_types_is_only_the_missing_vim_types(tmp_path):
    metadata = edit(FW_METADATA, "vim_types:\n  - docker\n", "")
    [issue] = findings(tmp_path, metadata)
    assert (issue.pointer, issue.message) == ("/vim_types", "'vim_types' is required")


@pytest.mark.parametrize("reference", ["Acme/fw:1.2", "acme/FW:1.2", "acme//fw", "acme/fw:1.2@sha256:abc",
                                       "-acme/fw", "acme/fw:", "fw:ünï"])
def test_an_invalid_docker_reference_is_an_error(tmp_path, reference):
    found = findings(tmp_path, edit(FW_METADATA, "link: acme/fw:1.2", f"link: '{reference}'"))
    [issue] = [f for f in found if f.pointer == "/image/link"]
    assert (issue.pointer, issue.severity) == ("/image/link", "error")
    assert issue.message == f"'{reference}' is neither an http or https URL nor a Docker image reference"


def test_a_docker_image_name_from_a_package_file(tmp_path):
    package = read(tmp_path, FW_IMAGES_MAP, images=["vnf-fw.tar"])
    [request] = package.metadata.images
    assert (request.key, request.names, request.file, request.link) == (
        "acme/fw:1.2", ("acme/fw:1.2",), "images/vnf-fw.tar", None)
    assert request.pointer == "/images/acme~1fw:1.2"
    assert package.warnings == ()


def test_an_open_baton_4_package_without_vendor_takes_the_vnfd_vendor(tmp_path):
    metadata = edit(FW_METADATA, "provider: ACME\nnfvo_version: 6.0.0\n", "nfvo_version: 4.0.0\nshared: true\n")
    package = read(tmp_path, metadata)
    assert package.metadata.vendor == ""
    assert package.vnfd["vendor"] == "ACME"
    assert [w.pointer for w in package.warnings] == ["/vendor", "/shared"]


def test_warnings_refuse_a_package_under_strict_validation(tmp_path):
    metadata = edit(FW_METADATA, "provider: ACME\n", "provider: ACME\nshared: true\n")
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, metadata, strict=True)
    assert caught.value.detail == "1 problem in package acme-fw.tar (strict validation: warnings are errors)"
    assert [(e.pointer, e.severity) for e in caught.value.errors] == [("/shared", "error")]
