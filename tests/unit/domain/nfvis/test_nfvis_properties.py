"""image_properties.xml and system_generated_properties.xml: the model, and every finding with its line and path."""

import pytest

from nfvo.domain.nfvis.model import Choice, Disk, Range
from nfvo.domain.nfvis.properties import parse_properties
from tests.unit.domain.nfvis import samples

HEAD = """<?xml version="1.0"?>
<image_properties>
  <vnf_type>OTHER</vnf_type>
  <name>x</name>
  <version>1.0</version>
  <applicationVendor>Example</applicationVendor>
"""  # lines 1-6; a body starts at line 7


def doc(*body: str) -> str:
    return HEAD + "".join(f"  {line}\n" for line in body) + "</image_properties>\n"


def read(*body: str):
    """The model and its findings by (line, element path, severity); no two findings share one."""
    model, issues = parse_properties(doc(*body))
    found = {(i.line, i.pointer, i.severity): i.message for i in issues}
    assert len(found) == len(issues), [str(i) for i in issues]
    return model, found


# the samples ------------------------------------------------------------------------------
def test_router_sample_model():
    model, issues = parse_properties(samples.ROUTER_PROPERTIES)
    assert issues == []
    assert (model.name, model.version, model.vnf_type, model.vendor) == (
        "edge-router", "17.3.1", "ROUTER", "Example Networks")
    assert (model.vcpu, model.memory_mb, model.root_disk_gb) == (Range(1, 8), Range(4096, 8192), Range(8, 16))
    assert (model.vnic_max, model.mgmt_vnic, model.bootup_time) == (8, 0, 600)
    assert model.vnic_names == ((0, "GigabitEthernet1"), (1, "GigabitEthernet2"))
    assert model.flags == {"monitoring_supported": True, "low_latency": True, "console_type_serial": True}
    assert model.monitoring_methods == ("ICMPPing",)
    assert model.root_disk.bus == "virtio" and model.root_disk.format == "qcow2"
    assert [p.name for p in model.profiles] == ["small", "medium"] and model.default_profile == "small"
    assert model.profile("medium").to_dict() == {"name": "medium", "description": "4 vCPU, 8 GB", "vcpus": 4,
                                                 "memory_mb": 8192, "root_disk_mb": 16384}
    (bootstrap,) = model.bootstrap_files
    assert (bootstrap.source, bootstrap.mount_point, bootstrap.parse) == ("iosxe_config.txt", "iosxe_config.txt", True)
    props = {p.name: p for p in model.custom_properties}
    assert list(props) == ["HOSTNAME", "TECH_PACKAGE", "SSH_PASSWORD", "SITE_ID", "VBOND"]
    assert (props["HOSTNAME"].mandatory, props["HOSTNAME"].display, props["HOSTNAME"].default) == (True, "Host name",
                                                                                                   None)
    assert props["TECH_PACKAGE"].choices[0] == Choice("ax", "Advanced")
    assert props["TECH_PACKAGE"].values == ("ax", "security", "ipbase", "appx")
    assert props["SSH_PASSWORD"].secret and not props["HOSTNAME"].secret
    assert props["HOSTNAME"].pointer == "/image_properties/custom_property[1]"
    assert not model.nocloud


def test_firewall_ephemeral_and_nocloud_samples():
    firewall, issues = parse_properties(samples.FIREWALL_PROPERTIES)
    assert issues == [] and firewall.bootup_time == -1 and firewall.vnic_max == 10
    assert firewall.bootstrap_files[0].mount_point == "/config/init-cfg.txt"
    assert all(p.mandatory for p in firewall.custom_properties) and len(firewall.custom_properties) == 7
    assert firewall.custom_property("VM_AUTH_KEY").secret  # by its name

    cache, issues = parse_properties(samples.CACHE_PROPERTIES)
    assert issues == [] and [p.name for p in cache.profiles] == ["cache-200", "cache-750", "cache-1300"]
    assert cache.disks == (Disk(1, "virtio", "raw", 10, "/image_properties/disk_1_image_format"),)
    (legacy,) = cache.bootstrap_files
    assert (legacy.source, legacy.mount_point, legacy.parse, legacy.index) == ("ovf-env.xml", "ovf-env.xml", False, 1)

    nocloud, issues = parse_properties(samples.NOCLOUD_PROPERTIES)
    assert issues == [] and nocloud.nocloud and nocloud.profiles == () and nocloud.default_profile is None


