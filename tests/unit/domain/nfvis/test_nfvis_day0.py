"""Day-0 token contracts: checked at onboarding, rendered at deployment; secrets never shown."""

import json

import pytest

from nfvo.domain.nfvis.day0 import check_day0, deployment_controller, render
from nfvo.domain.nfvis.properties import parse_properties
from nfvo.domain.nfvis.tokens import PLATFORM_TOKENS, platform_token, scan, substitute
from nfvo.errors import ValidationFailed
from tests.unit.domain.nfvis import samples

ROUTER_NIC = {"ip": "10.0.0.5", "netmask": "255.255.255.0", "gateway": "10.0.0.1"}


def model(text: str, system: str | None = None):
    properties, issues = parse_properties(text, system=system)
    assert [i for i in issues if not i.is_warning] == [], [str(i) for i in issues]
    return properties


def refusal(properties, files, payload) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        render(properties, files, payload)
    return caught.value


def with_properties(*declarations: str, files: str = '<bootstrap_file parse="true">day0.txt</bootstrap_file>',
                    extra: str = "") -> str:
    return ('<image_properties><vnf_type>OTHER</vnf_type><name>x</name><version>1</version>'
            f'<applicationVendor>v</applicationVendor>{extra}{files}{"".join(declarations)}</image_properties>')


def prop(name: str, kind: str = "string", *, mandatory: bool = False, default: str | None = None,
         values: tuple[str, ...] = ()) -> str:
    vals = "".join(f"<val>{v}</val>" for v in values)
    default_text = f"<default>{default}</default>" if default is not None else ""
    return (f'<custom_property mandatory="{str(mandatory).lower()}"><name>{name}</name><type>{kind}</type>{vals}'
            f"{default_text}</custom_property>")


# tokens -----------------------------------------------------------------------------------
def test_platform_tokens_constant_and_parsing():
    assert [name for name, _ in PLATFORM_TOKENS] == ["NICID_<n>_IP_ADDRESS", "NICID_<n>_NETMASK",
                                                     "NICID_<n>_CIDR_PREFIX", "NICID_<n>_GATEWAY"]
    assert platform_token("NICID_0_IP_ADDRESS") == (0, "IP_ADDRESS")
    assert platform_token("NICID_12_GATEWAY") == (12, "GATEWAY")
    assert platform_token("NICID_01_GATEWAY") is None and platform_token("NICID_0_MAC") is None


def test_scan_finds_line_and_column_and_substitute_is_one_pass():
    uses = scan("a\n  x ${ONE} ${TWO}\n${bad name} $HOME ${", "f.txt")
    assert [(u.name, u.line, u.column, u.valid) for u in uses] == [
        ("ONE", 2, 5, True), ("TWO", 2, 12, True), ("bad name", 3, 1, False)]
    assert substitute("${A}-${B}-${C}", {"A": "${B}", "B": "b"}) == "${B}-b-${C}"


# onboarding -------------------------------------------------------------------------------
def test_the_samples_contracts_hold():
    for text, files in ((samples.ROUTER_PROPERTIES, {"iosxe_config.txt": samples.ROUTER_CONFIG}),
                        (samples.FIREWALL_PROPERTIES, {"init-cfg.txt": samples.FIREWALL_CONFIG}),
                        (samples.CACHE_PROPERTIES, {"ovf-env.xml": samples.CACHE_OVF_ENV}),
                        (samples.NOCLOUD_PROPERTIES, {"cloud-config.yaml": samples.NOCLOUD_USER_DATA})):
        assert check_day0(model(text), files) == []


