"""Tests of the Open Baton package reader and validator."""

import dataclasses
import io
import json
import tarfile
import time

import pytest

from nfvo.domain.archive import PackageArchive
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.domain.openbaton import (
    MAX_ISSUES,
    METADATA_MAX_SIZE,
    fill_vm_images,
    lifecycle_scripts,
    missing_scripts,
    read_package,
)
from nfvo.domain.sources import MAX_DEPTH
from nfvo.errors import UnsafeArchive, ValidationFailed

# Seed 001 (Open Baton docs, iperf tutorial), vim_types rewritten to [local] and the
# repeated vim_types key dropped.
SERVER_METADATA = """\
name: iperf-server
description: iPerf server
provider: FOKUS
scripts-link: https://script-link-to-git.git
nfvo_version: 4.0.0
vim_types:
 - local
image:
    upload: "check"
    names:
        - iperf_server_image
    link: "http://cloud-images.ubuntu.com/trusty/current/trusty-server-cloudimg-amd64-disk1.img"
image-config:
    name: iperf_server_image
    diskFormat: QCOW2
    containerFormat: BARE
    minCPU: 2
    minDisk: 5
    minRam: 2048
    isPublic: false
"""

SERVER_VNFD = {
    "name": "iperf-server", "vendor": "FOKUS", "version": "1.0",
    "lifecycle_event": [{"event": "INSTANTIATE", "lifecycle_events": ["install.sh", "install-srv.sh"]}],
    "virtual_link": [{"name": "private"}],
    "vdu": [{"vm_image": [], "scale_in_out": 1,
             "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
             "vimInstanceName": []}],
    "deployment_flavour": [{"flavour_key": "m1.small"}],
    "type": "server", "endpoint": "generic",
    "vnfPackageLocation": "https://github.com/openbaton/vnf-scripts.git",
}

CLIENT_METADATA = """\
name: iperf-client
description: iPerf client
provider: FOKUS
nfvo_version: 4.0.0
vim_types:
 - local
scripts-link: https://gitlab.fokus.fraunhofer.de/openbaton/scripts-test-public.git
image:
    upload: "check"
    names:
        - iperf_client_image
    link: "http://cloud-images.ubuntu.com/trusty/current/trusty-server-cloudimg-amd64-disk1.img"
image-config:
    name: iperf_client_image
    diskFormat: QCOW2
    containerFormat: BARE
    minCPU: 2
    minDisk: 5
    minRam: 2048
    isPublic: false
"""

CLIENT_VNFD = {
    "name": "iperf-client", "vendor": "FOKUS", "version": "1.0",
    "lifecycle_event": [{"event": "CONFIGURE", "lifecycle_events": ["server_configure.sh"]},
                        {"event": "INSTANTIATE", "lifecycle_events": ["install.sh"]}],
    "vdu": [{"vm_image": [""], "scale_in_out": 1,
             "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
             "vimInstanceName": []}],
    "virtual_link": [{"name": "private"}],
    "deployment_flavour": [{"flavour_key": "m1.small"}],
    "type": "client", "endpoint": "generic",
    "vnfPackageLocation": "https://github.com/openbaton/vnf-scripts.git",
}

TRUSTY = "http://cloud-images.ubuntu.com/trusty/current/trusty-server-cloudimg-amd64-disk1.img"


