"""`nfvo package validate`: every supported format, offline, exit status and output."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from click.testing import CliRunner

from nfvo.cli import main
from tests import csar_builder as cb

ROOT = Path(__file__).resolve().parents[2]


def validate(*args) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["package", "validate", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output.splitlines()


def test_the_example_csar_directory_and_its_zip_are_valid(tmp_path):
    code, lines = validate(cb.EXAMPLE)
    assert code == 0
    assert lines == [
        "csar-iperf is a valid ETSI SOL004 CSAR (TOSCA-Metadata, unsigned).",
        "  VNF iperf-server 3.9 by FOKUS: descriptor 5b2f3c3e-5d43-4b4e-9a8e-4f1c2d7e9a10 version 1.0, "
        "flavour default.",
        "  VDU iperf_server (compute) uses image iperf_server_image 1.0 (raw, from Files/images/iperf-server.img).",
        "  Manifest iperf-server.mf lists 4 files; every hash was verified."]
    cert, key = cb.self_signed("ACME")
    code, lines = validate(cb.build(tmp_path / "signed.zip", cb.sign_manifest(cb.example_files(), cert, key)))
    assert code == 0
    assert lines[0] == "signed.zip is a valid ETSI SOL004 CSAR (TOSCA-Metadata, security option 1, 1 signature " \
                       "verified (signed by CN=ACME))."


def test_an_invalid_csar_lists_every_problem_as_file_line_pointer_message(tmp_path):
    files = cb.example_files()
    files["Files/extra.txt"] = b"x"
    files["Definitions/iperf_server.yaml"] = files["Definitions/iperf_server.yaml"].replace(b"1 KiB", b"1 KB!")
    code, lines = validate(cb.build(tmp_path / "broken.csar", cb.with_manifest(files, skip=("Files/extra.txt",))))
    assert code == 1
    assert lines == [
        "1 problem in package broken.csar, and 1 warning",
        "  Definitions/iperf_server.yaml:35: /topology_template/node_templates/iperf_server/properties/"
        "sw_image_data/size: '1 KB!' is not a scalar-unit.size: write a number and a unit, e.g. '1 TiB'",
        "  Files/extra.txt: warning: not listed in the manifest iperf-server.mf: its hash is not verified"]


def test_an_unsafe_zip_is_refused_with_its_limits(tmp_path):
    code, lines = validate(cb.build(tmp_path / "p.csar"), "--max-members", "2")
    assert (code, lines) == (1, ["too many members in package p.csar", "  p.csar: more than 2 members"])


def test_open_baton_directory_and_tar(tmp_path):
    code, lines = validate(ROOT / "examples" / "iperf-server")
    assert code == 0 and lines[0] == "iperf-server is a valid Open Baton package."
    tar = tmp_path / "broken.tar"
    with tarfile.open(tar, "w") as archive:
        for name, data in ((("Metadata.yaml", b"name: x\nvendor: y\n")), ("vnfd.json", b"{\"name\": 1")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    code, lines = validate(tar)
    assert code == 1 and lines[0] == "2 problems in package broken.tar"
    assert "  vnfd.json:1: JSON syntax error: Expecting ',' delimiter" in lines


def test_a_csar_with_warnings_is_valid_and_lists_them_and_strict_refuses_it(tmp_path):
    files = cb.example_files()
    files["TOSCA-Metadata/TOSCA.meta"] = files["TOSCA-Metadata/TOSCA.meta"].replace(b"CSAR-Version: 1.1",
                                                                                    b"CSAR-Version: '1.1'")
    path = cb.build(tmp_path / "quoted.zip", cb.with_manifest(files))
    code, lines = validate(path)
    assert code == 0 and lines[0] == "quoted.zip is a valid ETSI SOL004 CSAR (TOSCA-Metadata, unsigned)."
    warnings = lines[lines.index("1 warning:") + 1:]
    assert len(warnings) == 1 and warnings[0].startswith("  TOSCA-Metadata/TOSCA.meta:2: /CSAR-Version: warning: quoted values")
    code, lines = validate("--strict", path)
    assert code == 1 and lines[0] == "1 problem in package quoted.zip (strict validation: warnings are errors)"
    assert lines[1].startswith("  TOSCA-Metadata/TOSCA.meta:2: /CSAR-Version: quoted values")


def test_size_limits_per_kind_of_member(tmp_path):
    example = ROOT / "examples" / "iperf-server"
    code, lines = validate(example, "--max-script-size", "10")
    assert code == 1 and lines[0] == "2 unsafe members in package iperf-server"
    assert all(line.endswith("the limit for a script (NFVO_MAX_SCRIPT_SIZE)") for line in lines[1:])
    code, lines = validate(cb.build(tmp_path / "p.csar"), "--max-image-size", "1000")
    assert (code, lines) == (1, ["1 member of package p.csar over the size limit",
                                 "  Files/images/iperf-server.img: is larger than 1000 bytes, the limit for an "
                                 "image (NFVO_MAX_IMAGE_SIZE)"])
    code, lines = validate(cb.build(tmp_path / "q.csar"), "--max-descriptor-size", "10", "--max-artifact-size", "10")
    assert code == 1 and any("NFVO_MAX_DESCRIPTOR_SIZE" in line for line in lines)


def test_the_old_max_ratio_option_is_accepted_and_ignored_with_a_warning(tmp_path):
    files = cb.with_manifest({**cb.example_files(), "Files/zeros.bin": bytes(4 << 20)})
    result = CliRunner().invoke(main, ["package", "validate", "--max-ratio", "100", str(cb.build(tmp_path / "z.csar",
                                                                                                 files))])
    assert result.exit_code == 0, result.output
    assert "warning: --max-ratio is ignored" in result.output
    assert "z.csar is a valid ETSI SOL004 CSAR" in result.output