def test_every_onboarding_finding():
    properties = model(with_properties(
        prop("HOSTNAME", mandatory=True),
        prop("UNUSED"),
        prop("MODE", "selection", values=("a", "b"), default="c"),
        prop("SITE_ID", "uint", default="-5"),
        prop("VBOND", "ipv4", default="300.1.1.1"),
        prop("ENABLE_PASSWORD", "password", default="x\ny"),
        files='<bootstrap_file parse="true">day0.txt</bootstrap_file><bootstrap_file>plain.txt</bootstrap_file>'
              '<bootstrap_file mnt_pnt="/b">gone.txt</bootstrap_file>'))
    day0 = ("hostname ${HOSTNAME}\n"
            "  vbond ${VBOND} site ${SITE_ID} mode ${MODE} enable ${ENABLE_PASSWORD}\n"
            "ip ${NICID_0_IP_ADDRESS} ${NICID_8_GATEWAY} ${UNDECLARED}\n"
            "${not a token}\n")
    issues = check_day0(properties, {"day0.txt": day0, "plain.txt": "name ${HOSTNAME} ${HOSTNAME} ${OTHER}\n"})
    found = sorted((i.file, i.line, i.pointer or "", i.severity, i.message) for i in issues)
    cp = "/image_properties/custom_property"
    assert found == [
        ("day0.txt", 3, "", "error", "${NICID_8_GATEWAY} (column 26) names vNIC 8, but the package allows vnic_max 8 "
                                     "(vNICs 0..7)"),
        ("day0.txt", 3, "", "error", "${UNDECLARED} (column 45) is neither a custom_property of image_properties.xml "
                                     "nor a token the platform fills (NICID_<n>_IP_ADDRESS, NICID_<n>_NETMASK, "
                                     "NICID_<n>_CIDR_PREFIX, NICID_<n>_GATEWAY, n a vNIC number)"),
        ("day0.txt", 4, "", "warning", "${not a token} (column 1) is not a token (a name of letters, digits and _): "
                                       "left as written"),
        ("image_properties.xml", 1, "/image_properties/bootstrap_file[3]", "error",
         "bootstrap file 'gone.txt' is not in the package"),
        ("image_properties.xml", 1, f"{cp}[2]", "warning",
         "custom_property 'UNUSED' is not used by any bootstrap file marked parse=\"true\""),
        ("image_properties.xml", 1, f"{cp}[3]/default", "error", "the default of 'MODE' must be one of a, b (got 'c')"),
        ("image_properties.xml", 1, f"{cp}[4]/default", "error",
         "the default of 'SITE_ID' must be an unsigned integer 0..4294967295 (got '-5')"),
        ("image_properties.xml", 1, f"{cp}[5]/default", "error",
         "the default of 'VBOND' must be an IPv4 address such as 192.0.2.10 (got '300.1.1.1')"),
        ("image_properties.xml", 1, f"{cp}[6]/default", "error",
         "the default of 'ENABLE_PASSWORD' must be one line of text, without line breaks or control characters"),
        ("plain.txt", 1, "", "warning", "uses ${HOSTNAME} but is not marked parse=\"true\" in image_properties.xml: "
                                        "its tokens are not substituted"),
    ]


def test_unused_tokens_are_not_judged_while_a_parsed_file_is_missing():
    properties = model(with_properties(prop("HOSTNAME")))
    assert [i.message for i in check_day0(properties, {})] == ["bootstrap file 'day0.txt' is not in the package"]


def test_a_multiline_password_default_is_an_error_that_does_not_show_it():
    properties, _ = parse_properties(with_properties(
        '<custom_property><name>ENABLE_PASSWORD</name><type>password</type><default>se\ncret</default>'
        '</custom_property>'))
    issues = check_day0(properties, {"day0.txt": "enable ${ENABLE_PASSWORD}\n"})
    assert [(i.severity, i.message) for i in issues] == [
        ("error", "the default of 'ENABLE_PASSWORD' must be one line of text, without line breaks or control "
                  "characters")]


