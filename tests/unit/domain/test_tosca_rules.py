"""Table-driven tests of the VNFD rules: each look-alike VNFD gives exactly the findings listed.

A case is a change to a small single-file VNFD, or a package of several files;
each expected finding is (file, the text its line holds, pointer, severity, message).
"""

from __future__ import annotations

import pytest

from nfvo.domain.tosca import read_vnfd
from nfvo.errors import Issue
from tests.csar_builder import DictFiles as Files

MAIN = "Definitions/main.yaml"
HEADER = """\
tosca_definitions_version: tosca_simple_yaml_1_3
imports:
  - https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/etsi_nfv_sol001_common_types.yaml
  - https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/etsi_nfv_sol001_vnfd_types.yaml
"""
BODY = """\
topology_template:
  node_templates:
    VNF:
      type: tosca.nodes.nfv.VNF
      properties:
        descriptor_id: d-1
        descriptor_version: '1.0'
        provider: ACME
        product_name: thing
        software_version: '2.0'
        flavour_id: simple
    web:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: web
        vdu_profile: {min_number_of_instances: 1, max_number_of_instances: 3}
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
          file: ../Files/images/web.img
  policies:
    - aspects:
        type: tosca.policies.nfv.ScalingAspects
        properties:
          aspects:
            web_aspect:
              name: web aspect
              max_scale_level: 2
              step_deltas: [ delta_1 ]
    - web_initial:
        type: tosca.policies.nfv.VduInitialDelta
        properties:
          initial_delta: {number_of_instances: 1}
        targets: [ web ]
    - web_deltas:
        type: tosca.policies.nfv.VduScalingAspectDeltas
        properties:
          aspect: web_aspect
          deltas:
            delta_1: {number_of_instances: 1}
        targets: [ web ]
    - levels:
        type: tosca.policies.nfv.InstantiationLevels
        properties:
          levels:
            small:
              description: one web server
              scale_info:
                web_aspect: {scale_level: 0}
            large:
              description: three web servers
              scale_info:
                web_aspect: {scale_level: 2}
          default_level: small
    - web_levels:
        type: tosca.policies.nfv.VduInstantiationLevels
        properties:
          levels:
            small: {number_of_instances: 1}
            large: {number_of_instances: 3}
        targets: [ web ]
"""


