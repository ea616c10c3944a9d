"""SONATA .son and 5GTANGO .tgo packages and lone function descriptors (our own look-alikes)
onboarded through both APIs onto the local VIM, images verified while they stream, broken and
hostile ones refused with every finding, and the offline validator."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
import yaml
from requests_toolbelt import MultipartEncoder

from tests import sonata_builder as build
from tests.integration.harness import NFVO, assert_problem, embedded_nfvo
from tests.integration.servers import serve_http
from tests.integration.test_vnfpkgm import BASE, create, vim_images, wait_onboarding

pytestmark = pytest.mark.integration

VNFD = "function_descriptors/iperf-vnfd.yml"
IMAGE = "images/iperf-vm.raw"


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("sonata")) as node:
        yield node


def post(nfvo, path, media_type="application/zip"):
    with open(path, "rb") as f:
        body = MultipartEncoder({"file": (path.name, f, media_type)})
        return nfvo.api.request("POST", "/api/v1/vnf-packages", data=body, headers={"Content-Type": body.content_type})


def with_image(name: str, image: bytes) -> dict[str, bytes]:
    """The example renamed, carrying ``image`` as its VM image."""
    return {**build.renamed(build.example_files(), name), IMAGE: image}


def test_a_son_package_onboards_through_the_open_baton_api(nfvo, tmp_path):
    image = b"son image " * 1000
    answer = post(nfvo, build.son(tmp_path / "iperf.son", with_image("son-iperf", image), name="son-pkg"))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert (vnfd["name"], vnfd["vendor"], vnfd["version"]) == ("son-iperf", "dev.nfvo.examples", "0.1")
    assert vnfd["vdu"][0]["vm_image"] == ["son-iperf-0.1-vdu01"]
    assert vnfd["deployment_flavour"] == [{"flavour_key": "son-iperf-0.1-vdu01", "vcpus": 1, "ram": 512, "disk": 1,
                                           "id": vnfd["deployment_flavour"][0]["id"]}]
    # the descriptor as written, no Open Baton entity ids added to it
    assert vnfd["sonata"] == yaml.safe_load(build.renamed(build.example_files(), "son-iperf")[VNFD])
    assert [w["pointer"] for w in vnfd["warnings"]] == ["/package_content"]  # MD5 is weak
    [on_vim] = [i for i in vim_images(nfvo) if i["name"] == "son-iperf-0.1-vdu01"]
    assert on_vim["sha256"] == hashlib.sha256(image).hexdigest()
    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["metadata"]["kind"] == "son"
    assert package["metadata"]["services"] == ["dev.nfvo.examples/iperf-service/0.1"]


def test_a_tgo_package_onboards_through_sol005_and_its_content_downloads(nfvo, tmp_path):
    image = b"tgo image " * 1000
    path = build.tgo(tmp_path / "iperf.tgo", with_image("tgo-iperf", image), name="tgo-pkg")
    package = create(nfvo)
    with open(path, "rb") as f:
        put = nfvo.api.request("PUT", f"{BASE}/{package['id']}/package_content", data=f,
                               headers={"Content-Type": "application/zip"})
    assert put.status_code == 202, put.text
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED" and info["operationalState"] == "ENABLED", info
    assert "tgo-iperf-0.1-vdu01" in {i["name"] for i in vim_images(nfvo)}
    content = nfvo.api.get(f"{BASE}/{package['id']}/package_content")
    assert content.status_code == 200 and content.content == path.read_bytes()


def test_a_package_with_two_functions_gives_two_vnfds(nfvo, tmp_path):
    files = with_image("first-fn", b"first " * 500)
    second = yaml.safe_load(files[VNFD])
    second["name"] = "second-fn"
    files["function_descriptors/second-vnfd.yml"] = yaml.safe_dump(second).encode()
    answer = post(nfvo, build.son(tmp_path / "two.son", files, name="two-fn"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["name"] == "first-fn"  # the package's own VNFD: its first function
    listed = {v["name"] for v in nfvo.api.get("/api/v1/vnf-descriptors").json()}
    assert {"first-fn", "second-fn"} <= listed


def test_an_image_that_differs_from_its_md5_is_refused_and_leaves_no_image(nfvo, tmp_path):
    files = with_image("changed-iperf", b"original image " * 100)
    manifest = build.son_manifest(files, name="changed")
    files[IMAGE] = files[IMAGE][::-1]
    before = {i["id"] for i in vim_images(nfvo)}
    problem = assert_problem(post(nfvo, build.write_zip(tmp_path / "c.son", {**files, build.MANIFEST: manifest})), 422)
    assert any(e.get("file") == build.MANIFEST and e.get("line") and "has md5" in e["message"]
               for e in problem["errors"]), problem
    assert {i["id"] for i in vim_images(nfvo)} == before


def test_a_broken_package_reports_every_finding_at_once(nfvo, tmp_path):
    files = build.renamed(build.example_files(), "broken-iperf")
    data = yaml.safe_load(files[VNFD])
    data["virtual_deployment_units"][0]["resource_requirements"]["cpu"]["vcpus"] = "two"
    data["deployment_flavours"] = [{"flavour_key": "gold", "vdu_reference": ["vdu99"]}]
    files[VNFD] = yaml.safe_dump(data, sort_keys=False).encode()
    problem = assert_problem(post(nfvo, build.son(tmp_path / "b.son", files, name="broken")), 422)
    errors = {(e["file"], e["pointer"]) for e in problem["errors"] if e["severity"] == "error"}
    assert errors == {(VNFD, "/virtual_deployment_units/0/resource_requirements/cpu/vcpus"),
                      (VNFD, "/deployment_flavours/0/vdu_reference/0")}, problem
    assert all(e.get("line") for e in problem["errors"] if e.get("file") == VNFD)


@pytest.mark.parametrize("name, member, data", [
    ("bomb", VNFD, b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"),
    ("traversal", "../escape.yml", b"x: 1"),
    ("absolute", "/etc/escape.yml", b"x: 1"),
])
def test_hostile_packages_are_refused(nfvo, tmp_path, name, member, data):
    files = {**build.renamed(build.example_files(), f"hostile-{name}"), member: data}
    answer = post(nfvo, build.son(tmp_path / f"{name}.son", files, name=f"hostile-{name}"))
    problem = assert_problem(answer, 422)
    assert problem["errors"], problem
    assert nfvo.api.get("/api/v1/vnf-packages").status_code == 200  # the service keeps running


def test_a_lone_descriptor_onboards_with_an_image_behind_a_verified_link(nfvo, tmp_path):
    image = b"linked image " * 2000
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "lone.raw").write_bytes(image)
    with serve_http(tmp_path / "served") as url:
        data = yaml.safe_load(build.example_files()[VNFD])
        data["name"] = "lone-iperf"
        data["virtual_deployment_units"][0].update(vm_image=f"{url}/lone.raw", vm_image_md5=hashlib.md5(image).hexdigest())
        path = tmp_path / "lone-vnfd.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        answer = post(nfvo, path, "application/yaml")
        assert answer.status_code == 200, answer.text
        [on_vim] = [i for i in vim_images(nfvo) if i["name"] == "lone-iperf-0.1-vdu01"]
        assert on_vim["sha256"] == hashlib.sha256(image).hexdigest()
        # a wrong vm_image_md5 refuses it before any VIM sees the bytes, at the digest's line
        data.update(name="lone-wrong")
        data["virtual_deployment_units"][0]["vm_image_md5"] = "0" * 32
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        problem = assert_problem(post(nfvo, path, "application/yaml"), 422)
        assert any(e.get("pointer") == "/virtual_deployment_units/0/vm_image_md5" and e.get("line")
                   for e in problem["errors"]), problem
    assert "lone-wrong-0.1-vdu01" not in {i["name"] for i in vim_images(nfvo)}


def test_validate_offline_reads_both_packages_and_lists_findings(tmp_path):
    good = subprocess.run([str(NFVO), "package", "validate", str(build.tgo(tmp_path / "ok.tgo"))],
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "is a valid 5GTANGO package" in good.stdout
    files = build.example_files()
    files[VNFD] = files[VNFD].replace(b"vdu01:mgmt", b"vdu01:nowhere").replace(b'vcpus: 1', b'vcpus: 0')
    bad = build.son(tmp_path / "bad.son", files)
    shown = subprocess.run([str(NFVO), "package", "validate", str(bad)], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 1, shown.stdout
    lines = shown.stdout.splitlines()
    assert any(line.strip().startswith(f"{VNFD}:") and "/resource_requirements/cpu/vcpus: must be" in line
               for line in lines), shown.stdout
    assert any("/virtual_links/0/connection_points_reference/0: warning: 'vdu01:nowhere' names no connection point"
               in line for line in lines), shown.stdout


def nsds_of(nfvo, package_id: str) -> list[dict]:
    return [n for n in nfvo.api.get("/api/v1/ns-descriptors").json() if n.get("vnfPackageId") == package_id]


def test_the_service_of_a_package_becomes_its_nsd_and_goes_with_it(nfvo, tmp_path):
    answer = post(nfvo, build.son(tmp_path / "svc.son", with_image("svc-iperf", b"svc " * 900), name="svc-pkg"))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    package_id = vnfd["vnfPackageLocation"]
    [nsd] = nsds_of(nfvo, package_id)
    assert (nsd["name"], nsd["vendor"], nsd["version"]) == ("iperf-service", "dev.nfvo.examples", "0.1")
    assert [v["id"] for v in nsd["vnfd"]] == [vnfd["id"]]
    assert nsd["sonata"]["network_functions"][0]["vnf_name"] == "svc-iperf"
    # its own NSD does not make the package "in use"; another NSD that uses its VNFD does
    assert nfvo.api.get(f"{BASE}/{package_id}").json()["usageState"] == "NOT_IN_USE"
    other = nfvo.api.post_json("/api/v1/ns-descriptors", {"name": "user", "vendor": "t", "version": "1",
                                                          "vnfd": [{"id": vnfd["id"]}]})
    assert other.status_code == 201, other.text
    assert nfvo.api.get(f"{BASE}/{package_id}").json()["usageState"] == "IN_USE"
    refused = assert_problem(nfvo.api.delete(f"/api/v1/vnf-packages/{package_id}"), 409)
    assert other.json()["id"] in refused["detail"] and nsd["id"] not in refused["detail"]
    assert nfvo.api.delete(f"/api/v1/ns-descriptors/{other.json()['id']}").status_code == 204
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{package_id}").status_code == 204
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{nsd['id']}").status_code == 404


def test_a_service_naming_a_function_nowhere_onboards_without_its_nsd(nfvo, tmp_path):
    files = with_image("lonely-iperf", b"lonely " * 900)
    nsd = "service_descriptors/iperf-nsd.yml"
    files[nsd] = files[nsd].replace(b'vnf_vendor: "dev.nfvo.examples"', b'vnf_vendor: "Tango"')
    answer = post(nfvo, build.son(tmp_path / "lonely.son", files, name="lonely-pkg"))
    assert answer.status_code == 200, answer.text
    [warning] = [w for w in answer.json()["warnings"] if "was not created" in w["message"]]
    assert (warning["file"], warning["pointer"], warning["severity"]) == (nsd, "/network_functions/0", "warning")
    assert warning["line"] and "Tango/lonely-iperf/0.1" in warning["message"]
    assert nsds_of(nfvo, answer.json()["vnfPackageLocation"]) == []


def test_a_sonata_service_descriptor_is_an_nsd_of_the_catalogue(nfvo, tmp_path):
    assert post(nfvo, build.son(tmp_path / "cat.son", with_image("cat-iperf", b"cat " * 900), name="cat-pkg")).ok
    text = build.example_files()["service_descriptors/iperf-nsd.yml"].decode().replace('"iperf-vnf"', '"cat-iperf"')
    created = nfvo.api.request("POST", "/api/v1/ns-descriptors", data=text.replace('"iperf-service"', '"cat-svc"'),
                               headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201, created.text
    assert created.json()["vnfd"][0]["name"] == "cat-iperf" and "vnfPackageId" not in created.json()
    missing = nfvo.api.request("POST", "/api/v1/ns-descriptors", data=text.replace('"cat-iperf"', '"no-such-fn"'),
                               headers={"Content-Type": "application/yaml"})
    problem = assert_problem(missing, 422)
    [error] = problem["errors"]
    assert error["pointer"] == "/network_functions/0/vnf_name" and error["line"] == 12, error
    bomb = nfvo.api.request("POST", "/api/v1/ns-descriptors", data="a: &a [1]\nb: *a\n",
                            headers={"Content-Type": "application/yaml"})
    assert_problem(bomb, 422)