def test_system_properties_are_declared_tokens():
    system = ("<system_generated_properties><system_property><name>HA_PEER</name><val>198.51.100.2</val>"
              "</system_property></system_generated_properties>")
    properties = model(with_properties(), system)
    assert check_day0(properties, {"day0.txt": "peer ${HA_PEER}\n"}) == []
    answer = render(properties, {"day0.txt": "peer ${HA_PEER}\n"}, {})
    assert answer["files"][0]["content"] == "peer 198.51.100.2\n"
    error = refusal(properties, {"day0.txt": "peer ${HA_PEER}\n"}, {"properties": {"HA_PEER": "x"}})
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/properties/HA_PEER", "HA_PEER is fixed by the package's system_generated_properties.xml")]


# deployment -------------------------------------------------------------------------------
def test_router_renders_with_the_default_profile_and_defaults():
    answer = render(model(samples.ROUTER_PROPERTIES), {"iosxe_config.txt": samples.ROUTER_CONFIG},
                    {"properties": {"HOSTNAME": "edge-1", "SSH_PASSWORD": "s3cret!", "SITE_ID": 7},
                     "nics": [ROUTER_NIC]})
    assert answer == {
        "profile": {"name": "small", "description": "2 vCPU, 4 GB", "vcpus": 2, "memory_mb": 4096,
                    "root_disk_mb": 8192},
        "files": [{"mountPoint": "iosxe_config.txt", "name": "iosxe_config.txt", "content": (
            "hostname edge-1\n"
            "license boot level ax\n"
            "username admin privilege 15 secret s3cret!\n"
            "interface GigabitEthernet1\n"
            " ip address 10.0.0.5 255.255.255.0\n"
            " no shutdown\n"
            "ip route 0.0.0.0 0.0.0.0 10.0.0.1\n"
            "! site 7 vbond 192.0.2.1\n")}],
    }


def test_every_payload_problem_at_once_with_its_pointer():
    error = refusal(model(samples.ROUTER_PROPERTIES), {"iosxe_config.txt": samples.ROUTER_CONFIG}, {
        "profile": "huge",
        "properties": {"SSH_PASSWORD": 12, "SITE_ID": "seven", "TECH_PACKAGE": "premium", "VBOND": "vbond.example",
                       "NICID_0_IP_ADDRESS": "10.0.0.9", "COLOUR": "blue"},
        "nics": [{"ip": "10.0.0.300", "netmask": "255.0.255.0", "gateway": "10.0.0.1", "mac": "x"}, "eth1"],
        "flavor": "small",
    })
    assert error.detail == "13 problems in the day-0 payload"
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/flavor", "unknown key (known: profile, properties, nics, vm)"),
        ("/nics/0/ip", "must be an IPv4 address such as 192.0.2.10 (got '10.0.0.300')"),
        ("/nics/0/mac", "unknown key (known: ip, netmask, gateway)"),
        ("/nics/0/netmask", "must be a netmask such as 255.255.255.0 or a prefix length 0..32 (got '255.0.255.0')"),
        ("/nics/1", "must be an object {ip, netmask, gateway}"),
        ("/profile", "no profile 'huge' in the package (profiles: small, medium)"),
        ("/properties/COLOUR", "not a custom_property of the package (properties: HOSTNAME, TECH_PACKAGE, "
                               "SSH_PASSWORD, SITE_ID, VBOND)"),
        ("/properties/HOSTNAME", "HOSTNAME (Host name) is mandatory and has no default: give a value"),
        ("/properties/NICID_0_IP_ADDRESS", "NICID_0_IP_ADDRESS is filled by the platform from /nics/0/ip"),
        ("/properties/SITE_ID", "SITE_ID must be an unsigned integer 0..4294967295 (got 'seven')"),
        ("/properties/SSH_PASSWORD", "must be a string (got int)"),
        ("/properties/TECH_PACKAGE", "TECH_PACKAGE must be one of ax, security, ipbase, appx (got 'premium')"),
        ("/properties/VBOND", "VBOND must be an IPv4 address such as 192.0.2.10 (got 'vbond.example')"),
    ]


