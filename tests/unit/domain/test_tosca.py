"""Tests of the SOL001 VNFD subset: imports, types, properties, scalar units, flavours and images."""

from __future__ import annotations

import pytest

from nfvo.domain.tosca import digest_name, parse_scalar, read_vnfd, shipped_import, size_in_bytes
from nfvo.errors import Issue
from tests.csar_builder import DictFiles as Files

HEADER = """\
tosca_definitions_version: tosca_simple_yaml_1_3
imports:
  - etsi_nfv_sol001_common_types.yaml
  - etsi_nfv_sol001_vnfd_types.yaml
"""

VNF = """\
    VNF:
      type: tosca.nodes.nfv.VNF
      properties:
        descriptor_id: d-1
        descriptor_version: '1.0'
        provider: ACME
        product_name: thing
        software_version: '2.0'
        flavour_id: simple
"""

VDU = """\
    vdu:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: vdu
        vdu_profile: {min_number_of_instances: 1, max_number_of_instances: 2}
        sw_image_data:
          name: img
          version: '1'
          checksum: {algorithm: sha-256, hash: HASH}
          container_format: bare
          disk_format: qcow2
          min_disk: 1 GiB
          size: 100 MiB
      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/img.qcow2
"""


def vnfd(body: str = VNF + VDU, header: str = HEADER, extra: dict[str, str] | None = None):
    text = header + "topology_template:\n  node_templates:\n" + body
    files = {"Definitions/main.yaml": text.replace("HASH", "a" * 64), "Files/img.qcow2": "", **(extra or {})}
    issues: list[Issue] = []
    return read_vnfd(Files(files), "Definitions/main.yaml", issues), issues


def found(issues: list[Issue]) -> str:
    return "\n".join(map(str, issues))


def test_a_minimal_vnfd():
    result, issues = vnfd()
    assert issues == []
    assert (result.descriptor_id, result.provider, result.product_name, result.software_version,
            result.descriptor_version, result.flavour_id) == ("d-1", "ACME", "thing", "2.0", "1.0", "simple")
    [vdu] = result.vdus
    assert vdu.image.file == "Files/img.qcow2" and vdu.image.size == 100 * 2**20 and vdu.image.algorithm == "sha256"
    assert vdu.image.line == 21  # the line of sw_image_data


@pytest.mark.parametrize(("value", "kind", "expected"), [
    ("1 GiB", "size", 2**30), ("1 gb", "size", 10**9), ("512MiB", "size", 512 * 2**20), ("0.5 kB", "size", 500),
    ("2.4 GHz", "frequency", 2.4e9), ("10 ms", "time", 0.01), ("1 d", "time", 86400), ("1 Gbps", "bitrate", 1e9),
    ("1 GBps", "bitrate", 8e9), ("3 Kibps", "bitrate", 3072)])
def test_scalar_units(value, kind, expected):
    assert parse_scalar(value, kind) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "kind", "message"), [
    ("1 GiBs", "size", "unknown scalar-unit.size unit 'GiBs'"), ("fast", "frequency", "is not a scalar-unit"),
    (512, "size", "is not a scalar-unit.size"), ("1 gbps", "bitrate", "unknown scalar-unit.bitrate unit 'gbps'"),
    ("-1 B", "size", "is not a scalar-unit.size")])
def test_bad_scalar_units(value, kind, message):
    with pytest.raises(ValueError, match=message):
        parse_scalar(value, kind)
    assert size_in_bytes("1.5 B") == 2


def test_digest_names():
    assert [digest_name(a) for a in ("SHA-256", "sha256", "Sha-512", "SHA_384", "sha-224", "md5", 5)] == [
        "sha256", "sha256", "sha512", "sha384", "sha224", None, None]