def make_package(tmp_path, files, *, prefix="", gz=False, dirs=("scripts",)):
    path = tmp_path / ("pkg.tar.gz" if gz else "pkg.tar")
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name in dirs:
            info = tarfile.TarInfo(prefix + name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, content in files.items():
            data = content if isinstance(content, bytes) else (
                content.encode() if isinstance(content, str) else json.dumps(content, indent=2).encode())
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def read(tmp_path, files, **kwargs):
    with PackageArchive.open(make_package(tmp_path, files, **kwargs), display_name="p.tar") as archive:
        return read_package(archive)


def problems(tmp_path, files, **kwargs):
    with pytest.raises(ValidationFailed) as caught:
        read(tmp_path, files, **kwargs)
    return caught.value


def server_files(metadata=SERVER_METADATA, vnfd=SERVER_VNFD, **more):
    return {"Metadata.yaml": metadata, "vnfd.json": vnfd,
            "scripts/install.sh": "echo install\n", "scripts/install-srv.sh": "echo srv\n", **more}


def json_line(vnfd, fragment):
    """1-based line of the first line holding ``fragment`` in the VNFD as make_package writes it."""
    return next(i for i, text in enumerate(json.dumps(vnfd, indent=2).splitlines(), 1) if fragment in text)


def without_line(request):
    return dataclasses.replace(request, source_line=None)


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
@pytest.mark.parametrize("prefix", ["", "./"], ids=["bare", "dot-slash"])
def test_iperf_server_reads(tmp_path, prefix, gz):
    package = read(tmp_path, server_files(), prefix=prefix, gz=gz)
    meta = package.metadata
    assert (meta.name, meta.vendor, meta.version, meta.nfvo_version) == ("iperf-server", "FOKUS", "1.0", "4.0.0")
    assert meta.vim_types == ("local",)
    assert meta.description == "iPerf server"
    assert meta.scripts_link == "https://script-link-to-git.git"
    assert (meta.tag, meta.os_id, meta.os_version, meta.os_architecture) == (None, None, None, None)
    assert [without_line(r) for r in meta.images] == [ImageRequest(
        key="image", upload="check", names=("iperf_server_image",), link=TRUSTY,
        config=ImageConfig(name="iperf_server_image", disk_format="qcow2", container_format="bare",
                           min_cpu=2, min_disk=5, min_ram=2048, is_public=False))]
    assert meta.images[0].source_line == 8
    assert meta.raw["provider"] == "FOKUS"
    assert (package.metadata_file, package.vnfd_file) == ("Metadata.yaml", "vnfd.json")
    assert package.vnfd == SERVER_VNFD
    assert package.vnfd_source.line_of("/vdu/0/vm_image") == json_line(SERVER_VNFD, '"vm_image"')
    assert package.scripts == ("scripts/install-srv.sh", "scripts/install.sh")
    assert package.image_files == ()


def test_iperf_client_reads(tmp_path):
    files = {"metadata.YAML": CLIENT_METADATA, "iperf-client.json": CLIENT_VNFD,
             "scripts/install.sh": "", "scripts/server_configure.sh": "", "._iperf-client.json": b"\0"}
    package = read(tmp_path, files, prefix="./")
    assert package.metadata_file == "metadata.YAML"
    assert package.vnfd_file == "iperf-client.json"
    assert package.metadata.images[0].names == ("iperf_client_image",)
    assert package.vnfd["vdu"][0]["vm_image"] == [""]
    assert lifecycle_scripts(package.vnfd) == [
        ("/lifecycle_event/0/lifecycle_events/0", "server_configure.sh"),
        ("/lifecycle_event/1/lifecycle_events/0", "install.sh")]


def test_metadata_with_several_mistakes(tmp_path):
    metadata = """\
name: iperf-server
vendor: FOKUS
provider: FOKUS
vim_types: [local, 3]
version: [1]
colour: blue
image:
    upload: maybe
    names: iperf_server_image
    link: ftp://example.org/x.img
image-config:
    name: iperf_server_image
    diskFormat: QCOW2
    minCPU: -1
    minRam: lots
    isPublic: sure
"""
    error = problems(tmp_path, server_files(metadata))
    assert error.detail == "8 problems in package p.tar, and 1 warning"
    assert [(e.file, e.line, e.pointer, e.severity) for e in error.errors] == [
        ("Metadata.yaml", 3, "/provider", "error"),
        ("Metadata.yaml", 4, "/vim_types/1", "error"),
        ("Metadata.yaml", 5, "/version", "error"),
        ("Metadata.yaml", 6, "/colour", "warning"),
        ("Metadata.yaml", 8, "/image/upload", "error"),
        ("Metadata.yaml", 10, "/image/link", "error"),
        ("Metadata.yaml", 14, "/image-config/minCPU", "error"),
        ("Metadata.yaml", 15, "/image-config/minRam", "error"),
        ("Metadata.yaml", 16, "/image-config/isPublic", "error"),
    ]
    messages = {e.pointer: e.message for e in error.errors}
    assert messages["/provider"] == "'vendor' and 'provider' mean the same: give only one"
    assert messages["/vim_types/1"] == "must be a string, not a number"
    assert messages["/colour"] == "unknown key 'colour' (Open Baton ignores it)"
    assert messages["/image/upload"] == "upload must be one of true, false, check (got 'maybe')"
    assert messages["/image/link"] == "'ftp://example.org/x.img' is not an http or https URL"
    assert messages["/image-config/minCPU"] == "must be a whole number, 0 or more"
    assert messages["/image-config/isPublic"] == "must be true or false"


def test_missing_required_keys_and_conditional_rules(tmp_path):
    metadata = """\
name: iperf-server
vim-type: local
image:
    upload: true
image-config:
    name: x
"""
    error = problems(tmp_path, server_files(metadata))
    found = {(e.line, e.pointer, e.severity, e.message) for e in error.errors}
    assert found == {
        (1, "/vendor", "error", "'vendor' (or its alias 'provider') is required"),
        (1, "/vim_types", "error", "'vim_types' is required"),
        (2, "/vim-type", "warning", "unknown key 'vim-type' (Open Baton ignores it; did you mean 'vim-types'?)"),
        (3, "/image", "error", "upload 'true' needs image.link or image.file to upload from"),
        (5, "/image-config/diskFormat", "error", "'diskFormat' is required when upload is 'true'"),
        (5, "/image-config/containerFormat", "error", "'containerFormat' is required when upload is 'true'"),
    }


@pytest.mark.parametrize("written", ["true", '"true"', "'TRUE'", "yes", '"True"'])
def test_upload_true_quoted_or_not(tmp_path, written):
    metadata = SERVER_METADATA.replace('upload: "check"', f"upload: {written}")
    assert read(tmp_path, server_files(metadata)).metadata.images[0].upload == "true"


@pytest.mark.parametrize("written, expected", [("false", "false"), ('"False"', "false"), ("Check", "check")])
def test_upload_other_values(tmp_path, written, expected):
    metadata = SERVER_METADATA.replace('upload: "check"', f"upload: {written}")
    assert read(tmp_path, server_files(metadata)).metadata.images[0].upload == expected


def test_upload_false_needs_ids_or_names(tmp_path):
    metadata = "name: iperf-server\nvendor: FOKUS\nvim_types: local\nimage:\n  upload: false\n"
    [issue] = problems(tmp_path, server_files(metadata)).errors
    assert (issue.line, issue.pointer) == (4, "/image")
    assert "needs image.ids or image.names" in issue.message


def test_upload_false_with_ids_needs_no_image_config(tmp_path):
    metadata = ("name: iperf-server\nvendor: FOKUS\nvim_types: local\nversion: 2.10\n"
                "image:\n  upload: false\n  ids: abc-123\n")
    meta = read(tmp_path, server_files(metadata)).metadata
    assert meta.version == "2.10"
    assert meta.vim_types == ("local",)
    assert [without_line(r) for r in meta.images] == [ImageRequest(key="image", upload="false", ids=("abc-123",))]


def test_legacy_image_from_package_file(tmp_path):
    metadata = SERVER_METADATA.replace(f'    link: "{TRUSTY}"\n', "")
    package = read(tmp_path, server_files(metadata, **{"images/trusty.img": b"QFI"}), dirs=("scripts", "images"))
    assert package.image_files == ("images/trusty.img",)
    assert package.metadata.images[0].file == "images/trusty.img"
    assert package.metadata.images[0].link is None

    named = metadata.replace("    names:", "    file: ./images/b.img\n    names:")
    files = server_files(named, **{"images/a.img": b"A", "images/b.img": b"B"})
    assert read(tmp_path, files).metadata.images[0].file == "images/b.img"

    wrong = metadata.replace("    names:", "    file: images/c.img\n    names:")
    [issue] = problems(tmp_path, server_files(wrong, **{"images/a.img": b"A"})).errors
    assert (issue.pointer, issue.line) == ("/image/file", 10)


def test_images_map(tmp_path):
    metadata = """\
name: iperf-server
provider: FOKUS
nfvo-version: 6.1.0
vim_types: [local]
images:
    xenial:
        url: https://cloud-images.ubuntu.com/xenial/current/xenial-server-cloudimg-amd64-disk1.img
        diskFormat: QCOW2
        containerFormat: bare
        minCPU: 2
        minDisk: "2"
        minRam: 2048
        isPublic: "True"
    bionic:
        diskFormat: qcow2
        containerFormat: bare
"""
    package = read(tmp_path, server_files(metadata, **{"images/bionic": b"QFI"}))
    assert package.metadata.nfvo_version == "6.1.0"
    xenial, bionic = package.metadata.images
    assert without_line(xenial) == ImageRequest(
        key="xenial", upload="check", names=("xenial",),
        link="https://cloud-images.ubuntu.com/xenial/current/xenial-server-cloudimg-amd64-disk1.img",
        config=ImageConfig("xenial", "qcow2", "bare", 2, 2, 2048, True), pointer="/images/xenial")
    assert without_line(bionic) == ImageRequest(
        key="bionic", upload="check", names=("bionic",), file="images/bionic",
        config=ImageConfig("bionic", "qcow2", "bare", 0, 0, 0, False), pointer="/images/bionic")
    assert (xenial.source_line, bionic.source_line) == (6, 14)


def test_images_map_mistakes(tmp_path):
    metadata = """\
name: iperf-server
provider: FOKUS
vim_types: [local]
image:
    upload: false
    names: x
images:
    bionic:
        containerFormat: bare
    ../etc:
        diskFormat: raw
        containerFormat: bare
"""
    error = problems(tmp_path, server_files(metadata))
    assert [(e.line, e.pointer, e.message) for e in error.errors] == [
        (7, "/images", "give either 'images' or the deprecated 'image', not both"),
        (8, "/images/bionic", "image 'bionic' has no url and the package has no file images/bionic"),
        (8, "/images/bionic/diskFormat", "'diskFormat' is required"),
        (10, "/images/..~1etc", "image name '../etc' cannot be a file name in images/"),
    ]


def test_yaml_syntax_error_has_line(tmp_path):
    broken = SERVER_METADATA.replace("provider: FOKUS", "provider: [FOKUS")
    error = problems(tmp_path, server_files(broken))
    assert [(e.file, e.line) for e in error.errors] == [("Metadata.yaml", 4)]
    assert error.errors[0].message.startswith("invalid YAML")


def test_json_syntax_error_has_line(tmp_path):
    broken = json.dumps(SERVER_VNFD, indent=2).replace('"type": "server",', '"type": "server"')
    error = problems(tmp_path, server_files(vnfd=broken.encode()))
    [issue] = error.errors
    assert issue.file == "vnfd.json"
    assert issue.line == broken.splitlines().index('  "endpoint": "generic",') + 1
    assert issue.message == "JSON syntax error: Expecting ',' delimiter"


def test_layout_problems(tmp_path):
    files = {"Metadata.yaml": SERVER_METADATA, "a.json": SERVER_VNFD, "b.json": SERVER_VNFD,
             "scripts/sub/x.sh": "", "images/deep/x.img": b"", "scripts/ok.sh": ""}
    error = problems(tmp_path, files)
    assert [(e.file, e.message) for e in error.errors] == [
        ("b.json", "exactly one VNFD *.json is expected at the package root, found 2: a.json, b.json"),
        ("images/deep", "images/ must be flat: sub-folder 'images/deep' is not allowed"),
        ("scripts/sub", "scripts/ must be flat: sub-folder 'scripts/sub' is not allowed"),
    ]


def test_several_metadata_files_differing_in_case(tmp_path):
    files = server_files(**{"metadata.yaml": SERVER_METADATA})
    [issue] = problems(tmp_path, files).errors
    assert (issue.file, issue.message) == ("metadata.yaml", "several Metadata.yaml files: Metadata.yaml, metadata.yaml")


def test_missing_metadata_and_vnfd(tmp_path):
    error = problems(tmp_path, {"scripts/install.sh": "", "nested/vnfd.json": SERVER_VNFD})
    assert error.detail == "2 problems in package p.tar"
    assert [e.message for e in error.errors] == [
        "no VNFD: the package root holds no *.json file",
        "Metadata.yaml is missing from the package root"]


def test_vnfd_problems(tmp_path):
    vnfd = {
        "name": "other", "vendor": "ACME", "version": 1,
        "lifecycle_event": [{"event": "INSTALL", "lifecycle_events": ["a.sh"]}],
        "virtual_link": [{"name": "private"}],
        "vdu": [{"vm_image": [], "scale_in_out": 0, "vimInstanceName": "vim1",
                 "vnfc": [{"connection_point": [{"virtual_link_reference": "public"}]}]},
                {"vm_image": ["ubuntu", ""]}],
        "endpoint": "",
    }
    metadata = "name: iperf-server\nvendor: FOKUS\nvim_types: [local]\n"
    error = problems(tmp_path, server_files(metadata, vnfd))
    found = {e.pointer: (e.line, e.message) for e in error.errors}
    text = json.dumps(vnfd, indent=2).splitlines()

    def line(fragment, start=0):
        return next(i for i, t in enumerate(text) if i >= start and fragment in t) + 1

    assert found == {
        "/name": (2, "VNFD name 'other' differs from the name 'iperf-server' in Metadata.yaml"),
        "/vendor": (3, "VNFD vendor 'ACME' differs from the vendor 'FOKUS' in Metadata.yaml"),
        "/version": (4, "must be a string, not a number"),
        "/lifecycle_event/0/event": (line('"event"'), "must be one of GRANTED, ALLOCATE, SCALE, RELEASE, "
                                     "ERROR, INSTANTIATE, TERMINATE, CONFIGURE, START, STOP, HEAL, SCALE_OUT, "
                                     "SCALE_IN, SCALE_UP, SCALE_DOWN, UPDATE, UPDATE_ROLLBACK, UPGRADE, "
                                     "UPGRADE_ROLLBACK, RESET (got 'INSTALL')"),
        "/vdu/0/vm_image": (line('"vm_image"'), "vm_image is empty and Metadata.yaml names no image to fill it"),
        "/vdu/0/scale_in_out": (line('"scale_in_out"'), "must be at least 1"),
        "/vdu/0/vimInstanceName": (line('"vimInstanceName"'), "must be a list, not a string"),
        "/vdu/0/vnfc/0/connection_point/0/virtual_link_reference": (
            line('"virtual_link_reference"'), "'public' is not a virtual_link of this VNFD (known: private)"),
        "/vdu/1/vm_image/1": (line('""', line('"ubuntu"')), "empty image name"),
        "/type": (1, "'type' is required"),
        "/endpoint": (line('"endpoint"'), "must not be empty"),
        # Checked with the rest, not only once the package is otherwise valid.
        "/lifecycle_event/0/lifecycle_events/0": (line('"a.sh"'), "script 'a.sh' named by a lifecycle event "
                                                  "is not among the package's scripts"),
    }


def test_vnfd_without_vendor_takes_metadata_vendor(tmp_path):
    vnfd = {k: v for k, v in SERVER_VNFD.items() if k != "vendor"}
    package = read(tmp_path, server_files(vnfd=vnfd))
    assert package.vnfd["vendor"] == "FOKUS"
    assert "vendor" not in package.vnfd_source.data


def test_vnfd_not_an_object(tmp_path):
    [issue] = problems(tmp_path, server_files(vnfd=[1, 2])).errors
    assert (issue.file, issue.line, issue.pointer, issue.message) == (
        "vnfd.json", 1, "", "must be a mapping, not a list")


def test_missing_scripts(tmp_path):
    vnfd = dict(SERVER_VNFD, vdu=[dict(SERVER_VNFD["vdu"][0], lifecycle_event=[
        {"event": "START", "lifecycle_events": ["start.sh"]}])])
    package = read(tmp_path, server_files(vnfd=vnfd))
    issues = missing_scripts(package, ["install.sh"])
    assert [(i.file, i.pointer, i.line) for i in issues] == [
        ("vnfd.json", "/lifecycle_event/0/lifecycle_events/1", json_line(vnfd, '"install-srv.sh"')),
        ("vnfd.json", "/vdu/0/lifecycle_event/0/lifecycle_events/0",
         package.vnfd_source.lines["/vdu/0/lifecycle_event/0/lifecycle_events/0"]),
    ]
    assert issues[0].message == "script 'install-srv.sh' named by a lifecycle event is not among the package's scripts"
    assert missing_scripts(package, ["install.sh", "install-srv.sh", "start.sh"]) == []


def test_fill_vm_images():
    vnfd = {"name": "x", "vdu": [{"vm_image": []}, {"vm_image": [""]}, {"vm_image": ["keep"]}, {}]}
    filled = fill_vm_images(vnfd, {0: ["a"], 1: ["b", "c"], 2: ["ignored"], 3: ["d"]})
    assert [v.get("vm_image") for v in filled["vdu"]] == [["a"], ["b", "c"], ["keep"], ["d"]]
    assert vnfd["vdu"][0]["vm_image"] == []


def test_a_link_python_cannot_split_is_a_validation_error(tmp_path):
    metadata = SERVER_METADATA.replace(TRUSTY, "http://[x")
    found = {(e.file, e.line, e.pointer): e.message for e in problems(tmp_path, server_files(metadata)).errors}
    assert found[("Metadata.yaml", 12, "/image/link")] == "'http://[x' is not an http or https URL"


def test_a_vnfd_nested_900_deep_under_a_free_key_is_refused(tmp_path):
    deep: list = []
    for _ in range(900):
        deep = [deep]
    vnfd = dict(SERVER_VNFD, configurations={"configurationParameters": deep})
    [issue] = problems(tmp_path, server_files(vnfd=json.dumps(vnfd).encode())).errors
    assert (issue.file, issue.line) == ("vnfd.json", 1)
    assert issue.pointer.startswith("/configurations/configurationParameters/0/0")
    assert f"nested deeper than {MAX_DEPTH} levels" in issue.message


def test_metadata_has_its_own_small_size_limit(tmp_path):
    assert METADATA_MAX_SIZE == 256 * 2**10
    metadata = SERVER_METADATA + "# " + "x" * METADATA_MAX_SIZE + "\n"
    with pytest.raises(UnsafeArchive) as caught:
        read(tmp_path, server_files(metadata))
    [issue] = caught.value.errors
    assert issue.file == "Metadata.yaml"
    assert f"larger than {METADATA_MAX_SIZE} bytes" in issue.message


def test_reported_problems_are_capped(tmp_path):
    assert MAX_ISSUES == 100
    metadata = SERVER_METADATA.replace("vim_types:\n - local\n", "") + "".join(
        f"unknown{i:03}: x\n" for i in range(149))
    error = problems(tmp_path, server_files(metadata))
    assert error.detail == "1 problem in package p.tar, and 149 warnings"
    assert len(error.errors) == MAX_ISSUES + 1
    assert [(e.pointer, e.severity) for e in error.errors[:3]] == [
        ("/vim_types", "error"), ("/unknown000", "warning"), ("/unknown001", "warning")]
    assert error.errors[-1].message == "50 more problems were found; only the first 100 are listed"


def test_a_metadata_file_of_unknown_keys_at_the_size_limit_is_read_quickly(tmp_path):
    keys = "".join(f"k{i:07}: 1\n" for i in range(METADATA_MAX_SIZE // 12 - 100))
    started = time.monotonic()
    with PackageArchive.open(make_package(tmp_path, server_files(SERVER_METADATA + keys)), display_name="p.tar") as archive:
        with pytest.raises(ValidationFailed) as caught:
            read_package(archive, strict=True)  # the unknown keys are warnings, errors when strict
    error = caught.value
    assert time.monotonic() - started < 8  # about 2.5 s; a 1.4 MB file took 11 s before the limit
    assert len(error.errors) == MAX_ISSUES + 1
