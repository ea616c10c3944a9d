"""SONATA / 5GTANGO descriptors and packages: every finding at once, at its file, line and pointer,
with the severities the SONATA tools' own examples call for."""

from __future__ import annotations

import copy
import hashlib

import pytest
import yaml

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.csar_zip import CsarArchive
from nfvo.domain.sonata.functions import read_function
from nfvo.domain.sonata.package import read_descriptor, read_package
from nfvo.domain.sonata.services import read_service
from nfvo.domain.sources import load_yaml
from nfvo.errors import UnsafeArchive, ValidationFailed
from tests import sonata_builder as build

VNFD = "function_descriptors/iperf-vnfd.yml"
NSD = "service_descriptors/iperf-nsd.yml"


def vnfd(**changes) -> dict:
    data = yaml.safe_load(build.example_files()[VNFD])
    data.update(changes)
    return data


def check(data: dict, name: str = "vnfd.yml"):
    return read_function(load_yaml(yaml.safe_dump(data, sort_keys=False), name))


def errors(issues):
    return {(i.pointer, i.message) for i in issues if not i.is_warning}


def open_package(path):
    return CsarArchive.open(path, ArchiveLimits(), display_name=path.name)


def test_the_example_function_is_valid_with_its_units_and_sizes():
    function, issues = check(vnfd())
    assert issues == []
    assert function.identity == ("dev.nfvo.examples", "iperf-vnf", "0.1")
    [unit] = function.units
    assert (unit.id, unit.vcpus, unit.ram, unit.disk, unit.image) == ("vdu01", 1, 512, 1, "images/iperf-vm.raw")


def test_what_the_sonata_examples_do_is_a_warning_not_an_error():
    """Connection points typed ``interface`` without ``interface:``, ids like ``vdu01:cp01`` and
    references to ``vnf:mgmt``: the public schema forbids them, SONATA's own packages use them."""
    data = vnfd()
    data["virtual_deployment_units"][0]["connection_points"] = [{"id": "vdu01:cp01", "type": "interface"}]
    data["connection_points"] = [{"id": "mgmt", "type": "interface"}, {"id": "data", "type": "interface"}]
    data["virtual_links"] = [{"id": "mgmt", "connectivity_type": "E-LAN",
                              "connection_points_reference": ["vdu01:cp01", "vnf:mgmt"]},
                             {"id": "one-ended", "connectivity_type": "E-Line", "connection_points_reference": ["data"]}]
    data["monitoring_rules"] = []
    data["vendor_extension"] = True
    function, issues = check(data)
    assert function is not None and errors(issues) == set(), issues
    warned = {i.pointer for i in issues}
    assert "/virtual_links/1/connection_points_reference" in warned  # the schema meant at least two
    assert "/vendor_extension" in warned


def test_every_broken_reference_and_value_is_reported_at_once():
    data = vnfd(vendor="Bad Vendor!")
    unit = data["virtual_deployment_units"][0]
    unit["resource_requirements"]["cpu"]["vcpus"] = 0
    unit["vm_image_md5"] = "not-md5"
    data["virtual_deployment_units"].append({**copy.deepcopy(unit), "connection_points": []})  # the same id twice
    data["virtual_links"][1]["connection_points_reference"] = ["vdu01:data", "vdu09:data"]
    data["deployment_flavours"] = [{"flavour_key": "gold", "vdu_reference": ["vdu02"]}]
    data["lifecycle_events"] = [{"vnf_container": "vdu03", "events": {"start": {"command": "go"}}}]
    data["monitoring_rules"][0]["condition"] = "vdu01:mem_used > 1 or vdu07:cpu > 2"
    _, issues = check(data)
    found = errors(issues)
    pointers = {p for p, _ in found}
    assert {"/vendor", "/virtual_deployment_units/0/resource_requirements/cpu/vcpus",
            "/virtual_deployment_units/0/vm_image_md5", "/virtual_deployment_units/1/id",
            "/deployment_flavours/0/vdu_reference/0", "/lifecycle_events/0/vnf_container",
            "/monitoring_rules/0/condition"} <= pointers, found
    # a link to no connection point: SONATA's tools accept it (real packages hold such links)
    [dangling] = [i for i in issues if i.pointer == "/virtual_links/1/connection_points_reference/1"]
    assert dangling.is_warning and "'vdu09:data' names no connection point" in dangling.message
    messages = " ".join(m for _, m in found)
    assert "'vdu01:mem_used' names no monitoring parameter of 'vdu01' (it has: vm_cpu_perc)" in messages
    assert "'vdu07:cpu' names no deployment unit" in messages
    assert all(i.line for i in issues), issues