def test_nics_the_config_needs_must_be_given():
    error = refusal(model(samples.ROUTER_PROPERTIES), {"iosxe_config.txt": samples.ROUTER_CONFIG},
                    {"properties": {"HOSTNAME": "r", "SSH_PASSWORD": "p"}, "nics": [{"ip": "10.0.0.5"}]})
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/nics/0/gateway", "required: ${NICID_0_GATEWAY} is used by iosxe_config.txt line 7"),
        ("/nics/0/netmask", "required: ${NICID_0_NETMASK} is used by iosxe_config.txt line 5"),
    ]


def test_a_gateway_outside_the_subnet_and_too_many_nics():
    properties = model(samples.ROUTER_PROPERTIES)
    nics = [{"ip": "10.0.0.5", "netmask": 24, "gateway": "10.0.1.1"}] + [{}] * 8
    error = refusal(properties, {"iosxe_config.txt": samples.ROUTER_CONFIG},
                    {"properties": {"HOSTNAME": "r", "SSH_PASSWORD": "p"}, "nics": nics})
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/nics/0/gateway", "gateway 10.0.1.1 is outside the nic's subnet 10.0.0.0/24"),
        ("/nics/8", "the package allows at most 8 vNICs (vnic_max), got 9"),
    ]


def test_firewall_needs_every_mandatory_token():
    properties = model(samples.FIREWALL_PROPERTIES)
    error = refusal(properties, {"init-cfg.txt": samples.FIREWALL_CONFIG}, {"properties": {"HOSTNAME": "fw-1"}})
    assert [e.pointer for e in error.errors] == [
        "/properties/DNS_SERVER", "/properties/GATEWAY", "/properties/IP_ADDRESS", "/properties/NETMASK",
        "/properties/PANORAMA_SERVER", "/properties/VM_AUTH_KEY"]
    values = {"VM_AUTH_KEY": "0123456789", "HOSTNAME": "fw-1", "PANORAMA_SERVER": "192.0.2.50",
              "IP_ADDRESS": "192.0.2.10", "NETMASK": "255.255.255.0", "GATEWAY": "192.0.2.1",
              "DNS_SERVER": "192.0.2.53"}
    answer = render(properties, {"init-cfg.txt": samples.FIREWALL_CONFIG}, {"properties": values})
    (file,) = answer["files"]
    assert file["mountPoint"] == "/config/init-cfg.txt" and answer["profile"]["name"] == "fw-2"
    assert "ip-address=192.0.2.10\n" in file["content"] and "${" not in file["content"]


def test_cache_chooses_among_three_profiles_and_keeps_unparsed_files():
    properties = model(samples.CACHE_PROPERTIES)
    files = {"ovf-env.xml": samples.CACHE_OVF_ENV}
    assert render(properties, files, {})["profile"]["name"] == "cache-750"
    answer = render(properties, files, {"profile": "cache-1300"})
    assert answer["profile"] == {"name": "cache-1300", "description": None, "vcpus": 8, "memory_mb": 16384,
                                 "root_disk_mb": 20480}
    assert answer["files"] == [{"mountPoint": "ovf-env.xml", "name": "ovf-env.xml", "content": samples.CACHE_OVF_ENV}]


def test_nocloud_renders_platform_prefix():
    answer = render(model(samples.NOCLOUD_PROPERTIES), {"cloud-config.yaml": samples.NOCLOUD_USER_DATA},
                    {"nics": [{"ip": "192.0.2.7", "netmask": "/26"}]})
    assert answer["profile"] is None
    assert answer["files"][0]["content"].endswith("hostname: probe-1\nwrite_files:\n  - path: /etc/probe/address\n"
                                                  "    content: 192.0.2.7/26\n")


def test_a_profile_is_required_without_default_profile():
    text = samples.CACHE_PROPERTIES.replace("<default_profile>cache-750</default_profile>", "")
    error = refusal(model(text), {"ovf-env.xml": samples.CACHE_OVF_ENV}, {})
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/profile", "a profile is required: the package has no default_profile (profiles: cache-200, cache-750, "
                     "cache-1300)")]