def test_sol001_imports_resolve_by_name_or_url_never_the_network():
    assert shipped_import("https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/etsi_nfv_sol001_vnfd_types.yaml") == \
        "etsi_nfv_sol001_vnfd_types.yaml"
    assert shipped_import("../common/etsi_nfv_sol001_common_types.yaml") == "etsi_nfv_sol001_common_types.yaml"
    assert shipped_import("https://example.com/other.yaml") is None
    header = HEADER + "  - https://example.com/types.yaml\n  - ../../outside.yaml\n  - missing.yaml\n" \
                      "  - {file: types.yaml, repository: r}\n"
    _, issues = vnfd(header=header)
    text = found(issues)
    assert "/imports/2: unknown import 'https://example.com/types.yaml': nfvo never fetches" in text
    assert "/imports/3: import '../../outside.yaml' leaves the package" in text
    assert "/imports/4: unknown import 'missing.yaml': the package has no file Definitions/missing.yaml" in text
    assert "/imports/5/repository: imports from repositories are not supported" in text
    assert {i.severity for i in issues} == {"error"}


def test_missing_vnf_properties_and_functions_as_identity():
    body = VNF.replace("        provider: ACME\n", "").replace("product_name: thing", "product_name: {get_input: p}")
    _, issues = vnfd(body + VDU)
    text = found(issues)
    assert "/topology_template/node_templates/VNF/properties: property 'provider' of tosca.nodes.nfv.VNF is " \
           "required" in text
    assert "/VNF/properties/product_name: 'product_name' identifies the VNF: it must be a value, not get_input" \
           in text


def test_property_types_constraints_and_unknown_names():
    body = VNF.replace("software_version: '2.0'", "software_version: 2.0") + VDU.replace(
        "disk_format: qcow2", "disk_format: qcow3").replace("min_disk: 1 GiB", "min_disk: -1 GiB\n          color: red")
    _, issues = vnfd(body.replace("name: vdu\n", "nmae: vdu\n"))
    text = found(issues)
    assert "/VNF/properties/software_version: must be a string, not the number 2.0 (quote it: '2.0')" in text
    assert "sw_image_data/disk_format: must be one of aki, ami, ari, iso, qcow2, raw, vdi, vhd, vhdx, vmdk, " \
           "not 'qcow3'" in text
    assert "sw_image_data/min_disk: '-1 GiB' is not a scalar-unit.size" in text
    assert "sw_image_data/color: unknown property 'color' of data type tosca.datatypes.nfv.SwImageData" in text
    assert "/vdu/properties/nmae: unknown property 'nmae' of tosca.nodes.nfv.Vdu.Compute (did you mean 'name'?)" \
           in text
    assert {i.severity for i in issues} == {"error"}


def test_unknown_types_and_bad_checksums():
    body = VNF + VDU.replace("tosca.nodes.nfv.Vdu.Compute", "tosca.nodes.nfv.Vdu.Compte") + \
        VDU.replace("    vdu:", "    vdu2:").replace("sha-256", "md5")
    _, issues = vnfd(body)
    text = found(issues)
    assert "/vdu/type: unknown node type 'tosca.nodes.nfv.Vdu.Compte' (did you mean 'tosca.nodes.nfv.Vdu.Compute'?)" \
           in text
    assert "/vdu2/properties/sw_image_data/checksum/algorithm: unsupported checksum algorithm 'md5'" in text
    _, issues = vnfd(VNF + VDU.replace("HASH", "abc"))
    assert "/checksum/hash: a sha256 hash has 64 hex digits, not 3" in found(issues)
    assert [i.severity for i in issues] == ["error"]


def test_artifact_paths_relative_to_the_file_or_the_root_never_outside():
    result, issues = vnfd(VNF + VDU.replace("../Files/img.qcow2", "Files/img.qcow2"))
    assert issues == [] and result.vdus[0].image.file == "Files/img.qcow2"
    _, issues = vnfd(VNF + VDU.replace("../Files/img.qcow2", "../../img.qcow2"))
    assert "/artifacts/sw_image/file: '../../img.qcow2' leaves the package" in found(issues)
    _, issues = vnfd(VNF + VDU.replace("../Files/img.qcow2", "Files/none.qcow2"))
    assert "the package has no file 'Files/none.qcow2'" in found(issues)
    _, issues = vnfd(VNF + VDU.replace("../Files/img.qcow2", "ftp://host/img"))
    assert "'ftp://host/img' is neither a file in the package nor an http(s) URL" in found(issues)