def test_a_5gtango_function_with_cloud_native_units_is_valid():
    data = {"descriptor_schema": "https://example.org/vnfd-schema.yml", "vendor": "dev.nfvo", "name": "cn",
            "version": "1.0", "cloudnative_deployment_units": [
                {"id": "cdu01", "image": "registry.example.org/cn:1.0",
                 "connection_points": [{"id": "http", "port": 80}]}],
            "connection_points": [{"id": "web", "interface": "ipv4", "type": "external"}],
            "virtual_links": [{"id": "web", "connectivity_type": "E-LAN",
                               "connection_points_reference": ["cdu01:http", "web"]}]}
    function, issues = check(data)
    assert errors(issues) == set() and function.units[0].kind == "container"


def test_a_function_without_identity_or_units_is_refused():
    function, issues = check({"descriptor_version": "1", "name": "x"})
    assert function is None
    assert {"/vendor", "/version", "/virtual_deployment_units"} <= {p for p, _ in errors(issues)}


def test_service_references_resolve_against_the_functions_it_names():
    doc = load_yaml(build.example_files()[NSD].decode(), NSD)
    known = {("dev.nfvo.examples", "iperf-vnf", "0.1"): ("mgmt", "data")}
    service, issues = read_service(doc, known)
    assert issues == [] and service.functions[0].identity == ("dev.nfvo.examples", "iperf-vnf", "0.1")
    data = yaml.safe_load(build.example_files()[NSD])
    data["virtual_links"][0]["connection_points_reference"] = ["vnf_iperf:nope", "vnf_other:mgmt", "nowhere"]
    data["network_functions"].append(dict(data["network_functions"][0]))
    data["forwarding_graphs"] = [{"fg_id": "fg", "constituent_vnfs": ["vnf_x"], "constituent_virtual_links": ["y"]}]
    data["virtual_links"][1]["connection_points_reference"] = ["input  ", "vnf_iperf:data"]
    _, issues = read_service(load_yaml(yaml.safe_dump(data), NSD), known)
    assert {p for p, _ in errors(issues)} == {"/network_functions/1/vnf_id", "/forwarding_graphs/0/constituent_vnfs/0",
                                              "/forwarding_graphs/0/constituent_virtual_links/0"}
    warned = {i.pointer: i.message for i in issues if i.is_warning}
    assert set(warned) == {f"/virtual_links/0/connection_points_reference/{j}" for j in range(3)} | {
        "/virtual_links/1/connection_points_reference/0"}
    assert "'vnf_iperf:nope' names no connection point" in warned["/virtual_links/0/connection_points_reference/0"]
    assert "blanks around" in warned["/virtual_links/1/connection_points_reference/0"]


def test_a_son_package_reads_with_its_digests_and_a_weak_hash_warning(tmp_path):
    with open_package(build.son(tmp_path / "p.son")) as archive:
        package = read_package(archive)
    assert (package.kind, package.name, len(package.functions), len(package.services)) == ("son", "sonata-iperf", 1, 1)
    [image] = package.images
    assert image.file == "images/iperf-vm.raw" and image.upload == "true"
    assert package.expected["images/iperf-vm.raw"] == {"md5": hashlib.md5(build.example_files()[image.file]).hexdigest()}
    assert [w.pointer for w in package.warnings] == ["/package_content"]


def test_a_tgo_package_reads_with_sha256(tmp_path):
    with open_package(build.tgo(tmp_path / "p.tgo")) as archive:
        package = read_package(archive)
    assert package.kind == "tgo" and package.warnings == ()
    assert set(package.expected["images/iperf-vm.raw"]) == {"sha256"}


def test_a_changed_descriptor_missing_and_unlisted_files_are_all_reported(tmp_path):
    files = build.example_files()
    manifest = build.son_manifest(files)
    files[VNFD] += b"# changed after packaging\n"
    files["extra/notes.txt"] = b"not listed"
    del files[NSD]
    path = build.write_zip(tmp_path / "p.son", {**files, build.MANIFEST: manifest})
    with open_package(path) as archive, pytest.raises(ValidationFailed) as failed:
        read_package(archive)
    found = {(i.file, i.severity, i.message.split(",")[0]) for i in failed.value.errors}
    assert ("META-INF/MANIFEST.MF", "error", "lists service_descriptors/iperf-nsd.yml") in found
    assert ("extra/notes.txt", "warning", "not listed in META-INF/MANIFEST.MF: nothing checks its bytes") in found
    # a descriptor whose MD5 is wrong is read, with a warning: SONATA's packager listed wrong ones
    [changed] = [i for i in failed.value.errors if "has md5" in i.message]
    assert changed.is_warning and changed.file == "META-INF/MANIFEST.MF" and changed.line