def package(main: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {MAIN: main.replace("HASH", "a" * 64), "Files/images/web.img": "", **(extra or {})}


def read(files: dict[str, str]):
    issues: list[Issue] = []
    return read_vnfd(Files(files), MAIN, issues), issues


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of ``text`` that contains ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_base_vnfd_is_clean():
    result, issues = read(package(HEADER + BODY))
    assert issues == []
    assert result.images[0].file == "Files/images/web.img"


# (id, replacements in the base VNFD, [(text on the finding's line, pointer, severity, message)])
P = "/topology_template/policies"
CASES = [
    # 9: the normative types and SOL001 files exist, under any version's URL
    ("old-sol001-urls", [("v4.2.1/etsi_nfv_sol001_common", "v2.6.1/etsi_nfv_sol001_common"),
                         ("v4.2.1/etsi_nfv_sol001_vnfd_types", "v3.3.1/etsi_nfv_sol001_vnfd_types")], []),
    ("sol001-2-5-1-name", [("- https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/etsi_nfv_sol001_vnfd_types.yaml",
                            "- etsi_nfv_sol001_vnfd_2_5_1_types.yaml")], []),
    ("policy-type-typo", [("type: tosca.policies.nfv.InstantiationLevels", "type: tosca.policies.nfv.InstantiationLevel")],
     [("type: tosca.policies.nfv.InstantiationLevel", f"{P}/3/levels/type", "error",
       "unknown policy type 'tosca.policies.nfv.InstantiationLevel' "
       "(did you mean 'tosca.policies.nfv.InstantiationLevels'?)"),
      ("small: {number_of_instances: 1}", f"{P}/4/web_levels/properties/levels/small", "error",
       "level 'small' is not defined: this topology template has no tosca.policies.nfv.InstantiationLevels policy"),
      ("large: {number_of_instances: 3}", f"{P}/4/web_levels/properties/levels/large", "error",
       "level 'large' is not defined: this topology template has no tosca.policies.nfv.InstantiationLevels policy")]),
    # 10: short-notation artifacts, resolved against the file that names them
    ("short-notation", [("""        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/images/web.img""", "        sw_image: ../Files/images/web.img")], []),
    ("short-notation-missing-file", [("""        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/images/web.img""", "        sw_image: ../Files/images/none.img")],
     [("sw_image: ../Files/images/none.img", "/topology_template/node_templates/web/artifacts/sw_image", "error",
       "the package has no file '../Files/images/none.img' (looked for Files/images/none.img)")]),
    ("short-notation-and-typed", [("          file: ../Files/images/web.img",
                                   "          file: ../Files/images/web.img\n        extra: ../Files/images/web.img")],
     [("artifacts:", "/topology_template/node_templates/web/artifacts", "error",
       "a VDU has one tosca.artifacts.nfv.SwImage artifact, not 2")]),
    ("short-notation-empty", [("""        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/images/web.img""", "        sw_image: ''")],
     [("sw_image: ''", "/topology_template/node_templates/web/artifacts/sw_image", "error",
       "an artifact needs a file")]),
    # 14: instantiation levels, aspects and targets name things that exist
    ("default-level-unknown", [("default_level: small", "default_level: smal")],
     [("default_level: smal", f"{P}/3/levels/properties/default_level", "error",
       "default_level 'smal' is not one of the levels (small, large) (did you mean 'small'?)")]),
    ("vdu-level-unknown", [("large: {number_of_instances: 3}", "huge: {number_of_instances: 3}")],
     [("huge: {number_of_instances: 3}", f"{P}/4/web_levels/properties/levels/huge", "error",
       "level 'huge' is not defined by the InstantiationLevels policy (levels: small, large)")]),
    ("target-unknown", [("targets: [ web ]\n    - web_deltas", "targets: [ webb ]\n    - web_deltas")],
     [("targets: [ webb ]", f"{P}/1/web_initial/targets/0", "error",
       "target 'webb' is neither a node template nor a group of this topology template (did you mean 'web'?)")]),
    ("target-not-a-vdu", [("targets: [ web ]\n    - levels", "targets: [ VNF ]\n    - levels")],
     [("targets: [ VNF ]", f"{P}/2/web_deltas/targets/0", "error",
       "target 'VNF' is a tosca.nodes.nfv.VNF; this policy applies to tosca.nodes.nfv.Vdu.Compute or "
       "tosca.nodes.nfv.Vdu.VirtualBlockStorage")]),
    ("scale-info-aspect-unknown", [("web_aspect: {scale_level: 2}", "db_aspect: {scale_level: 2}")],
     [("db_aspect: {scale_level: 2}", f"{P}/3/levels/properties/levels/large/scale_info/db_aspect", "error",
       "aspect 'db_aspect' is not defined by the ScalingAspects policy (did you mean 'web_aspect'?)")]),
    ("deltas-aspect-unknown", [("aspect: web_aspect", "aspect: web_aspekt")],
     [("aspect: web_aspekt", f"{P}/2/web_deltas/properties/aspect", "warning",
       "aspect 'web_aspekt' is not defined by the ScalingAspects policy (did you mean 'web_aspect'?): these deltas "
       "are never used")]),
    ("step-delta-undefined", [("delta_1: {number_of_instances: 1}", "delta_2: {number_of_instances: 1}")],
     [("          deltas:", f"{P}/2/web_deltas/properties/deltas", "warning",
       "aspect 'web_aspect' steps by the delta 'delta_1', which these deltas do not define (did you mean "
       "'delta_2'?): scaling by it cannot size these targets")]),
    ("levels-broken", [("""          levels:
            small:
              description: one web server
              scale_info:
                web_aspect: {scale_level: 0}
            large:
              description: three web servers
              scale_info:
                web_aspect: {scale_level: 2}
""", "          levels: [ small, large ]\n")],
     [("levels: [ small, large ]", f"{P}/3/levels/properties/levels", "error", "must be a map, not a list"),
      ("default_level: small", f"{P}/3/levels/properties/default_level", "warning",
       "default_level 'small' cannot be checked: this policy has no valid levels"),
      ("small: {number_of_instances: 1}", f"{P}/4/web_levels/properties/levels/small", "warning",
       "level 'small' cannot be checked: the InstantiationLevels policy 'levels' has no valid levels"),
      ("large: {number_of_instances: 3}", f"{P}/4/web_levels/properties/levels/large", "warning",
       "level 'large' cannot be checked: the InstantiationLevels policy 'levels' has no valid levels")]),
    ("aspects-missing", [("""    - aspects:
        type: tosca.policies.nfv.ScalingAspects
        properties:
          aspects:
            web_aspect:
              name: web aspect
              max_scale_level: 2
              step_deltas: [ delta_1 ]
""", "")],
     [("aspect: web_aspect", f"{P}/1/web_deltas/properties/aspect", "warning",
       "aspect 'web_aspect' is not defined: this topology template has no tosca.policies.nfv.ScalingAspects policy: "
       "these deltas are never used"),
      ("web_aspect: {scale_level: 0}", f"{P}/2/levels/properties/levels/small/scale_info/web_aspect", "error",
       "aspect 'web_aspect' is not defined: this topology template has no tosca.policies.nfv.ScalingAspects policy"),
      ("web_aspect: {scale_level: 2}", f"{P}/2/levels/properties/levels/large/scale_info/web_aspect", "error",
       "aspect 'web_aspect' is not defined: this topology template has no tosca.policies.nfv.ScalingAspects policy")]),
    ("policy-property-value", [("initial_delta: {number_of_instances: 1}", "initial_delta: {number_of_instances: -1}")],
     [("initial_delta: {number_of_instances: -1}", f"{P}/1/web_initial/properties/initial_delta/number_of_instances",
       "error", "must be greater or equal 0, not -1")]),
]

# 15: a single-file VNFD that declares the SOL001 types it uses itself, every kind under node_types
IMPORTS = HEADER.removeprefix("tosca_definitions_version: tosca_simple_yaml_1_3\n")
OWN_SOL001 = """\
node_types:
  tosca.datatypes.nfv.VduProfile:
    derived_from: tosca.datatypes.Root
    properties:
      min_number_of_instances: {type: integer}
      max_number_of_instances: {type: integer}
  tosca.datatypes.nfv.ChecksumData:
    derived_from: tosca.datatypes.Root
    properties:
      algorithm: {type: string}
      hash: {type: string}
  tosca.datatypes.nfv.SwImageData:
    derived_from: tosca.datatypes.Root
    properties:
      name: {type: string}
      version: {type: string}
      checksum: {type: tosca.datatypes.nfv.ChecksumData}
      container_format: {type: string}
      disk_format: {type: string}
      min_disk: {type: scalar-unit.size}
      size: {type: scalar-unit.size}
  tosca.datatypes.nfv.VduLevel:
    derived_from: tosca.datatypes.Root
    properties:
      number_of_instances: {type: integer, constraints: [greater_or_equal: 0]}
  tosca.capabilities.nfv.VirtualCompute:
    derived_from: tosca.capabilities.Node
  tosca.relationships.nfv.VirtualBindsTo:
    derived_from: tosca.relationships.DependsOn
  tosca.interfaces.nfv.Vnflcm:
    derived_from: tosca.interfaces.Root
  tosca.policies.nfv.VduInitialDelta:
    derived_from: tosca.policies.Root
    properties:
      initial_delta: {type: tosca.datatypes.nfv.VduLevel}
  tosca.nodes.nfv.VNF:
    derived_from: tosca.nodes.Root
    properties:
      descriptor_id: {type: string}
      descriptor_version: {type: string}
      provider: {type: string}
      product_name: {type: string}
      software_version: {type: string}
      flavour_id: {type: string}
  tosca.nodes.nfv.Vdu.Compute:
    derived_from: tosca.nodes.Root
    properties:
      name: {type: string}
      vdu_profile: {type: tosca.datatypes.nfv.VduProfile}
      sw_image_data: {type: tosca.datatypes.nfv.SwImageData, required: false}
"""
ONLY_INITIAL_DELTA = [(BODY[BODY.index("    - aspects:"):BODY.index("    - web_initial:")], ""),
                      (BODY[BODY.index("    - web_deltas:"):], "")]
OWN_SOL001_WARNING = ("node_types:", "/node_types", "warning",
                      "8 types under node_types are not node types (tosca.datatypes.nfv.VduProfile, "
                      "tosca.datatypes.nfv.ChecksumData, tosca.datatypes.nfv.SwImageData and 5 more): read as data, "
                      "capability, interface, relationship and policy types")
SW_IMAGE_WARNING = ("type: tosca.artifacts.nfv.SwImage", "/topology_template/node_templates/web/artifacts/sw_image/type",
                    "warning", "uses SOL001 types without importing their definitions: tosca.artifacts.nfv.SwImage "
                               "(etsi_nfv_sol001_vnfd_types.yaml); nfvo's are used")
CASES += [
    ("no-imports-own-sol001-types", [(IMPORTS, OWN_SOL001), *ONLY_INITIAL_DELTA],
     [OWN_SOL001_WARNING, SW_IMAGE_WARNING]),
    ("no-imports-undeclared-sol001-policy-type",
     [(IMPORTS, OWN_SOL001.replace("tosca.policies.nfv.VduInitialDelta:", "tosca.policies.nfv.VduInitialDeltaX:")),
      *ONLY_INITIAL_DELTA],
     [OWN_SOL001_WARNING, SW_IMAGE_WARNING,
      ("type: tosca.policies.nfv.VduInitialDelta", f"{P}/0/web_initial/type", "error",
       "unknown policy type 'tosca.policies.nfv.VduInitialDelta': it is a SOL001 type; import "
       "etsi_nfv_sol001_vnfd_types.yaml")]),
    ("no-imports-undeclared-sol001-data-type-in-a-value",
     [(IMPORTS, OWN_SOL001.replace("tosca.datatypes.nfv.VduLevel:", "tosca.datatypes.nfv.VduLevelX:")),
      *ONLY_INITIAL_DELTA],
     [OWN_SOL001_WARNING, SW_IMAGE_WARNING,
      ("initial_delta: {number_of_instances: 1}", f"{P}/0/web_initial/properties/initial_delta", "error",
       "unknown data type 'tosca.datatypes.nfv.VduLevel': it is a SOL001 type; import "
       "etsi_nfv_sol001_vnfd_types.yaml")]),
    ("no-imports-undeclared-sol001-node-type",
     [(IMPORTS, OWN_SOL001.replace("tosca.nodes.nfv.VNF:", "tosca.nodes.nfv.VNFX:")), *ONLY_INITIAL_DELTA],
     [OWN_SOL001_WARNING, SW_IMAGE_WARNING,
      ("type: tosca.nodes.nfv.VNF", "/topology_template/node_templates/VNF/type", "error",
       "unknown node type 'tosca.nodes.nfv.VNF': it is a SOL001 type; import etsi_nfv_sol001_vnfd_types.yaml"),
      ("node_templates:", "/topology_template/node_templates", "error",
       "no node template of type tosca.nodes.nfv.VNF (or a type derived from it) in the VNFD")]),
    # imported SOL001 types declared again under node_types: read as what they are, then compared
    ("imported-types-under-node-types", [("topology_template:\n", """\
node_types:
  tosca.datatypes.nfv.VduLevel:
    derived_from: tosca.datatypes.Root
    properties:
      number_of_instances: {type: integer}
  acme.Base:
    derived_from: tosca.datatypes.Root
  acme.Derived:
    derived_from: acme.Base
  acme.Server:
    derived_from: tosca.nodes.nfv.Vdu.Compute
topology_template:
""")],
     [("node_types:", "/node_types", "warning",
       "3 types under node_types are not node types (tosca.datatypes.nfv.VduLevel, acme.Base and acme.Derived): "
       "read as data types")]),
    ("imported-type-under-node-types-conflicts", [("topology_template:\n", """\
node_types:
  tosca.capabilities.nfv.VirtualStorage:
    derived_from: tosca.capabilities.Node
topology_template:
""")],
     [("node_types:", "/node_types", "warning",
       "1 type under node_types is not a node type (tosca.capabilities.nfv.VirtualStorage): read as a capability type"),
      ("tosca.capabilities.nfv.VirtualStorage:", "/node_types/tosca.capabilities.nfv.VirtualStorage", "warning",
       "capability type tosca.capabilities.nfv.VirtualStorage is declared again unlike nfvo's definition in "
       "etsi_nfv_sol001_vnfd_types.yaml: derived_from is 'tosca.capabilities.Node', not 'tosca.capabilities.Root'; "
       "the package's declaration is used")]),
    ("interface-type-under-node-types", [("topology_template:\n", """\
node_types:
  acme.Lcm:
    derived_from: tosca.interfaces.nfv.Vnflcm
topology_template:
""")],
     [("node_types:", "/node_types", "warning",
       "1 type under node_types is not a node type (acme.Lcm): read as an interface type")]),
]

# 16: what Tacker needs of the VNF node template and the flavours (csar_utils._get_vnf_data, _populate_flavour_data)
ACME_VNF = """\
node_types:
  acme.VNF:
    derived_from: tosca.nodes.nfv.VNF
    properties:
      descriptor_id: {type: string, default: d-1}
      descriptor_version: {type: string, default: '1.0'}
      provider: {type: string, default: ACME}
      product_name: {type: string, default: thing}
      software_version: {type: string, default: '2.0'}
      flavour_id: {type: string, default: simple}
topology_template:
"""
VNF_PROPS = """\
      type: tosca.nodes.nfv.VNF
      properties:
        descriptor_id: d-1
        descriptor_version: '1.0'
        provider: ACME
        product_name: thing
        software_version: '2.0'
        flavour_id: simple
"""
MAPPINGS = """\
topology_template:
  substitution_mappings:
    node_type: acme.VNF
    properties: {PROPS}
"""
NO_FLAVOUR_DATA = [(BODY[BODY.index("    - levels:"):], ""),
                   ("""      artifacts:
        sw_image:
          type: tosca.artifacts.nfv.SwImage
          file: ../Files/images/web.img
""", "")]
NO_VNF_PROPERTIES = ("the VNF node template 'VNF' gives none of its properties (descriptor_id, provider, product_name, "
                     "software_version, descriptor_version, ...): Tacker and SOL001 need them in the VNFD, not only as "
                     "defaults of its type")
NO_FLAVOUR_ID = ("no deployment flavour: no template's substitution_mappings gives flavour_id, nor does the VNF node "
                 "template 'VNF' (a default of its type does not count: Tacker refuses a VNFD without flavours)")
CASES += [
    ("vnf-properties-empty", [("topology_template:\n", ACME_VNF), (VNF_PROPS, "      type: acme.VNF\n"
                                                                               "      properties: {}\n")],
     [("properties: {}", "/topology_template/node_templates/VNF/properties", "error", NO_VNF_PROPERTIES)]),
    ("vnf-properties-null", [("topology_template:\n", ACME_VNF), (VNF_PROPS, "      type: acme.VNF\n"
                                                                              "      properties:\n")],
     [("      properties:", "/topology_template/node_templates/VNF/properties", "error",
       "properties must be a mapping")]),
    ("vnf-properties-absent", [("topology_template:\n", ACME_VNF), (VNF_PROPS, "      type: acme.VNF\n")],
     [("    VNF:", "/topology_template/node_templates/VNF", "error", NO_VNF_PROPERTIES)]),
    ("vnf-properties-only-in-substitution-mappings",
     [("topology_template:\n", ACME_VNF.replace("topology_template:\n", MAPPINGS.replace(
         "PROPS", "descriptor_id: d-1, provider: ACME, flavour_id: simple"))),
      (VNF_PROPS, "      type: acme.VNF\n      properties: {}\n")],
     [("properties: {}", "/topology_template/node_templates/VNF/properties", "error", NO_VNF_PROPERTIES)]),
    ("vnf-properties-one-given", [("topology_template:\n", ACME_VNF),
                                  (VNF_PROPS, "      type: acme.VNF\n      properties: {provider: ACME}\n")], []),
    # no flavour_id written anywhere: the type's default alone is no flavour
    ("flavour-id-only-a-type-default",
     [("topology_template:\n", ACME_VNF.replace("topology_template:\n", MAPPINGS.replace("PROPS", "provider: ACME"))),
      (VNF_PROPS, VNF_PROPS.replace("tosca.nodes.nfv.VNF", "acme.VNF").replace("        flavour_id: simple\n", "")),
      *NO_FLAVOUR_DATA],
     [("properties: {provider: ACME}", "/topology_template/substitution_mappings/properties", "error",
       NO_FLAVOUR_ID)]),
    ("flavour-id-only-a-type-default-no-mappings",
     [("topology_template:\n", ACME_VNF),
      (VNF_PROPS, VNF_PROPS.replace("tosca.nodes.nfv.VNF", "acme.VNF").replace("        flavour_id: simple\n", "")),
      *NO_FLAVOUR_DATA],
     [("      properties:", "/topology_template/node_templates/VNF/properties", "error", NO_FLAVOUR_ID)]),
    ("flavour-id-in-substitution-mappings",
     [("topology_template:\n", ACME_VNF.replace("topology_template:\n", MAPPINGS.replace("PROPS", "flavour_id: x"))),
      (VNF_PROPS, VNF_PROPS.replace("tosca.nodes.nfv.VNF", "acme.VNF").replace("        flavour_id: simple\n", "")),
      *NO_FLAVOUR_DATA], []),
    ("flavour-id-in-the-vnf-node", [("topology_template:\n", ACME_VNF),
                                    (VNF_PROPS, VNF_PROPS.replace("tosca.nodes.nfv.VNF", "acme.VNF")),
                                    *NO_FLAVOUR_DATA], []),
    # Tacker keeps a template with instantiation levels or an image as a flavour even without an id
    ("flavour-without-id-but-levels-and-image",
     [("topology_template:\n", ACME_VNF),
      (VNF_PROPS, VNF_PROPS.replace("tosca.nodes.nfv.VNF", "acme.VNF").replace("        flavour_id: simple\n", ""))],
     []),
]


@pytest.mark.parametrize(("replacements", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(replacements, expected):
    text = HEADER + BODY
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    files = package(text)
    result, issues = read(files)
    found = {(i.file, i.line, i.pointer, i.severity, i.message) for i in issues}
    assert found == {(MAIN, line_of(files[MAIN], needle), pointer, severity, message)
                     for needle, pointer, severity, message in expected}
    assert (result is None) == any(severity == "error" for *_, severity, _ in expected)


# 11: a flavour's VNF node that differs from the top level ------------------------------------
TYPES = HEADER.replace("https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/", "") + """\
node_types:
  acme.VNF:
    derived_from: tosca.nodes.nfv.VNF
    properties:
      descriptor_id: {type: string, default: d-1}
      descriptor_version: {type: string, default: '1.0'}
      provider: {type: string, default: ACME}
      product_name: {type: string, default: thing}
      software_version: {type: string, default: '2.0'}
      flavour_id: {type: string, constraints: [valid_values: [simple]]}
"""
TOP = HEADER + """\
  - types.yaml
  - df_simple.yaml
topology_template:
  node_templates:
    VNF:
      type: acme.VNF
      properties:
        descriptor_id: d-1
        descriptor_version: '1.0'
        provider: ACME
        product_name: thing
        software_version: '2.0'
        flavour_id: {get_input: flavour}
"""
FLAVOUR = HEADER + """\
  - types.yaml
topology_template:
  substitution_mappings:
    node_type: acme.VNF
    properties:
      flavour_id: simple
  node_templates:
    VNF:
      type: acme.VNF
      properties:
        provider: Other
        product_name: thing
        vnfm_info: [ Tacker ]
        flavour_description: the simple one
"""


def test_a_flavour_vnf_node_that_differs_warns_and_the_top_level_wins():
    files = {MAIN: TOP, "Definitions/types.yaml": TYPES, "Definitions/df_simple.yaml": FLAVOUR}
    result, issues = read(files)
    assert [(i.file, i.line, i.pointer, i.severity, i.message) for i in issues] == [
        ("Definitions/df_simple.yaml", line_of(FLAVOUR, "provider: Other"),
         "/topology_template/node_templates/VNF/properties/provider", "warning",
         "provider is 'Other' here but 'ACME' in the top-level VNFD Definitions/main.yaml; "
         "the top level's value is used")]
    assert (result.provider, result.flavours[0].id, result.flavours[0].description) == \
        ("ACME", "simple", "the simple one")


def test_a_flavour_template_must_give_flavour_id_in_its_substitution_mappings():
    flavour = FLAVOUR.replace("      flavour_id: simple\n", "      flavour_description: the simple one\n").replace(
        "        flavour_description: the simple one\n", "        flavour_id: simple\n")
    files = {MAIN: TOP.replace("        flavour_id: {get_input: flavour}\n", "        flavour_id: simple\n"),
             "Definitions/types.yaml": TYPES, "Definitions/df_simple.yaml": flavour}
    result, issues = read(files)
    assert result is None
    assert [(i.file, i.line, i.pointer, i.severity, i.message) for i in issues if not i.is_warning] == [
        ("Definitions/df_simple.yaml", line_of(flavour, "node_type: acme.VNF") + 1,
         "/topology_template/substitution_mappings/properties", "error",
         "no deployment flavour: no template's substitution_mappings gives flavour_id (Tacker takes a flavour's id "
         "from its template's substitution_mappings only)")]


def test_one_flavour_template_with_flavour_id_is_enough():
    other = FLAVOUR[:FLAVOUR.index("  node_templates:")].replace("flavour_id: simple", "flavour_description: none")
    top = TOP.replace("  - df_simple.yaml\n", "  - df_simple.yaml\n  - df_other.yaml\n")
    files = {MAIN: top, "Definitions/types.yaml": TYPES, "Definitions/df_simple.yaml": FLAVOUR,
             "Definitions/df_other.yaml": other}
    result, issues = read(files)
    assert result is not None and [f.id for f in result.flavours] == ["simple"]
    assert not [i for i in issues if not i.is_warning]


def test_the_vnf_node_template_must_be_in_the_top_level_vnfd():
    top = TOP[:TOP.index("  node_templates:")] + "  inputs:\n    flavour: {type: string}\n"
    files = {MAIN: top, "Definitions/types.yaml": TYPES, "Definitions/df_simple.yaml": FLAVOUR}
    result, issues = read(files)
    assert result is None
    assert [(i.file, i.line, i.pointer, i.severity, i.message) for i in issues if not i.is_warning] == [
        (MAIN, line_of(top, "topology_template:"), "/topology_template", "error",
         "the top-level VNFD has no node template of type tosca.nodes.nfv.VNF: the VNF node template 'VNF' is only in "
         "Definitions/df_simple.yaml; Tacker and SOL001 need it, with its properties, in the top-level VNFD")]


# 12: SOL001/TOSCA types declared again in the package --------------------------------------
REDECLARED = """\
data_types:
  tosca.datatypes.nfv.VduProfile:
    derived_from: tosca.datatypes.Root
    properties:
      min_number_of_instances: {type: MIN}
      max_number_of_instances: {type: integer}
node_types:
  tosca.nodes.nfv.VNF:
    derived_from: tosca.nodes.Root
    properties:
      descriptor_id: {type: string}
      descriptor_version: {type: string}
      provider: {type: string}
      product_name: {type: string}
      software_version: {type: string}
      flavour_id: {type: string}
policy_types:
  tosca.policies.nfv.InstantiationLevels:
    derived_from: tosca.policies.Root
    properties:
      levels: {type: map, entry_schema: {type: tosca.datatypes.nfv.InstantiationLevel}}
      default_level: {type: string, required: false}
"""


def test_compatible_redeclarations_of_shipped_types_load_silently():
    _, issues = read(package(HEADER + REDECLARED.replace("MIN", "integer") + BODY))
    assert issues == []


def test_a_conflicting_redeclaration_is_one_warning_and_the_package_declaration_is_used():
    text = HEADER + REDECLARED.replace("MIN", "string") + BODY.replace(
        "min_number_of_instances: 1,", "min_number_of_instances: 'one',")
    result, issues = read(package(text))
    assert [(i.line, i.pointer, i.severity, i.message) for i in issues] == [
        (line_of(text, "tosca.datatypes.nfv.VduProfile:"), "/data_types/tosca.datatypes.nfv.VduProfile", "warning",
         "data type tosca.datatypes.nfv.VduProfile is declared again unlike nfvo's definition in "
         "etsi_nfv_sol001_vnfd_types.yaml: property 'min_number_of_instances' is string, not integer; "
         "the package's declaration is used")]
    assert result is not None


def test_a_redeclared_parent_is_a_difference_and_two_package_files_still_conflict():
    text = HEADER + "  - more.yaml\nnode_types:\n  tosca.nodes.nfv.VduCp:\n    derived_from: tosca.nodes.Root\n" \
                    "  acme.Thing:\n    derived_from: tosca.nodes.Root\n" + BODY
    more = HEADER + "node_types:\n  acme.Thing:\n    derived_from: tosca.nodes.Root\n"
    _, issues = read(package(text, {"Definitions/more.yaml": more}))
    assert sorted((i.pointer, i.severity, i.message) for i in issues) == [
        ("/node_types/acme.Thing", "error", "node type acme.Thing is already defined in Definitions/more.yaml"),
        ("/node_types/tosca.nodes.nfv.VduCp", "warning",
         "node type tosca.nodes.nfv.VduCp is declared again unlike nfvo's definition in "
         "etsi_nfv_sol001_vnfd_types.yaml: derived_from is 'tosca.nodes.Root', not 'tosca.nodes.nfv.Cp'; "
         "the package's declaration is used")]


def test_a_conflicting_image_data_type_cannot_hide_an_unreadable_image_size():
    redeclared = """\
data_types:
  tosca.datatypes.nfv.SwImageData:
    derived_from: tosca.datatypes.Root
    properties:
      name: {type: string}
      version: {type: string}
      checksum: {type: tosca.datatypes.nfv.ChecksumData}
      container_format: {type: string}
      disk_format: {type: string}
      min_disk: {type: string}
      size: {type: integer}
"""
    text = HEADER + redeclared + BODY.replace("size: 100 MiB", "size: 100")
    _, issues = read(package(text))
    assert [(i.line, i.pointer, i.severity, i.message) for i in issues] == [
        (line_of(text, "tosca.datatypes.nfv.SwImageData:"), "/data_types/tosca.datatypes.nfv.SwImageData", "warning",
         "data type tosca.datatypes.nfv.SwImageData is declared again unlike nfvo's definition in "
         "etsi_nfv_sol001_vnfd_types.yaml: property 'min_disk' is string, not scalar-unit.size; property 'size' "
         "is integer, not scalar-unit.size; the package's declaration is used"),
        (line_of(text, "size: 100"), "/topology_template/node_templates/web/properties/sw_image_data/size", "error",
         "100 is not a scalar-unit.size: write a number and a unit, e.g. '1 TiB': nfvo needs the image's size as "
         "a scalar-unit.size")]


OWN_TYPES = """\
node_types:
  acme.Server:
    derived_from: tosca.nodes.Compute
    requirements:
      - database:
          capability: tosca.capabilities.Endpoint.Database
          relationship: acme.Uses
    interfaces:
      Standard:
        type: tosca.interfaces.node.lifecycle.Standard
      Admin:
        type: acme.Admin
relationship_types:
  acme.Uses:
    derived_from: tosca.relationships.ConnectsTo
interface_types:
  acme.Admin:
    derived_from: tosca.interfaces.Root
  acme.Lcm:
    derived_from: tosca.interfaces.nfv.Vnflcm
capability_types:
  acme.Admin:
    derived_from: tosca.capabilities.Endpoint.Admin
data_types:
  acme.Port:
    derived_from: tosca.datatypes.network.PortDef
  acme.Extra:
    derived_from: tosca.datatypes.nfv.VnfcAdditionalConfigurableProperties
    properties:
      port: {type: acme.Port, default: 8080}
artifact_types:
  acme.Script:
    derived_from: tosca.artifacts.Implementation.Python
group_types:
  acme.Servers:
    derived_from: tosca.groups.Root
policy_types:
  acme.Spread:
    derived_from: tosca.policies.Placement
"""


def test_package_types_may_derive_from_any_normative_or_sol001_type():
    text = HEADER + OWN_TYPES + BODY + """\
    - spread:
        type: acme.Spread
        targets: [ web ]
    - affinity:
        type: tosca.policies.nfv.AntiAffinityRule
        properties: {scope: nfvi_node}
        targets: [ web ]
"""
    result, issues = read(package(text))
    assert issues == [] and result is not None