@pytest.mark.parametrize("payload, pointer", [([], ""), ({"properties": []}, "/properties"),
                                              ({"nics": {}}, "/nics"), ({"vm": 5}, "/vm"), ({"profile": 3}, "/profile")])
def test_malformed_payloads(payload, pointer):
    error = refusal(model(samples.CACHE_PROPERTIES), {"ovf-env.xml": samples.CACHE_OVF_ENV}, payload)
    assert [e.pointer for e in error.errors] == [pointer]


def test_a_broken_contract_refuses_rendering():
    properties = model(with_properties())
    error = refusal(properties, {"day0.txt": "${NOPE}\n"}, {})
    assert error.detail == "the day-0 declarations of package x have 1 problem"
    assert error.errors[0].file == "day0.txt"


def test_controller_and_vm_choose_the_files():
    text = with_properties(
        prop("controller", "selection", values=("vManage", "non-vManage"), default="non-vManage"),
        '<custom_property mandatory="true" controller="vManage"><name>OTP</name><type>string</type></custom_property>',
        files='<bootstrap_file parse="true" controller="vManage" mnt_pnt="/ciscosdwan_cloud_init.cfg">sdwan.cfg'
              '</bootstrap_file>'
              '<bootstrap_file parse="true" controller="non-vManage" mnt_pnt="/ciscosdwan_cloud_init.cfg">plain.cfg'
              '</bootstrap_file>'
              '<bootstrap_file vm="1" mnt_pnt="/peer.cfg">peer.cfg</bootstrap_file>')
    properties = model(text)
    files = {"sdwan.cfg": "otp ${OTP} ${controller}\n", "plain.cfg": "mode ${controller}\n", "peer.cfg": "peer\n"}
    assert [f["name"] for f in render(properties, files, {})["files"]] == ["plain.cfg"]
    error = refusal(properties, files, {"properties": {"controller": "vManage"}})
    assert [e.pointer for e in error.errors] == ["/properties/OTP"]  # mandatory only for vManage
    answer = render(properties, files, {"properties": {"controller": "vManage", "OTP": "abc"}, "vm": 1})
    assert [(f["name"], f["content"]) for f in answer["files"]] == [("sdwan.cfg", "otp abc vManage\n"),
                                                                    ("peer.cfg", "peer\n")]
    assert deployment_controller(properties, {"properties": {"controller": "VMANAGE"}}) == "vManage"


def test_optional_tokens_without_value_render_empty():
    properties = model(with_properties(prop("DOMAIN")))
    assert render(properties, {"day0.txt": "domain ${DOMAIN};\n"}, {})["files"][0]["content"] == "domain ;\n"


SECRET = "Sup3r-S3cret\x07"


def test_secrets_never_appear_in_findings_exceptions_or_problems():
    properties = model(samples.ROUTER_PROPERTIES.replace("<name>VBOND</name>\n    <type>ipv4</type>",
                                                         "<name>VBOND_AUTH_KEY</name>\n    <type>uint</type>")
                       .replace("vbond ${VBOND}", "").replace("<default>192.0.2.1</default>", ""))
    config = samples.ROUTER_CONFIG.replace("${VBOND}", "${VBOND_AUTH_KEY}")
    error = refusal(properties, {"iosxe_config.txt": config},
                    {"properties": {"HOSTNAME": "r", "SSH_PASSWORD": SECRET, "VBOND_AUTH_KEY": "Sup3r-S3cret"},
                     "nics": [ROUTER_NIC]})
    shown = json.dumps(error.to_problem()) + str(error) + repr(error) + "".join(str(e) for e in error.errors)
    assert "Sup3r" not in shown
    assert [(e.pointer, e.message) for e in error.errors] == [
        ("/properties/SSH_PASSWORD", "SSH_PASSWORD must be one line of text, without line breaks or control "
                                     "characters"),
        ("/properties/VBOND_AUTH_KEY", "VBOND_AUTH_KEY must be an unsigned integer 0..4294967295 (got (a secret, "
                                       "not shown))"),
    ]