# identity and scalars ---------------------------------------------------------------------
def test_identity_fields_are_required_and_checked():
    model, issues = parse_properties("<image_properties>\n<version>1.0-beta</version>\n<vnf_type>SWITCH</vnf_type>\n"
                                     "<imageType>container</imageType>\n</image_properties>")
    found = {(i.line, i.pointer, i.severity): i.message for i in issues}
    assert found == {
        (1, "/image_properties/name", "error"): "<name> is required",
        (1, "/image_properties/applicationVendor", "warning"): "no <applicationVendor>: the package does not say "
                                                               "who made it",
        (2, "/image_properties/version", "error"): "<version> must be digits and dots, such as 17.3.1 (got "
                                                   "'1.0-beta')",
        (3, "/image_properties/vnf_type", "error"): "<vnf_type> must be one of ROUTER, FIREWALL, LOADBALANCER, "
                                                    "OTHER, vWAAS, vWLC, WLC (got 'SWITCH')",
        (4, "/image_properties/imageType", "error"): "<imageType> must be virtualmachine (got 'container')",
    }
    assert model.name is None and model.vnf_type is None


def test_vnf_type_in_another_case_is_read_with_a_warning():
    model, issues = parse_properties(doc().replace("<vnf_type>OTHER", "<vnf_type>router"))
    assert model.vnf_type == "ROUTER"
    assert [(i.severity, i.message) for i in issues] == [("warning", "<vnf_type> 'router' is read as 'ROUTER'")]


def test_root_element_must_be_image_properties():
    model, issues = parse_properties("<properties/>")
    assert model is None and issues[0].message == "the root element must be <image_properties>, not <properties>"


def test_ranges_and_scalars():
    model, found = read(
        "<bootup_time>300</bootup_time>",                    # 7
        "<vcpu_min>8</vcpu_min>",                            # 8
        "<vcpu_max>2</vcpu_max>",                            # 9
        "<memory_mb_min>0</memory_mb_min>",                  # 10
        "<memory_mb_max>lots</memory_mb_max>",               # 11
        "<root_disk_gb_min>-1</root_disk_gb_min>",           # 12
        "<vnic_max>4</vnic_max>",                            # 13
        "<mgmt_vnic>8</mgmt_vnic>",                          # 14
        "<root_file_disk_bus>scsi</root_file_disk_bus>",     # 15
        "<root_image_disk_format>vhd</root_image_disk_format>",  # 16
        "<low_latency>yes</low_latency>",                    # 17
        "<monitoring_methods>ICMPPing,SNMP</monitoring_methods>",  # 18
        "<vnic_names>vnics:1:Gi2 vnics:9:Gi9</vnic_names>",  # 19
        "<name>y</name>",                                    # 20
        "<disk_1_image_format>iso</disk_1_image_format>",    # 21
        "<vcpu_mni>1</vcpu_mni>",                            # 22
    )
    root = "/image_properties"
    assert found == {
        (7, f"{root}/bootup_time", "error"): "<bootup_time> must be 600..3000 or -1 (got 300)",
        (9, f"{root}/vcpu_max", "error"): "<vcpu_max> 2 is below <vcpu_min> 8",
        (10, f"{root}/memory_mb_min", "error"): "<memory_mb_min> must be >= 1 (got 0)",
        (11, f"{root}/memory_mb_max", "error"): "<memory_mb_max> must be an integer (got 'lots')",
        (12, f"{root}/root_disk_gb_min", "error"): "<root_disk_gb_min> must be >= 0 (got -1)",
        (13, f"{root}/vnic_max", "error"): "<vnic_max> must be 8..256 (got 4)",
        (14, f"{root}/mgmt_vnic", "error"): "<mgmt_vnic> must be 0..7 (got 8)",
        (15, f"{root}/root_file_disk_bus", "error"): "<root_file_disk_bus> must be one of virtio, ide (got 'scsi')",
        (16, f"{root}/root_image_disk_format", "error"):
            "<root_image_disk_format> must be one of qcow2, raw, vmdk (got 'vhd')",
        (17, f"{root}/low_latency", "error"): "<low_latency> must be true or false (got 'yes')",
        (18, f"{root}/monitoring_methods", "error"): "<monitoring_methods> must be one of ICMPPing (got 'SNMP')",
        (19, f"{root}/vnic_names", "error"): "vnic_names entry 'vnics:9:Gi9': vNIC 9 is not below vnic_max (8)",
        (20, f"{root}/name[2]", "error"): "<name> is given more than once (first at line 4)",
        (21, f"{root}/disk_1_image_format", "error"): "<disk_1_image_format> must be one of qcow2, raw, vmdk "
                                                      "(got 'iso')",
        (22, f"{root}/vcpu_mni", "warning"): "unknown element <vcpu_mni> is ignored (did you mean <vcpu_min>?)",
    }
    assert model.vcpu == Range(8, 2) and model.vnic_names == ((1, "Gi2"),)


