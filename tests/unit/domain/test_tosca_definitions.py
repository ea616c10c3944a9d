"""Tests of the shipped type definitions: the TOSCA normative types, the SOL001 types, their imports."""

from __future__ import annotations

import pytest

from nfvo.domain.tosca_types import check_chains, hint, load_model, shipped_import
from nfvo.errors import Issue
from tests.csar_builder import DictFiles as Files

ENTRY = """\
tosca_definitions_version: tosca_simple_yaml_1_2
imports:
  - etsi_nfv_sol001_common_types.yaml
  - etsi_nfv_sol001_vnfd_types.yaml
"""

NORMATIVE = {
    "node": ["tosca.nodes.Root", "tosca.nodes.Abstract.Compute", "tosca.nodes.Compute",
             "tosca.nodes.SoftwareComponent", "tosca.nodes.WebServer", "tosca.nodes.WebApplication",
             "tosca.nodes.DBMS", "tosca.nodes.Database", "tosca.nodes.Abstract.Storage",
             "tosca.nodes.Storage.ObjectStorage", "tosca.nodes.Storage.BlockStorage", "tosca.nodes.BlockStorage",
             "tosca.nodes.ObjectStorage", "tosca.nodes.Container.Runtime", "tosca.nodes.Container.Application",
             "tosca.nodes.LoadBalancer", "tosca.nodes.network.Network", "tosca.nodes.network.Port"],
    "relationship": ["tosca.relationships.Root", "tosca.relationships.DependsOn", "tosca.relationships.HostedOn",
                     "tosca.relationships.ConnectsTo", "tosca.relationships.AttachesTo",
                     "tosca.relationships.RoutesTo", "tosca.relationships.network.LinksTo",
                     "tosca.relationships.network.BindsTo"],
    "capability": ["tosca.capabilities.Root", "tosca.capabilities.Node", "tosca.capabilities.Compute",
                   "tosca.capabilities.Network", "tosca.capabilities.Storage", "tosca.capabilities.Container",
                   "tosca.capabilities.Endpoint", "tosca.capabilities.Endpoint.Public",
                   "tosca.capabilities.Endpoint.Admin", "tosca.capabilities.Endpoint.Database",
                   "tosca.capabilities.Attachment", "tosca.capabilities.OperatingSystem",
                   "tosca.capabilities.Scalable", "tosca.capabilities.Bindable",
                   "tosca.capabilities.network.Linkable", "tosca.capabilities.network.Bindable"],
    "interface": ["tosca.interfaces.Root", "tosca.interfaces.node.lifecycle.Standard",
                  "tosca.interfaces.relationship.Configure"],
    "data": ["tosca.datatypes.Root", "tosca.datatypes.json", "tosca.datatypes.xml", "tosca.datatypes.Credential",
             "tosca.datatypes.TimeInterval", "tosca.datatypes.network.NetworkInfo",
             "tosca.datatypes.network.PortInfo", "tosca.datatypes.network.PortDef",
             "tosca.datatypes.network.PortSpec"],
    "artifact": ["tosca.artifacts.Root", "tosca.artifacts.File", "tosca.artifacts.Deployment",
                 "tosca.artifacts.Deployment.Image", "tosca.artifacts.Deployment.Image.VM",
                 "tosca.artifacts.Implementation", "tosca.artifacts.Implementation.Bash",
                 "tosca.artifacts.Implementation.Python", "tosca.artifacts.Template"],
    "group": ["tosca.groups.Root"],
    "policy": ["tosca.policies.Root", "tosca.policies.Placement", "tosca.policies.Scaling", "tosca.policies.Update",
               "tosca.policies.Performance"],
}