def test_a_changed_descriptor_of_a_tgo_package_is_an_error(tmp_path):
    files = build.tgo_files(build.example_files())
    files[VNFD] += b"# changed after packaging\n"
    with open_package(build.write_zip(tmp_path / "p.tgo", files)) as archive, \
            pytest.raises(ValidationFailed) as failed:
        read_package(archive)
    [changed] = [i for i in failed.value.errors if "has sha256" in i.message]
    assert not changed.is_warning and changed.file == build.NAPD


def test_the_manifest_identity_in_either_spelling(tmp_path):
    files = build.example_files()
    modern = yaml.safe_load(build.son_manifest(files))
    for old, new in (("package_vendor", "vendor"), ("package_name", "name"), ("package_version", "version")):
        modern[new] = modern.pop(old)
    path = build.write_zip(tmp_path / "p.son", {**files, build.MANIFEST: yaml.safe_dump(modern).encode()})
    with open_package(path) as archive:
        assert read_package(archive).name == "sonata-iperf"


def test_a_5gtango_image_reference_becomes_a_verified_link(tmp_path):
    files = build.example_files()
    files[VNFD] = files[VNFD].replace(b'vm_image: "images/iperf-vm.raw"', b'vm_image: "dev.nfvo.iperf-image.1.0"')
    del files["images/iperf-vm.raw"]
    files["Images/iperf-image.ref"] = yaml.safe_dump({
        "vendor": "dev.nfvo", "name": "iperf-image", "version": "1.0", "proto": "http",
        "source": "https://images.example.org/iperf.qcow2", "algorithm": "SHA-256", "hash": "AB" * 32}).encode()
    packed = build.tgo_files(files)
    packed[build.NAPD] = packed[build.NAPD].replace(b"content-type: text/plain", b"content-type: application/vnd.5gtango.ref")
    with open_package(build.write_zip(tmp_path / "p.tgo", packed)) as archive:
        [image] = read_package(archive).images
    assert (image.link, image.digest) == ("https://images.example.org/iperf.qcow2", ("sha256", "ab" * 32))
    assert image.source_file == "Images/iperf-image.ref" and image.digest_pointer == "/hash"


def test_an_unknown_algorithm_and_a_service_as_package_are_refused(tmp_path):
    files = build.tgo_files(build.example_files())
    files[build.NAPD] = files[build.NAPD].replace(b"algorithm: SHA-256", b"algorithm: CRC-32", 1)
    with open_package(build.write_zip(tmp_path / "p.tgo", files)) as archive, \
            pytest.raises(ValidationFailed) as failed:
        read_package(archive)
    assert any("unknown hash algorithm" in i.message for i in failed.value.errors)
    with pytest.raises(ValidationFailed, match="service descriptor"):
        read_descriptor(build.example_files()[NSD].decode(), "nsd.yml")


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",  # aliases: the root of every YAML bomb
    "[" * 10_000 + "]" * 10_000,
    "vendor: [unclosed\n",
])
def test_hostile_descriptors_are_refused_with_a_finding(text):
    with pytest.raises(ValidationFailed) as failed:
        read_descriptor(text, "vnfd.yml")
    assert failed.value.errors and failed.value.errors[0].file == "vnfd.yml"


def test_hostile_member_names_are_refused(tmp_path):
    files = {**build.example_files(), "../escape.yml": b"x"}
    with pytest.raises(UnsafeArchive):
        open_package(build.son(tmp_path / "p.son", files))


def test_a_lone_descriptor_takes_links_and_names():
    data = vnfd()
    data["virtual_deployment_units"][0]["vm_image"] = "https://images.example.org/iperf.qcow2"
    data["virtual_deployment_units"][0]["vm_image_md5"] = "0" * 32
    package = read_descriptor(yaml.safe_dump(data), "vnfd.yml")
    [image] = package.images
    assert image.link and image.digest == ("md5", "0" * 32) and image.digest_pointer.endswith("/vm_image_md5")
    data["virtual_deployment_units"][0].pop("vm_image")
    with pytest.raises(ValidationFailed, match="1 problem") as failed:
        read_descriptor(yaml.safe_dump(data), "vnfd.yml")
    assert failed.value.errors[0].pointer == "/virtual_deployment_units/0/vm_image"