def test_vnic_names_problems_are_each_reported():
    model, issues = parse_properties(doc("<vnic_names>vnics:1:Gi2 vnics:1:Gi3 eth0</vnic_names>"))
    assert [(i.line, i.message) for i in issues] == [(7, "vnic_names names vNIC 1 twice"),
                                                     (7, "vnic_names entry 'eth0' is not vnics:<n>:<name>")]
    assert model.vnic_names == ((1, "Gi2"),)


def test_unknown_elements_are_kept_as_text():
    model, found = read("<pcie_device_list>0000:01:00.0</pcie_device_list>", "<sriov_driver_list>igbvf</sriov_driver_list>",
                        "<vendor_notes>anything</vendor_notes>")
    assert found == {}
    assert model.other == {"pcie_device_list": "0000:01:00.0", "sriov_driver_list": "igbvf",
                           "vendor_notes": "anything"}


# profiles ---------------------------------------------------------------------------------
def test_profiles_are_checked_against_the_ranges_and_default_profile():
    _, found = read(
        "<vcpu_min>2</vcpu_min><vcpu_max>4</vcpu_max>",                         # 7
        "<memory_mb_min>2048</memory_mb_min><memory_mb_max>4096</memory_mb_max>",  # 8
        "<root_disk_gb_min>1</root_disk_gb_min><root_disk_gb_max>2</root_disk_gb_max>",  # 9
        "<profiles>",                                                           # 10
        "<profile><name>ok</name><vcpus>2</vcpus><memory_mb>2048</memory_mb><root_disk_mb>2048</root_disk_mb></profile>",
        "<profile><name>big</name><vcpus>8</vcpus><memory_mb>8192</memory_mb><root_disk_mb>4096</root_disk_mb></profile>",
        "<profile><name>ok</name><vcpus>2</vcpus><memory_mb>2048</memory_mb></profile>",  # 13: twice
        "<profile><vcpus>two</vcpus><memroy_mb>1</memroy_mb></profile>",        # 14
        "<flavour/>",                                                           # 15
        "</profiles>",
        "<default_profile>huge</default_profile>",                              # 17
    )
    profile = "/image_properties/profiles/profile"
    assert found == {
        (12, f"{profile}[2]/vcpus", "error"): "<vcpus> 8 is outside vcpu_min..vcpu_max (2..4)",
        (12, f"{profile}[2]/memory_mb", "error"):
            "<memory_mb> 8192 is outside memory_mb_min..memory_mb_max (2048..4096 MB)",
        (12, f"{profile}[2]/root_disk_mb", "error"):
            "<root_disk_mb> 4096 is outside root_disk_gb_min..root_disk_gb_max (1024..2048 MB)",
        (13, f"{profile}[3]/name", "error"): "profile 'ok' is defined twice (first at line 11)",
        (14, f"{profile}[4]/name", "error"): "<name> is required",
        (14, f"{profile}[4]/vcpus", "error"): "<vcpus> must be an integer (got 'two')",
        (14, f"{profile}[4]/memroy_mb", "warning"):
            "unknown element <memroy_mb> in a profile is ignored (did you mean <memory_mb>?)",
        (14, f"{profile}[4]/memory_mb", "error"): "<memory_mb> is required",
        (15, "/image_properties/profiles/flavour", "warning"): "unknown element <flavour> in <profiles> is ignored",
        (17, "/image_properties/default_profile", "error"): "<default_profile> 'huge' is not one of the profiles "
                                                            "(ok, big)",
    }