TYPES = HEADER + """\
node_types:
  acme.VNF:
    derived_from: tosca.nodes.nfv.VNF
    properties:
      descriptor_id: {type: string, constraints: [valid_values: [d-9]], default: d-9}
      descriptor_version: {type: string, default: '1.0'}
      provider: {type: string, constraints: [valid_values: [ACME]], default: ACME}
      product_name: {type: string, default: thing}
      software_version: {type: string, default: '2.0'}
      flavour_id: {type: string, constraints: [valid_values: [big, small]]}
"""

FLAVOUR = HEADER + """\
  - types.yaml
topology_template:
  substitution_mappings:
    node_type: acme.VNF
    properties:
      flavour_id: NAME
  node_templates:
    VNF:
      type: acme.VNF
""" + VDU


def test_flavours_from_substitution_mappings_in_imported_files():
    top = HEADER + "  - types.yaml\n  - df_big.yaml\n  - df_small.yaml\n"
    body = "    VNF:\n      type: acme.VNF\n      properties:\n        flavour_id: {get_input: selected}\n"
    extra = {"Definitions/types.yaml": TYPES,
             "Definitions/df_big.yaml": FLAVOUR.replace("NAME", "big").replace("HASH", "b" * 64),
             "Definitions/df_small.yaml": FLAVOUR.replace("NAME", "small").replace("HASH", "c" * 64)}
    result, issues = vnfd(body, header=top, extra=extra)
    assert issues == []
    assert (result.descriptor_id, result.provider) == ("d-9", "ACME")
    assert [f.id for f in result.flavours] == ["big", "small"]
    assert [(v.node, v.flavour, v.image.hash[:1]) for v in result.vdus] == [("vdu", "big", "b"), ("vdu", "small", "c")]
    assert result.files == ("Definitions/main.yaml", "Definitions/types.yaml", "Definitions/df_big.yaml",
                            "Definitions/df_small.yaml")


def test_no_vnf_node_and_bad_yaml():
    _, issues = vnfd(VDU)
    assert "no node template of type tosca.nodes.nfv.VNF" in found(issues)
    issues = []
    assert read_vnfd(Files({"a.yaml": "x: [1"}), "a.yaml", issues) is None
    assert issues[0].file == "a.yaml" and "invalid YAML" in issues[0].message
    issues = []
    read_vnfd(Files({"a.yaml": "tosca_definitions_version: tosca_simple_yaml_9\nnode_typs: {}\n"}), "a.yaml", issues)
    text = found(issues)
    assert "a.yaml:1 /tosca_definitions_version: must be one of" in text
    assert "a.yaml:2 /node_typs: unknown key 'node_typs' (did you mean 'node_types'?)" in text
    assert {i.severity for i in issues} == {"error"}


def test_a_flavour_file_whose_identity_differs_is_a_warning_and_the_top_level_wins():
    top = HEADER + "  - types.yaml\n  - df_big.yaml\n"
    body = "    VNF:\n      type: acme.VNF\n      properties:\n        flavour_id: big\n        provider: ACME\n"
    flavour = FLAVOUR.replace("NAME", "big").replace("HASH", "b" * 64).replace(
        "      type: acme.VNF\n", "      type: acme.VNF\n      properties:\n        descriptor_id: d-9\n"
                               "        product_name: other\n", 1)
    extra = {"Definitions/types.yaml": TYPES, "Definitions/df_big.yaml": flavour}
    result, issues = vnfd(body, header=top, extra=extra)
    assert [(i.file, i.pointer, i.severity, i.message) for i in issues] == [
        ("Definitions/df_big.yaml", "/topology_template/node_templates/VNF/properties/product_name", "warning",
         "product_name is 'other' here but 'thing' in the top-level VNFD Definitions/main.yaml; the top level's value "
         "is used")]
    assert (result.product_name, result.descriptor_id, [f.id for f in result.flavours]) == ("thing", "d-9", ["big"])
