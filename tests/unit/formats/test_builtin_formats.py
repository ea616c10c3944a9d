"""The built-in formats pass the format conformance kit, as any format plugin must."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nfvo.formats import registry
from nfvo.formats.conformance import FormatConformance
from tests import sonata_builder
from tests.csar_builder import build as build_csar
from tests.csar_builder import example_files

ROOT = Path(__file__).resolve().parents[3]
OPENBATON_EXAMPLE = ROOT / "examples" / "iperf-server"


class TestOpenBatonFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("openbaton")

    @pytest.fixture
    def unpacked_package(self, tmp_path):
        return shutil.copytree(OPENBATON_EXAMPLE, tmp_path / "iperf-server")

    @pytest.fixture
    def valid_package(self, package_format, unpacked_package, tmp_path):
        return package_format.build(unpacked_package, tmp_path / "iperf-server.tar")

    @pytest.fixture
    def broken_package(self, package_format, unpacked_package, tmp_path):
        metadata = unpacked_package / "Metadata.yaml"
        metadata.write_text(metadata.read_text().replace("name: iperf-server\n", ""))  # no name
        (unpacked_package / "scripts" / "install.sh").unlink()  # a script the VNFD names
        return package_format.build(unpacked_package, tmp_path / "broken.tar")

    @pytest.fixture
    def foreign_files(self, tmp_path):
        """The fallback for every tar: it must leave zips (CSARs) to their format."""
        return [build_csar(tmp_path / "csar.zip")]


class TestEtsiFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("etsi-sol004")

    @pytest.fixture
    def unpacked_package(self, tmp_path):
        return shutil.copytree(ROOT / "examples" / "csar-iperf", tmp_path / "csar-iperf")

    @pytest.fixture
    def valid_package(self, tmp_path):
        return build_csar(tmp_path / "iperf.csar")

    @pytest.fixture
    def broken_package(self, tmp_path):
        files = example_files()
        files["Files/ChangeLog.txt"] += b"changed after the manifest was made\n"
        files["Files/images/iperf-server.img"] = files["Files/images/iperf-server.img"][::-1]
        return build_csar(tmp_path / "broken.csar", files)

    @pytest.fixture
    def foreign_files(self, package_format, tmp_path):
        """The fallback for every zip: it must leave tars to their formats."""
        return [registry.get("openbaton").build(ROOT / "examples" / "iperf-server", tmp_path / "iperf.tar")]


def test_detection_order_puts_the_fallbacks_last():
    names = [f.name for f in registry.formats()]
    assert names[-2:] == ["etsi-sol004", "openbaton"]


class TestSonataFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("sonata")

    @pytest.fixture
    def unpacked_package(self, tmp_path):
        return shutil.copytree(ROOT / "examples" / "sonata-iperf", tmp_path / "sonata-iperf")

    @pytest.fixture
    def valid_package(self, tmp_path):
        return sonata_builder.son(tmp_path / "iperf.son")

    @pytest.fixture
    def broken_package(self, tmp_path):
        files = sonata_builder.example_files()
        manifest = sonata_builder.son_manifest(files)
        vnfd = "function_descriptors/iperf-vnfd.yml"
        files[vnfd] = files[vnfd].replace(b"vcpus: 1", b"vcpus: 0")  # after the manifest: a warning, then an error
        del files["images/iperf-vm.raw"]  # listed, not there
        return sonata_builder.write_zip(tmp_path / "broken.son", {**files, sonata_builder.MANIFEST: manifest})

    @pytest.fixture
    def foreign_files(self, tmp_path):
        """Neither a CSAR nor a plain zip is a SONATA package."""
        return [build_csar(tmp_path / "csar.zip")]


class TestTangoPackage(TestSonataFormat):
    """The same format reads 5GTANGO packages: a .tgo is recognised although it is also laid out
    as a CSAR (TOSCA-Metadata/)."""

    @pytest.fixture
    def valid_package(self, tmp_path):
        return sonata_builder.tgo(tmp_path / "iperf.tgo")


class TestSonataDescriptorFormat(FormatConformance):
    @pytest.fixture
    def package_format(self):
        return registry.get("sonata-vnfd")

    @pytest.fixture
    def valid_package(self, tmp_path):
        path = tmp_path / "iperf-vnfd.yml"
        path.write_bytes(sonata_builder.example_files()["function_descriptors/iperf-vnfd.yml"])
        return path

    @pytest.fixture
    def broken_package(self, tmp_path):
        text = sonata_builder.example_files()["function_descriptors/iperf-vnfd.yml"].decode()
        path = tmp_path / "broken.yml"
        path.write_text(text.replace('vendor: "dev.nfvo.examples"\n', "").replace("vcpus: 1", "vcpus: none"))
        return path