def test_default_profile_without_profiles_and_profiles_without_default():
    _, found = read("<default_profile>small</default_profile>")
    assert found == {(7, "/image_properties/default_profile", "error"):
                     "<default_profile> 'small' names a profile, but the package defines none"}
    _, found = read("<profiles><profile><name>a</name><vcpus>1</vcpus><memory_mb>1</memory_mb></profile></profiles>")
    assert found == {(2, "/image_properties/default_profile", "warning"):
                     "no <default_profile>: every deployment must name one of the profiles"}


# bootstrap files --------------------------------------------------------------------------
def test_bootstrap_file_declarations():
    model, found = read(
        '<bootstrap_file parse="true" mnt_pnt="/openstack/latest/user_data">a.cfg</bootstrap_file>',  # 7
        '<bootstrap_file parse="maybe">b.cfg</bootstrap_file>',                               # 8
        '<bootstrap_file mnt_pnt="/openstack/latest/user_data">c.cfg</bootstrap_file>',       # 9: same place
        '<bootstrap_file mnt_pnt="../../etc/shadow">d.cfg</bootstrap_file>',                  # 10
        "<bootstrap_file>../escape.cfg</bootstrap_file>",                                     # 11
        "<bootstrap_file/>",                                                                  # 12
        '<bootstrap_file controller="vmanage" vm="1" mnt_pnt="/openstack/latest/user_data">e.cfg</bootstrap_file>',
        '<bootstrap_file controller="cloud" vm="3" owner="x">f.cfg</bootstrap_file>',         # 14
        "<bootstrap_file_1>ovf-env.xml</bootstrap_file_1>",                                   # 15
        "<bootstrap_file_1>again.xml</bootstrap_file_1>",                                     # 16
        "<bootstrap_file_21>late.xml</bootstrap_file_21>",                                    # 17
        '<bootstrap_file mnt_pnt="a:b">g.cfg</bootstrap_file>',                               # 18
    )
    at = "/image_properties/bootstrap_file"
    assert found == {
        (8, f"{at}[2]/@parse", "error"): "attribute parse must be true or false (got 'maybe')",
        (9, f"{at}[3]", "error"): "mount point '/openstack/latest/user_data' is already used by 'a.cfg' (line 7)",
        (10, f"{at}[4]/@mnt_pnt", "error"): "mount point '../../etc/shadow': '..' is not allowed",
        (11, f"{at}[5]", "error"): "bootstrap file name '../escape.cfg': '..' in path",
        (12, f"{at}[6]", "error"): "<bootstrap_file> names no file",
        (13, f"{at}[7]/@controller", "warning"): "attribute controller 'vmanage' is read as 'vManage'",
        (14, f"{at}[8]/@controller", "error"): "attribute controller must be one of vManage, non-vManage (got 'cloud')",
        (14, f"{at}[8]/@vm", "error"): "attribute vm must be 0..2 (got 3)",
        (14, f"{at}[8]/@owner", "warning"): "unknown attribute owner is ignored",
        (16, "/image_properties/bootstrap_file_1[2]", "error"): "<bootstrap_file_1> is given more than once (first "
                                                                "at line 15)",
        (17, "/image_properties/bootstrap_file_21", "error"): "the N of <bootstrap_file_21> must be 1..20 (got 21)",
        (18, f"{at}[9]/@mnt_pnt", "error"): "mount point 'a:b': control characters and \\ * : ; ? are not allowed",
    }
    assert [(f.source, f.controller, f.vm) for f in model.bootstrap_files] == [
        ("a.cfg", None, None), ("e.cfg", "vManage", 1), ("f.cfg", None, None), ("ovf-env.xml", None, None),
        ("late.xml", None, None)]  # declarations with an error still declare their file


