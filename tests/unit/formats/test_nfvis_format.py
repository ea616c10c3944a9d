"""The NFVIS format passes the format conformance kit, and verifies its images while they stream."""

from __future__ import annotations

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.errors import ValidationFailed
from nfvo.formats import registry
from nfvo.formats.conformance import FormatConformance
from tests.unit.domain.nfvis import samples


def unpack(directory, files):
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


class TestNfvisFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("nfvis")

    @pytest.fixture
    def unpacked_package(self, tmp_path):
        return unpack(tmp_path / "router", samples.router())

    @pytest.fixture
    def valid_package(self, tmp_path):
        return samples.write_tar(tmp_path / "router.tar.gz", samples.router())

    @pytest.fixture
    def broken_package(self, tmp_path):
        properties = (samples.ROUTER_PROPERTIES.replace("<vcpu_min>1</vcpu_min>", "<vcpu_min>9</vcpu_min>")
                      .replace("<default_profile>small</default_profile>", "<default_profile>huge</default_profile>"))
        files = samples.package(properties, {"iosxe_config.txt": samples.ROUTER_CONFIG})
        return samples.write_tar(tmp_path / "broken.tar.gz", files)


def test_an_image_that_differs_from_package_mf_fails_while_it_streams(tmp_path):
    files = samples.router()
    files["router.qcow2"] = files["router.qcow2"][::-1]  # package.mf still lists the original
    path = samples.write_tar(tmp_path / "changed.tar.gz", files)
    fmt = registry.get("nfvis")
    with fmt.open(path, limits=ArchiveLimits(), display_name=path.name, work=tmp_path, strict=False) as package:
        [root] = package.images
        assert root.file == "router.qcow2" and root.digest[0] == "sha256" and root.size == len(files["router.qcow2"])
        with package.members.open_member("router.qcow2") as stream, pytest.raises(ValidationFailed) as refused:
            while stream.read(100):
                pass
    [issue] = refused.value.errors
    assert issue.file == "package.mf" and issue.line and "router.qcow2" in refused.value.detail


def test_the_vnfd_has_a_flavour_per_profile_the_default_first(tmp_path):
    path = samples.write_tar(tmp_path / "router.tar.gz", samples.router())
    fmt = registry.get("nfvis")
    with fmt.open(path, limits=ArchiveLimits(), display_name=path.name, work=tmp_path, strict=False) as package:
        vnfd = fmt.vnfd(package, {"root_image": ["edge-router-17.3.1"]})
    assert (vnfd["name"], vnfd["vendor"], vnfd["version"], vnfd["type"]) == (
        "edge-router", "Example Networks", "17.3.1", "router")
    assert vnfd["vdu"][0]["vm_image"] == ["edge-router-17.3.1"]
    assert vnfd["deployment_flavour"] == [
        {"flavour_key": "edge-router-17.3.1-small", "vcpus": 2, "ram": 4096, "disk": 8},
        {"flavour_key": "edge-router-17.3.1-medium", "vcpus": 4, "ram": 8192, "disk": 16}]
    assert {p["confKey"] for p in vnfd["configurations"]["configurationParameters"]} >= {"HOSTNAME", "SITE_ID"}
    assert "SSH_PASSWORD" not in str(vnfd)


def test_each_profile_is_a_flavour_request_at_its_line(tmp_path):
    path = samples.write_tar(tmp_path / "router.tar.gz", samples.router())
    fmt = registry.get("nfvis")
    with fmt.open(path, limits=ArchiveLimits(), display_name=path.name, work=tmp_path, strict=False) as package:
        flavours = package.flavours
    assert [(f.name, f.vcpus, f.ram, f.disk) for f in flavours] == [
        ("edge-router-17.3.1-small", 2, 4096, 8), ("edge-router-17.3.1-medium", 4, 8192, 16)]
    assert flavours[0].at.file == "image_properties.xml" and flavours[0].at.line == 25
    assert flavours[1].at.pointer == "/image_properties/profiles/profile[2]"