# the SOL001 types the VNFDs of Tacker's samples use
SOL001 = {
    "node": ["tosca.nodes.nfv.VNF", "tosca.nodes.nfv.Vdu.Compute", "tosca.nodes.nfv.Vdu.VirtualBlockStorage",
             "tosca.nodes.nfv.Vdu.VirtualObjectStorage", "tosca.nodes.nfv.Vdu.VirtualFileStorage",
             "tosca.nodes.nfv.Cp", "tosca.nodes.nfv.VduCp", "tosca.nodes.nfv.VnfExtCp", "tosca.nodes.nfv.VipCp",
             "tosca.nodes.nfv.VnfVirtualLink"],
    "relationship": ["tosca.relationships.nfv.VirtualLinksTo", "tosca.relationships.nfv.VirtualBindsTo",
                     "tosca.relationships.nfv.AttachesTo", "tosca.relationships.nfv.VipVirtualLinksTo"],
    "capability": ["tosca.capabilities.nfv.VirtualLinkable", "tosca.capabilities.nfv.VirtualBindable",
                   "tosca.capabilities.nfv.VirtualCompute", "tosca.capabilities.nfv.VirtualStorage"],
    "interface": ["tosca.interfaces.nfv.Vnflcm", "tosca.interfaces.nfv.VnfIndicator"],
    "artifact": ["tosca.artifacts.nfv.SwImage", "tosca.artifacts.Implementation.nfv.Mistral"],
    "group": ["tosca.groups.nfv.PlacementGroup"],
    "policy": ["tosca.policies.nfv.InstantiationLevels", "tosca.policies.nfv.VduInstantiationLevels",
               "tosca.policies.nfv.VirtualLinkInstantiationLevels", "tosca.policies.nfv.ScalingAspects",
               "tosca.policies.nfv.VduScalingAspectDeltas", "tosca.policies.nfv.VirtualLinkBitrateScalingAspectDeltas",
               "tosca.policies.nfv.VduInitialDelta", "tosca.policies.nfv.VirtualLinkBitrateInitialDelta",
               "tosca.policies.nfv.AffinityRule", "tosca.policies.nfv.AntiAffinityRule",
               "tosca.policies.nfv.SecurityGroupRule", "tosca.policies.nfv.Abstract.SecurityGroupRule",
               "tosca.policies.nfv.SupportedVnfInterface"],
    "data": [f"tosca.datatypes.nfv.{name}" for name in (
        "AddressData", "BootData", "BootDataVimSpecificProperties", "ChecksumData", "ConnectivityType",
        "ContentOrFileData", "CpProtocolData", "InstantiationLevel", "InterfaceDetails", "IpAllocationPool",
        "KvpData", "L2AddressData", "L2ProtocolData", "L3AddressData", "L3ProtocolData", "LinkBitrateRequirements",
        "LogicalNodeData", "OauthServerInfo", "Qos", "RequestedAdditionalCapability", "ScaleInfo", "ScalingAspect",
        "SwImageData", "UriAuthority", "UriComponents", "VduLevel", "VduProfile", "VirtualBlockStorageData",
        "VirtualCpu", "VirtualCpuPinning", "VirtualFileStorageData", "VirtualLinkBitrateLevel",
        "VirtualLinkMonitoringParameter", "VirtualLinkProtocolData", "VirtualMemory",
        "VirtualNetworkInterfaceRequirements", "VirtualObjectStorageData", "VlProfile",
        "VnfAdditionalConfigurableProperties", "VnfChangeExtConnectivityOperationConfiguration",
        "VnfChangeFlavourOperationConfiguration", "VnfConfigurableProperties", "VnfHealOperationConfiguration",
        "VnfInfoModifiableAttributes", "VnfInfoModifiableAttributesExtensions",
        "VnfInfoModifiableAttributesMetadata", "VnfInstantiateOperationConfiguration",
        "VnfLcmOperationsConfiguration", "VnfMonitoringParameter", "VnfOperateOperationConfiguration",
        "VnfOperationAdditionalParameters", "VnfProfile", "VnfScaleOperationConfiguration",
        "VnfScaleToLevelOperationConfiguration", "VnfTerminateOperationConfiguration",
        "VnfcAdditionalConfigurableProperties", "VnfcConfigurableProperties", "VnfcMonitoringParameter",
        "VnfmInterfaceInfo")],
}


@pytest.fixture(scope="module")
def model():
    issues: list[Issue] = []
    loaded = load_model(Files({"main.yaml": ENTRY}), "main.yaml", issues)
    check_chains(loaded)
    assert issues == []  # every shipped type's parents are known
    return loaded


@pytest.mark.parametrize("kind", sorted(NORMATIVE))
def test_every_normative_tosca_type_is_shipped(model, kind):
    assert [name for name in NORMATIVE[kind] if name not in model.types[kind]] == []


@pytest.mark.parametrize("kind", sorted(SOL001))
def test_every_sol001_type_tacker_samples_use_is_shipped(model, kind):
    assert [name for name in SOL001[kind] if name not in model.types[kind]] == []


@pytest.mark.parametrize("target", [
    "etsi_nfv_sol001_vnfd_types.yaml", "./etsi_nfv_sol001_vnfd_types.yaml", "../common/etsi_nfv_sol001_vnfd_types.yaml",
    "etsi_nfv_sol001_vnfd_2_5_1_types.yaml",
    "https://forge.etsi.org/rep/nfv/SOL001/raw/v2.6.1/etsi_nfv_sol001_vnfd_types.yaml",
    "https://forge.etsi.org/rep/nfv/SOL001/raw/v2.7.1/etsi_nfv_sol001_vnfd_types.yaml",
    "https://forge.etsi.org/rep/nfv/SOL001/raw/v3.3.1/etsi_nfv_sol001_vnfd_types.yaml",
    "https://forge.etsi.org/rep/nfv/SOL001/raw/v4.2.1/etsi_nfv_sol001_vnfd_types.yaml?inline=false"])
def test_every_version_of_the_sol001_vnfd_file_resolves_to_the_shipped_one(target):
    assert shipped_import(target) == "etsi_nfv_sol001_vnfd_types.yaml"
    assert shipped_import(target.replace("vnfd", "common")) == "etsi_nfv_sol001_common_types.yaml"


@pytest.mark.parametrize("target", ["https://example.com/types.yaml", "etsi_nfv_sol001_nsd_types.yaml",
                                    "my_etsi_nfv_sol001_vnfd_types.yaml", "etsi_nfv_sol001_vnfd_types.yml"])
def test_other_files_are_not_shipped(target):
    assert shipped_import(target) is None


def test_did_you_mean_never_suggests_the_name_itself():
    assert hint("small", ["small"]) == ""
    assert hint("small", ["small", "smal"]) == " (did you mean 'smal'?)"
    assert hint("tosca.nodes.nfv.VNF", {"tosca.nodes.nfv.VNF": 1}) == ""
    assert hint(3, ["3"]) == ""