def test_at_most_twenty_bootstrap_files():
    model, found = read(*(f"<bootstrap_file>f{n}.cfg</bootstrap_file>" for n in range(21)))
    assert len(model.bootstrap_files) == 20
    assert found == {(27, "/image_properties/bootstrap_file[21]", "error"): "more than 20 bootstrap files"}


def test_nocloud_packages_warn_about_config_drive_mount_points():
    _, found = read("<nocloud>true</nocloud>",
                    '<bootstrap_file mnt_pnt="/openstack/latest/user_data">a.cfg</bootstrap_file>',
                    '<bootstrap_file mnt_pnt="/openstack/content/0000">b.cfg</bootstrap_file>',
                    '<bootstrap_file mnt_pnt="meta-data">c.cfg</bootstrap_file>')
    assert found == {
        (8, "/image_properties/bootstrap_file[1]", "warning"): "nocloud is true, so the day-0 drive is NoCloud "
        "(cidata): '/openstack/latest/user_data' is written as user-data, where NoCloud reads it",
        (9, "/image_properties/bootstrap_file[2]", "warning"): "nocloud is true, so the day-0 drive is NoCloud "
        "(cidata): '/openstack/content/0000' is written as is, but NoCloud reads no openstack/ folder",
    }


# custom properties ------------------------------------------------------------------------
def test_custom_property_declarations():
    model, found = read(
        "<custom_property><name>HOST-NAME</name><type>string</type></custom_property>",     # 7
        "<custom_property><name>A</name><type>text</type></custom_property>",               # 8
        '<custom_property mandatory="sure"><name>B</name><type>string</type></custom_property>',  # 9
        "<custom_property><name>C</name><type>selection</type><val/></custom_property>",    # 10
        "<custom_property><name>D</name><type>selection</type><val>x</val><val>x</val></custom_property>",  # 11
        "<custom_property><name>E</name></custom_property>",                                # 12
        "<custom_property><name>E</name><type>string</type></custom_property>",             # 13: twice
        "<custom_property><name>F</name><type>string</type><val>preset</val></custom_property>",  # 14
        "<custom_property><name>G</name><type>uint</type><val>1</val><val>2</val></custom_property>",  # 15
        "<custom_property><name>PW</name><type>password</type><default>cisco123</default></custom_property>",  # 16
        "<custom_property><name>NICID_0_IP_ADDRESS</name><type>ipv4</type></custom_property>",  # 17
        "<custom_property><name>H</name><type>string</type><defualt>x</defualt></custom_property>",  # 18
        "<custom_property><OLD_STYLE> </OLD_STYLE><WITH_DEFAULT>v</WITH_DEFAULT></custom_property>",  # 19
        "<custom_property/>",                                                               # 20
    )
    at = "/image_properties/custom_property"
    assert found == {
        (7, f"{at}[1]/name", "error"): "custom_property name 'HOST-NAME' is not a token name (letters, digits and _, "
                                       "not starting with a digit)",
        (8, f"{at}[2]/type", "error"): "<type> must be one of string, password, ipv4, uint, selection (got 'text')",
        (9, f"{at}[3]/@mandatory", "error"): "attribute mandatory must be true or false (got 'sure')",
        (10, f"{at}[4]", "error"): "selection property 'C' lists no <val> to choose from",
        (11, f"{at}[5]/val[2]", "error"): "value 'x' of 'D' is listed twice",
        (12, f"{at}[6]", "warning"): "custom_property 'E' has no <type>: read as string",
        (13, f"{at}[7]", "error"): "custom_property 'E' is declared twice (first at line 12)",
        (14, f"{at}[8]/val", "warning"): "<val> of string property 'F' is read as its default (write <default>)",
        (15, f"{at}[9]/val[2]", "error"): "uint property 'G' has several <val>: only a selection lists values",
        (16, f"{at}[10]/default", "warning"): "password 'PW' has a default: every deployment that does not set it "
                                              "gets a password written in the package",
        (17, f"{at}[11]", "warning"): "'NICID_0_IP_ADDRESS' is filled by the platform from the deployment's vNICs: "
                                      "this declaration is ignored",
        (18, f"{at}[12]/defualt", "warning"): "unknown element <defualt> in custom_property 'H' is ignored (did you "
                                              "mean <default>?)",
        (20, f"{at}[14]", "error"): "custom_property has no <name> (nor a token element)",
    }
    props = {p.name: p for p in model.custom_properties}
    assert list(props) == ["A", "B", "C", "D", "E", "F", "G", "PW", "H", "OLD_STYLE", "WITH_DEFAULT"]
    assert props["F"].default == "preset" and props["D"].values == ("x",)
    assert (props["OLD_STYLE"].type, props["OLD_STYLE"].default) == ("string", None)
    assert props["WITH_DEFAULT"].default == "v" and props["WITH_DEFAULT"].default_line == 19


# volumes and system properties ------------------------------------------------------------
def test_volumes():
    model, found = read("<storage><volumes>",
                        "<volume><name>logs</name><deviceType>disk</deviceType><format>qcow2</format><size>10</size>"
                        "</volume>",
                        "<volume><deviceType>floppy</deviceType><format>raw</format><size>512</size></volume>",
                        "</volumes></storage>")
    assert [(v.name, v.device_type, v.format, v.size_gb) for v in model.volumes] == [
        ("logs", "disk", "qcow2", 10), (None, None, "raw", None)]
    at = "/image_properties/storage/volumes/volume[2]"
    assert found == {(9, f"{at}/deviceType", "error"): "<deviceType> must be one of disk, cdrom (got 'floppy')",
                     (9, f"{at}/size", "error"): "<size> must be 1..256 (got 512)"}


SYSTEM = """<?xml version="1.0"?>
<system_generated_properties>
  <system_property><name>HA_PEER_IP</name><val>198.51.100.2</val></system_property>
  <system_property><name>HA_PEER_IP</name><val>198.51.100.3</val></system_property>
  <system_property><name>HOSTNAME</name><val>x</val></system_property>
  <system_property><name>bad name</name><val>x</val></system_property>
  <system_property><val>x</val></system_property>
  <other/>
</system_generated_properties>
"""


def test_system_generated_properties():
    model, issues = parse_properties(doc("<custom_property><name>HOSTNAME</name><type>string</type></custom_property>"),
                                     system=SYSTEM)
    found = {(i.file, i.line, i.pointer, i.severity): i.message for i in issues}
    f, at = "system_generated_properties.xml", "/system_generated_properties/system_property"
    assert found == {
        (f, 4, f"{at}[2]", "error"): "system_property 'HA_PEER_IP' is declared twice (first at line 3)",
        (f, 5, f"{at}[3]", "error"): "'HOSTNAME' is both a system_property and a custom_property of "
                                     "image_properties.xml",
        (f, 6, f"{at}[4]/name", "error"): "system_property name 'bad name' is not a token name",
        (f, 7, f"{at}[5]/name", "error"): "<name> is required",
        (f, 8, "/system_generated_properties/other", "warning"): "unknown element <other> is ignored",
    }
    assert [(p.name, p.value) for p in model.system_properties] == [("HA_PEER_IP", "198.51.100.2"), ("HOSTNAME", "x")]


def test_hostile_system_properties_are_refused_naming_that_file():
    hostile = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/shadow">]><system_generated_properties/>'
    model, issues = parse_properties(doc(), system=hostile)
    assert model.system_properties == ()
    assert [(i.file, i.severity) for i in issues] == [("system_generated_properties.xml", "error")]


@pytest.mark.parametrize("text", ["2", "2.0", "17.3.1", "3.10.100"])
def test_versions_of_digits_and_dots_pass(text):
    model, issues = parse_properties(doc().replace("<version>1.0", f"<version>{text}"))
    assert issues == [] and model.version == text
