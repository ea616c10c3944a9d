"""ETSI SOL005 VNF package management (/vnfpkgm/v1) against a real embedded `nfvo serve`:
every endpoint, its errors, CSAR onboarding onto the local VIM, and both APIs seeing the same packages."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import zipfile
from pathlib import Path

import pytest
import requests

from tests.csar_builder import build, example_files, self_signed, sign_manifest, with_manifest
from tests.integration.harness import assert_problem, embedded_nfvo, make_tar
from tests.integration.harness import example_files as openbaton_files
from tests.integration.servers import basic_auth_required, serve_http

pytestmark = pytest.mark.integration

BASE = "/vnfpkgm/v1/vnf_packages"
EXAMPLE_ID = "5b2f3c3e-5d43-4b4e-9a8e-4f1c2d7e9a10"
PAGE_SIZE = 2


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("vnfpkgm"), NFVO_VNFPKGM_PAGE_SIZE=str(PAGE_SIZE)) as node:
        yield node


def csar_files(*, descriptor_id: str | None = None, single_file: bool = False,
               image: bytes | None = None) -> dict[str, bytes]:
    """The example CSAR's files with a fresh descriptor id (a vnfdId is onboarded once per project);
    ``single_file`` puts the VNF type into the entry definitions; ``image`` replaces the image bytes
    (and its sw_image_data checksum)."""
    files = example_files()
    types = files["Definitions/iperf_types.yaml"].decode().replace(EXAMPLE_ID, descriptor_id or str(uuid.uuid4()))
    server = files["Definitions/iperf_server.yaml"].decode()
    if image is not None:
        old = hashlib.sha256(files["Files/images/iperf-server.img"]).hexdigest()
        server = server.replace(old, hashlib.sha256(image).hexdigest()).replace("size: 1 KiB", f"size: {len(image)} B")
        files["Files/images/iperf-server.img"] = image
    if single_file:
        server = server.replace("  - iperf_types.yaml\n", "") + "\n" + types[types.index("node_types:"):]
        del files["Definitions/iperf_types.yaml"]
    else:
        files["Definitions/iperf_types.yaml"] = types.encode()
    files["Definitions/iperf_server.yaml"] = server.encode()
    return with_manifest(files)


def create(nfvo, user_data: dict | None = None) -> dict:
    answer = nfvo.api.post_json(BASE, {"userDefinedData": user_data or {}})
    assert answer.status_code == 201, answer.text
    return answer.json()


def put_content(nfvo, package_id: str, path: Path) -> requests.Response:
    with open(path, "rb") as f:  # streamed from the file
        return nfvo.api.request("PUT", f"{BASE}/{package_id}/package_content", data=f,
                                headers={"Content-Type": "application/zip"})


def wait_onboarding(nfvo, package_id: str, seconds: float = 120) -> dict:
    deadline, info = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        info = nfvo.api.get(f"{BASE}/{package_id}").json()
        if info["onboardingState"] in ("ONBOARDED", "ERROR"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"package {package_id} did not finish onboarding in {seconds} s: {info}")


def onboard(nfvo, tmp_path: Path, files: dict[str, bytes] | None = None, user_data: dict | None = None) -> dict:
    package = create(nfvo, user_data)
    path = build(tmp_path / f"{package['id']}.zip", files or csar_files())
    assert put_content(nfvo, package["id"], path).status_code == 202
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info
    return info


def local_vim(nfvo) -> dict:
    [vim] = [v for v in nfvo.api.get("/api/v1/datacenters").json() if v["name"] == "local"]
    return vim


def vim_images(nfvo) -> list[dict]:
    return nfvo.api.get(f"/api/v1/datacenters/{local_vim(nfvo)['id']}/images").json()


def patch(nfvo, package_id: str, body: dict) -> requests.Response:
    return nfvo.api.request("PATCH", f"{BASE}/{package_id}", data=json.dumps(body),
                            headers={"Content-Type": "application/merge-patch+json"})


# --- resource lifecycle -------------------------------------------------------------------


def test_create_show_modify_delete_a_package_without_content(nfvo):
    answer = nfvo.api.post_json(BASE, {"userDefinedData": {"owner": "lab", "keep": "x"}})
    assert answer.status_code == 201, answer.text
    info = answer.json()
    assert answer.headers["Location"] == info["_links"]["self"]["href"] == f"{nfvo.url}{BASE}/{info['id']}"
    assert (info["onboardingState"], info["operationalState"], info["usageState"]) == (
        "CREATED", "DISABLED", "NOT_IN_USE")
    assert info["userDefinedData"] == {"owner": "lab", "keep": "x"}
    assert info["_links"]["packageContent"]["href"].endswith(f"{info['id']}/package_content")
    assert nfvo.api.get(f"{BASE}/{info['id']}").json() == info

    assert_problem(patch(nfvo, info["id"], {"operationalState": "ENABLED"}), 409, "package-state-conflict")
    changed = patch(nfvo, info["id"], {"userDefinedData": {"owner": "ops", "keep": None, "new": 1}})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"userDefinedData": {"owner": "ops", "keep": None, "new": 1}}
    assert nfvo.api.get(f"{BASE}/{info['id']}").json()["userDefinedData"] == {"owner": "ops", "new": 1}
    assert_problem(patch(nfvo, info["id"], {"userDefinedData": {"owner": "ops"}}), 409, "no-change")
    bad = assert_problem(patch(nfvo, info["id"], {"operationalState": "ON", "extra": 1}), 422, "validation-failed")
    assert {e["pointer"] for e in bad["errors"]} == {"/operationalState", "/extra"}
    assert_problem(nfvo.api.request("GET", f"{BASE}/{info['id']}/package_content"), 409, "package-state-conflict")
    assert_problem(nfvo.api.request("GET", f"{BASE}/{info['id']}/vnfd", headers={"Accept": "text/plain"}), 409)

    assert nfvo.api.delete(f"{BASE}/{info['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"{BASE}/{info['id']}"), 404, "package-not-found")


def test_bad_create_bodies_name_the_field(nfvo):
    problem = assert_problem(nfvo.api.post_json(BASE, {"userDefinedData": {"vimTypes": "local"}}), 422,
                             "validation-failed")
    assert [e["pointer"] for e in problem["errors"]] == ["/userDefinedData/vimTypes"]
    problem = assert_problem(nfvo.api.post_json(BASE, {"userDefinedData": []}), 422, "validation-failed")
    assert problem["errors"][0]["pointer"].startswith("/userDefinedData")


# --- onboarding a CSAR and reading it back ------------------------------------------------


def test_upload_onboards_the_csar_and_serves_its_files(nfvo, tmp_path):
    images_before = {i["id"] for i in vim_images(nfvo)}
    descriptor_id = str(uuid.uuid4())
    files = csar_files(descriptor_id=descriptor_id, image=b"etsi image " * 300)
    path = build(tmp_path / "iperf.zip", files)
    package = create(nfvo)
    answer = put_content(nfvo, package["id"], path)
    assert answer.status_code == 202, answer.text
    assert_problem(put_content(nfvo, package["id"], path), 409, "package-state-conflict")
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info

    assert (info["vnfdId"], info["vnfProvider"], info["vnfProductName"], info["vnfSoftwareVersion"],
            info["vnfdVersion"]) == (descriptor_id, "FOKUS", "iperf-server", "3.9", "1.0")
    assert info["checksum"] == {"algorithm": "SHA-256", "hash": hashlib.sha256(path.read_bytes()).hexdigest()}
    [image] = info["softwareImages"]
    image_bytes = files["Files/images/iperf-server.img"]
    assert image["checksum"] == {"algorithm": "SHA-256", "hash": hashlib.sha256(image_bytes).hexdigest()}
    assert (image["name"], image["diskFormat"], image["imagePath"], image["size"]) == (
        "iperf_server_image", "RAW", "Files/images/iperf-server.img", len(image_bytes))
    assert [a["artifactPath"] for a in info["additionalArtifacts"]] == ["Files/ChangeLog.txt"]
    assert (info["operationalState"], info["usageState"]) == ("ENABLED", "NOT_IN_USE")  # onboarded: usable
    assert "_order" not in info and "_order" not in nfvo.api.get(BASE).json()[0]

    # the image went to the project's VIM, by the same pipeline as Open Baton packages
    new = [i for i in vim_images(nfvo) if i["id"] not in images_before]
    assert [i["sha256"] for i in new] == [hashlib.sha256(image_bytes).hexdigest()]

    # the same package through the Open Baton API
    ob = nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}").json()
    assert (ob["name"], ob["vendor"], ob["version"]) == ("iperf-server", "FOKUS", "3.9")
    assert [i["imageId"] for i in ob["images"]] == [new[0]["id"]]
    [vnfd] = [v for v in nfvo.api.get("/api/v1/vnf-descriptors").json() if v["vnfPackageLocation"] == package["id"]]
    assert vnfd["etsi"]["vnfdId"] == descriptor_id
    assert vnfd["vdu"][0]["vm_image"] == ["iperf_server_image"]

    # package content, whole and in ranges
    content = nfvo.api.get(f"{BASE}/{package['id']}/package_content")
    assert content.status_code == 200 and content.headers["Content-Type"] == "application/zip"
    assert content.content == path.read_bytes()
    part = nfvo.api.get(f"{BASE}/{package['id']}/package_content", headers={"Range": "bytes=10-19"})
    size = path.stat().st_size
    assert part.status_code == 206 and part.content == path.read_bytes()[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{size}"
    tail = nfvo.api.get(f"{BASE}/{package['id']}/package_content", headers={"Range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == path.read_bytes()[-5:]
    for bad in (f"bytes={size}-", "bytes=5-2", "pages=1-2"):
        answer = nfvo.api.get(f"{BASE}/{package['id']}/package_content", headers={"Range": bad})
        assert_problem(answer, 416, "range-not-satisfiable")
        assert answer.headers["Content-Range"] == f"bytes */{size}"

    # the VNFD: two files here, so only as a zip
    zipped = nfvo.api.get(f"{BASE}/{package['id']}/vnfd", headers={"Accept": "application/zip"})
    assert zipped.status_code == 200 and zipped.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        assert sorted(zf.namelist()) == ["Definitions/iperf_server.yaml", "Definitions/iperf_types.yaml",
                                         "TOSCA-Metadata/TOSCA.meta"]
        assert zf.read("Definitions/iperf_types.yaml") == files["Definitions/iperf_types.yaml"]
    assert_problem(nfvo.api.get(f"{BASE}/{package['id']}/vnfd", headers={"Accept": "text/plain"}), 406,
                   "not-acceptable")
    assert_problem(nfvo.api.get(f"{BASE}/{package['id']}/vnfd", headers={"Accept": "application/json"}), 406)

    # artifacts: any file of the package, nothing else
    log = nfvo.api.get(f"{BASE}/{package['id']}/artifacts/Files/ChangeLog.txt",
                       headers={"Accept": "application/json"})
    assert log.status_code == 200 and log.content == files["Files/ChangeLog.txt"]
    part = nfvo.api.get(f"{BASE}/{package['id']}/artifacts/Files/images/iperf-server.img",
                        headers={"Range": "bytes=3-"})
    assert part.status_code == 206 and part.content == image_bytes[3:]
    assert_problem(nfvo.api.get(f"{BASE}/{package['id']}/artifacts/Files/images/iperf-server.img",
                                headers={"Range": "bytes=99999-"}), 416)
    for missing in ("Files/nothing.txt", "Files", "Files/%2E%2E/iperf-server.mf", "Files//ChangeLog.txt",
                    "%2Fetc%2Fpasswd", "..%2F..%2Fnfvo.sqlite"):
        assert_problem(nfvo.api.get(f"{BASE}/{package['id']}/artifacts/{missing}"), 404)

    # enabled packages cannot go; disabled ones take their images with them
    assert_problem(patch(nfvo, package["id"], {"operationalState": "ENABLED"}), 409, "no-change")
    assert_problem(nfvo.api.delete(f"{BASE}/{package['id']}"), 409, "package-state-conflict")
    assert patch(nfvo, package["id"], {"operationalState": "DISABLED"}).json() == {"operationalState": "DISABLED"}
    assert patch(nfvo, package["id"], {"operationalState": "ENABLED"}).status_code == 200
    assert patch(nfvo, package["id"], {"operationalState": "DISABLED"}).status_code == 200
    assert nfvo.api.delete(f"{BASE}/{package['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}"), 404)
    assert {i["id"] for i in vim_images(nfvo)} == images_before


def test_a_single_file_vnfd_is_served_as_text_plain(nfvo, tmp_path):
    files = csar_files(single_file=True)
    info = onboard(nfvo, tmp_path, files)
    for accept in ("text/plain", "text/plain,application/zip"):
        answer = nfvo.api.get(f"{BASE}/{info['id']}/vnfd", headers={"Accept": accept})
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/plain"
        assert answer.content == files["Definitions/iperf_server.yaml"]
    zipped = nfvo.api.get(f"{BASE}/{info['id']}/vnfd", headers={"Accept": "application/zip"})
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as zf:
        assert sorted(zf.namelist()) == ["Definitions/iperf_server.yaml", "TOSCA-Metadata/TOSCA.meta"]


def test_a_wrong_hash_ends_in_error_with_details_and_leaves_no_image(nfvo, tmp_path):
    images_before = {i["id"] for i in vim_images(nfvo)}
    files = csar_files(image=b"the image the manifest describes " * 40)
    files["Files/images/iperf-server.img"] = b"other bytes " * 110  # after the manifest was written
    package = create(nfvo)
    assert put_content(nfvo, package["id"], build(tmp_path / "bad.zip", files)).status_code == 202
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ERROR"
    details = info["onboardingFailureDetails"]
    assert details["status"] == 422 and details["type"].endswith("/validation-failed")
    messages = " ".join(f"{e.get('file')}:{e.get('line')} {e['message']}" for e in details["errors"])
    assert "Files/images/iperf-server.img" in messages and "iperf-server.mf" in messages, details
    assert {i["id"] for i in vim_images(nfvo)} == images_before
    assert_problem(put_content(nfvo, package["id"], build(tmp_path / "again.zip", csar_files())), 409)
    assert_problem(nfvo.api.get(f"{BASE}/{package['id']}/package_content"), 409)
    assert nfvo.api.delete(f"{BASE}/{package['id']}").status_code == 204


def test_not_a_zip_ends_in_error_and_an_unlisted_file_is_a_warning(nfvo, tmp_path):
    package = create(nfvo)
    answer = nfvo.api.request("PUT", f"{BASE}/{package['id']}/package_content", data=b"not a zip at all",
                              headers={"Content-Type": "application/zip"})
    assert answer.status_code == 202
    details = wait_onboarding(nfvo, package["id"])["onboardingFailureDetails"]
    assert details["type"].endswith("/unsafe-archive"), details

    files = csar_files()
    files["Files/unlisted.txt"] = b"not in the manifest"
    package = create(nfvo)
    put_content(nfvo, package["id"], build(tmp_path / "unlisted.zip", files))
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ONBOARDED", info
    assert [(w["file"], w["severity"]) for w in info["warnings"]] == [("Files/unlisted.txt", "warning")]


def test_a_vim_selection_naming_no_vim_is_an_error(nfvo, tmp_path):
    package = create(nfvo, {"vimInstances": ["local", "nowhere"]})
    put_content(nfvo, package["id"], build(tmp_path / "p.zip", csar_files()))
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingState"] == "ERROR"
    assert [e["pointer"] for e in info["onboardingFailureDetails"]["errors"]] == ["/userDefinedData/vimInstances/1"]
    package = create(nfvo, {"vimTypes": ["openstack"]})
    put_content(nfvo, package["id"], build(tmp_path / "q.zip", csar_files()))
    info = wait_onboarding(nfvo, package["id"])
    assert info["onboardingFailureDetails"]["type"].endswith("/no-matching-vim"), info


def test_the_same_vnfd_id_is_onboarded_once_per_project(nfvo, tmp_path):
    descriptor_id = str(uuid.uuid4())
    first = onboard(nfvo, tmp_path, csar_files(descriptor_id=descriptor_id))
    second = create(nfvo)
    put_content(nfvo, second["id"], build(tmp_path / "again.zip", csar_files(descriptor_id=descriptor_id)))
    info = wait_onboarding(nfvo, second["id"])
    assert info["onboardingFailureDetails"]["type"].endswith("/duplicate-package")
    assert first["id"] in info["onboardingFailureDetails"]["detail"]


# --- upload from a URI ---------------------------------------------------------------------


def test_upload_from_uri_fetches_and_onboards(nfvo, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    build(site / "pkg.zip", csar_files())
    package = create(nfvo)
    with serve_http(site) as url:
        answer = nfvo.api.post_json(f"{BASE}/{package['id']}/package_content/upload_from_uri",
                                    {"addressInformation": f"{url}/pkg.zip"})
        assert answer.status_code == 202, answer.text
    assert wait_onboarding(nfvo, package["id"])["onboardingState"] == "ONBOARDED"


def test_upload_from_uri_with_credentials(nfvo, tmp_path):
    body = build(tmp_path / "pkg.zip", csar_files()).read_bytes()
    seen = []
    with serve_http(tmp_path, {"/private/pkg.zip": basic_auth_required("vendor", "s3cret-pw", body, seen)}) as url:
        package = create(nfvo)
        uri = f"{BASE}/{package['id']}/package_content/upload_from_uri"
        answer = nfvo.api.post_json(uri, {"addressInformation": f"{url}/private/pkg.zip", "userName": "vendor",
                                          "password": "s3cret-pw"})
        assert answer.status_code == 202, answer.text
        assert wait_onboarding(nfvo, package["id"])["onboardingState"] == "ONBOARDED"
        refused = create(nfvo)
        assert_problem(nfvo.api.post_json(f"{BASE}/{refused['id']}/package_content/upload_from_uri",
                                          {"addressInformation": f"{url}/private/pkg.zip", "userName": "vendor",
                                           "password": "wrong"}), 422, "fetch-failed")
    assert len(seen) == 2
    shown = json.dumps(nfvo.api.get(f"{BASE}/{package['id']}", params={"all_fields": ""}).json())
    assert "s3cret-pw" not in shown and "s3cret-pw" not in json.dumps(nfvo.api.get(f"{BASE}/{refused['id']}",
                                                                                  params={"all_fields": ""}).json())


def test_upload_from_uri_refuses_private_addresses_and_reports_failed_fetches(nfvo, tmp_path):
    package = create(nfvo)
    uri = f"{BASE}/{package['id']}/package_content/upload_from_uri"
    for link in ("http://169.254.169.254/latest/meta-data", "http://10.1.2.3/pkg.zip", "file:///etc/passwd"):
        assert_problem(nfvo.api.post_json(uri, {"addressInformation": link}), 422, "fetch-refused")
    assert nfvo.api.get(f"{BASE}/{package['id']}").json()["onboardingState"] == "CREATED"
    problem = assert_problem(nfvo.api.post_json(uri, {"addressInformation": "http://x", "userName": "u"}), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/password"]
    assert_problem(nfvo.api.post_json(uri, {}), 422, "validation-failed")

    with serve_http(tmp_path) as url:
        assert_problem(nfvo.api.post_json(uri, {"addressInformation": f"{url}/missing.zip"}), 422, "fetch-failed")
    info = nfvo.api.get(f"{BASE}/{package['id']}").json()
    assert info["onboardingState"] == "ERROR"
    assert info["onboardingFailureDetails"]["type"].endswith("/fetch-failed")


# --- listing: filters, selectors, pages ---------------------------------------------------


def test_list_filters_selects_attributes_and_pages(nfvo, tmp_path):
    mark = str(uuid.uuid4())
    created = [create(nfvo, {"mark": mark, "n": str(n)})["id"] for n in range(3)]
    onboarded = onboard(nfvo, tmp_path, user_data={"mark": mark, "n": "3"})
    query = f"(eq,userDefinedData/mark,{mark})"

    def all_pages(params: dict) -> list[dict]:
        items, url = [], f"{nfvo.url}{BASE}"
        while url:
            answer = nfvo.api.http.get(url, params=params, headers=nfvo.api.headers(), timeout=60)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()) <= PAGE_SIZE
            items += answer.json()
            params, url = None, answer.links.get("next", {}).get("url")
        return items

    listed = all_pages({"filter": query})
    assert [i["id"] for i in listed] == [*created, onboarded["id"]]
    assert all("userDefinedData" not in i and "softwareImages" not in i for i in listed)  # exclude_default
    assert all({"id", "onboardingState", "_links"} <= set(i) for i in listed)

    only = all_pages({"filter": f"{query};(eq,onboardingState,ONBOARDED)", "all_fields": ""})
    assert [i["id"] for i in only] == [onboarded["id"]]
    assert only[0]["softwareImages"][0]["name"] == "iperf_server_image"
    created_only = all_pages({"filter": f"{query};(neq,onboardingState,ONBOARDED);(in,userDefinedData/n,0,2)"})
    assert [i["id"] for i in created_only] == [created[0], created[2]]
    by_image = all_pages({"filter": f"{query};(cont,softwareImages/name,server_im)"})
    assert [i["id"] for i in by_image] == [onboarded["id"]]

    fields = all_pages({"filter": query, "fields": "softwareImages/name,userDefinedData"})
    assert fields[-1]["softwareImages"] == [{"name": "iperf_server_image"}]
    assert fields[-1]["userDefinedData"] == {"mark": mark, "n": "3"} and "checksum" not in fields[-1]
    excluded = all_pages({"filter": query, "exclude_fields": "softwareImages,_links"})
    assert "softwareImages" not in excluded[-1] and "_links" not in excluded[-1] and "checksum" in excluded[-1]

    for params, pointer in (({"filter": "(eq,noSuchAttribute,1)"}, "/filter"),
                            ({"filter": "(like,id,1)"}, "/filter"),
                            ({"filter": "eq,id,1"}, "/filter"),
                            ({"filter": "(gt,id,1,2)"}, "/filter"),
                            ({"fields": "bogus"}, "/fields"),
                            ({"all_fields": "", "exclude_fields": "checksum"}, "/exclude_fields"),
                            ({"nextpage_opaque_marker": "!!"}, "/nextpage_opaque_marker")):
        answer = nfvo.api.http.get(f"{nfvo.url}{BASE}", params=params, headers=nfvo.api.headers(), timeout=60)
        problem = assert_problem(answer, 400)
        assert [e["pointer"] for e in problem["errors"]][:1] == [pointer], problem
    problem = assert_problem(nfvo.api.http.get(f"{nfvo.url}{BASE}", params={"filter": "(eq,noSuchAttribute,1)"},
                                               headers=nfvo.api.headers(), timeout=60), 400, "bad-request")
    assert "noSuchAttribute" in problem["detail"] + json.dumps(problem["errors"])


# --- both APIs, usage, authentication ------------------------------------------------------


def test_open_baton_packages_appear_and_nsds_make_packages_in_use(nfvo, tmp_path):
    upload = nfvo.api.upload(make_tar(tmp_path / "iperf.tar", openbaton_files("iperf-server")))
    assert upload.status_code == 200, upload.text
    vnfd = upload.json()
    package_id = vnfd["vnfPackageLocation"]
    info = nfvo.api.get(f"{BASE}/{package_id}").json()
    assert (info["onboardingState"], info["operationalState"], info["usageState"], info["packageFormat"]) == (
        "ONBOARDED", "ENABLED", "NOT_IN_USE", "openbaton")
    assert info["vnfdId"] == vnfd["id"] and info["vnfProductName"] == vnfd["name"]
    text = nfvo.api.get(f"{BASE}/{package_id}/vnfd", headers={"Accept": "text/plain"})
    assert text.status_code == 200 and json.loads(text.text)["id"] == vnfd["id"]
    content = nfvo.api.get(f"{BASE}/{package_id}/package_content")
    assert content.headers["Content-Type"] == "application/x-tar" and content.content[257:262] == b"ustar"

    csar = onboard(nfvo, tmp_path)
    [csar_vnfd] = [v for v in nfvo.api.get("/api/v1/vnf-descriptors").json() if v["vnfPackageLocation"] == csar["id"]]
    nsd = nfvo.api.post_json("/api/v1/ns-descriptors", {
        "name": "mixed-ns", "vendor": "tests", "version": "1", "vnfd": [{"id": vnfd["id"]}, {"id": csar_vnfd["id"]}],
        "vld": [{"name": "private"}]})
    assert nsd.status_code == 201, nsd.text
    for pid in (package_id, csar["id"]):
        assert nfvo.api.get(f"{BASE}/{pid}").json()["usageState"] == "IN_USE"
    for pid in (package_id, csar["id"]):
        assert patch(nfvo, pid, {"operationalState": "DISABLED"}).status_code == 200
        assert_problem(nfvo.api.delete(f"{BASE}/{pid}"), 409, "in-use")
    listed = nfvo.api.http.get(f"{nfvo.url}{BASE}", params={"filter": "(eq,usageState,IN_USE)"},
                               headers=nfvo.api.headers(), timeout=60).json()
    assert {package_id, csar["id"]} <= {i["id"] for i in listed}

    assert nfvo.api.delete(f"/api/v1/ns-descriptors/{nsd.json()['id']}").status_code == 204
    assert nfvo.api.delete(f"{BASE}/{package_id}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/vnf-packages/{package_id}"), 404)
    # deleting through the Open Baton API removes the SOL005 view too
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{csar['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"{BASE}/{csar['id']}"), 404)


def test_x_auth_token_basic_auth_and_default_project(nfvo):
    token = nfvo.api.token()
    url = f"{nfvo.url}{BASE}"
    created = requests.post(url, json={}, headers={"X-Auth-Token": token}, timeout=30)
    assert created.status_code == 201, created.text
    package_id = created.json()["id"]
    by_basic = requests.get(f"{url}/{package_id}", auth=("admin", "test-admin-pw"), timeout=30)
    assert by_basic.status_code == 200 and by_basic.json()["id"] == package_id
    named = requests.get(f"{url}/{package_id}", headers={"X-Auth-Token": token, "project-id": "default"}, timeout=30)
    assert named.status_code == 200
    assert_problem(requests.get(url, timeout=30), 401, "unauthenticated")
    assert_problem(requests.get(url, headers={"X-Auth-Token": "notused"}, timeout=30), 401)
    assert_problem(requests.get(url, auth=("admin", "wrong"), timeout=30), 401, "invalid-credentials")
    assert_problem(requests.get(url, headers={"X-Auth-Token": token, "project-id": "nope"}, timeout=30), 404,
                   "project-not-found")
    assert requests.delete(f"{url}/{package_id}", headers={"X-Auth-Token": token}, timeout=30).status_code == 204


# --- external mode: PostgreSQL, Redis and a real `nfvo worker` ------------------------------


def test_csar_onboarding_on_postgresql_with_a_worker_process(tmp_path):
    from tests.integration.harness import Nfvo, fresh_postgres_database, fresh_redis_db, nfvo_env

    home = tmp_path / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url))
        try:
            migrated = node.run("db", "upgrade")
            assert migrated.returncode == 0, migrated.stderr
            node.start_server()
            node.start_worker()
            vim = node.api.post_json("/api/v1/datacenters", {"name": "store-a", "type": "local",
                                                             "authUrl": "local://store-a"})
            assert vim.status_code == 201, vim.text
            info = onboard(node, tmp_path, user_data={"vimInstances": ["store-a"]})
            images = node.api.get(f"/api/v1/datacenters/{vim.json()['id']}/images").json()
            assert [i["name"] for i in images] == ["iperf_server_image"]
            listed = node.api.http.get(f"{node.url}{BASE}", params={"filter": "(eq,onboardingState,ONBOARDED)"},
                                       headers=node.api.headers(), timeout=60).json()
            assert [i["id"] for i in listed] == [info["id"]]
            assert patch(node, info["id"], {"operationalState": "DISABLED"}).status_code == 200
        finally:
            node.stop()


def test_an_upload_whose_receiver_died_ends_in_error(tmp_path):
    """The nfvo receiving a PUT is SIGKILLed mid-body (a real fault, no mock): after a restart, once
    NFVO_JOB_STALE_SECONDS pass without a heartbeat, the package is ERROR (upload-interrupted),
    never stuck in UPLOADING, and a new package can take the content."""
    import signal
    import socket

    with embedded_nfvo(tmp_path, NFVO_JOB_STALE_SECONDS="6") as node:  # longer than a restart on a busy host
        package = create(node)
        headers = node.api.headers()
        with socket.create_connection(("127.0.0.1", node.port)) as sock:
            head = (f"PUT {BASE}/{package['id']}/package_content HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: {headers['Authorization']}\r\nproject-id: default\r\n"
                    "Content-Type: application/zip\r\nContent-Length: 10000000\r\n\r\n")
            sock.sendall(head.encode() + b"PK\x03\x04" + bytes(100_000))
            deadline = time.monotonic() + 30
            while node.api.get(f"{BASE}/{package['id']}").json()["onboardingState"] != "UPLOADING":
                assert time.monotonic() < deadline, "the upload never started"
                time.sleep(0.05)
            node.server.kill(signal.SIGKILL)
            node.server.popen.wait(timeout=20)
        node.start_server()
        assert node.api.get(f"{BASE}/{package['id']}").json()["onboardingState"] == "UPLOADING"
        time.sleep(6.5)  # past NFVO_JOB_STALE_SECONDS: the fault under test is time passing, not speed
        info = node.api.get(f"{BASE}/{package['id']}", params={"all_fields": ""}).json()
        assert info["onboardingState"] == "ERROR", info
        assert info["onboardingFailureDetails"]["type"].endswith("/upload-interrupted")
        assert_problem(put_content(node, package["id"], build(tmp_path / "p.zip", csar_files())), 409,
                       "package-state-conflict")
        assert onboard(node, tmp_path)["onboardingState"] == "ONBOARDED"


@pytest.mark.parametrize("intact", [True, False], ids=["checksum-matches", "checksum-differs"])
def test_an_image_by_url_is_checked_against_its_sw_image_data_checksum(nfvo, tmp_path, intact):
    """A SwImage artifact given by URL (a real loopback HTTP server) is downloaded once and checked
    against sw_image_data's checksum before any VIM sees it."""
    image = hashlib.sha256(str(uuid.uuid4()).encode()).digest() * 64
    (tmp_path / "served.img").write_bytes(image if intact else image[::-1])
    before = {i["id"] for i in vim_images(nfvo)}
    with serve_http(tmp_path) as url:
        files = csar_files(image=image)
        del files["Files/images/iperf-server.img"]
        server = files["Definitions/iperf_server.yaml"].decode()
        files["Definitions/iperf_server.yaml"] = server.replace(
            "file: ../Files/images/iperf-server.img", f"file: {url}/served.img").encode()
        files = with_manifest(files)
        package = create(nfvo)
        assert put_content(nfvo, package["id"], build(tmp_path / "linked.zip", files)).status_code == 202
        info = wait_onboarding(nfvo, package["id"])
    if intact:
        assert info["onboardingState"] == "ONBOARDED", info
        records = nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}").json()["images"]
        assert [r["source"] for r in records] == [f"{url}/served.img"]
        assert {i["id"] for i in vim_images(nfvo)} - before == {records[0]["imageId"]}
        return
    assert info["onboardingState"] == "ERROR", info
    [issue] = info["onboardingFailureDetails"]["errors"]
    assert issue["file"] == "Definitions/iperf_server.yaml" and issue["line"] == 25  # sw_image_data
    assert issue["pointer"].endswith("/sw_image_data/checksum/hash")
    assert {i["id"] for i in vim_images(nfvo)} == before


def _drop_hash_line(files: dict[str, bytes]) -> dict[str, bytes]:
    lines = files["iperf-server.mf"].decode().splitlines(keepends=True)
    at = lines.index("Source: Definitions/iperf_types.yaml\n")
    del lines[at + 2]  # its Hash: line
    return {**files, "iperf-server.mf": "".join(lines).encode()}


def _tamper_after_signing(files: dict[str, bytes]) -> dict[str, bytes]:
    cert, key = self_signed()
    signed = sign_manifest(files, cert, key)
    return {**signed, "iperf-server.mf": signed["iperf-server.mf"].replace(b"vnf_package_version: 1.0",
                                                                          b"vnf_package_version: 9.9")}


def _signed(files: dict[str, bytes]) -> dict[str, bytes]:
    return sign_manifest(files, *self_signed())


def _changed_after_manifest(files: dict[str, bytes]) -> dict[str, bytes]:
    return {**files, "Definitions/iperf_types.yaml": files["Definitions/iperf_types.yaml"] + b"# changed\n"}


MANIFEST_CASES = {  # name: (how the CSAR is made, None when it onboards, else a text the problem names)
    "upper-case-hex": (lambda f: with_manifest(f, upper=True), None),
    "dash-less-algorithm": (lambda f: with_manifest(f, algorithm="SHA256"), None),
    "sha-512": (lambda f: with_manifest(f, algorithm="SHA-512"), None),
    "good-signature": (_signed, None),
    "wrong-hash": (_changed_after_manifest, "Definitions/iperf_types.yaml"),
    "missing-hash": (_drop_hash_line, "Hash"),
    "bad-signature": (_tamper_after_signing, "signature does not verify"),
}


@pytest.mark.parametrize("case", MANIFEST_CASES)
def test_manifest_variants_onboard_or_fail_without_leaving_anything(nfvo, tmp_path, case):
    make, problem = MANIFEST_CASES[case]
    images_before = {i["id"] for i in vim_images(nfvo)}
    packages_before = {p["id"] for p in nfvo.api.get("/api/v1/vnf-packages").json()}
    files = make(csar_files())
    package = create(nfvo)
    assert put_content(nfvo, package["id"], build(tmp_path / f"{case}.zip", files)).status_code == 202
    info = wait_onboarding(nfvo, package["id"])
    if problem is None:
        assert info["onboardingState"] == "ONBOARDED", info
        assert nfvo.api.delete(f"/api/v1/vnf-packages/{package['id']}").status_code == 204
    else:
        assert info["onboardingState"] == "ERROR", info
        details = info["onboardingFailureDetails"]
        found = " ".join(f"{e.get('file')}:{e.get('line')} {e['message']}" for e in details.get("errors", []))
        assert problem in found, details
        assert_problem(nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}"), 404)
        assert nfvo.api.delete(f"{BASE}/{package['id']}").status_code == 204
    assert {p["id"] for p in nfvo.api.get("/api/v1/vnf-packages").json()} == packages_before
    assert {i["id"] for i in vim_images(nfvo)} == images_before
    assert not [v for v in nfvo.api.get("/api/v1/vnf-descriptors").json() if v.get("vnfPackageLocation") == package["id"]]


def test_hostile_range_marker_and_credentials_are_4xx(nfvo, tmp_path):
    info = onboard(nfvo, tmp_path)
    content = f"{BASE}/{info['id']}/package_content"
    for header in ("bytes=0-" + "9" * 5000, "bytes=" + "9" * 5000 + "-", "bytes=-" + "9" * 30):
        assert_problem(nfvo.api.get(content, headers={"Range": header}), 416)
    marker = base64.urlsafe_b64encode(b"[" * 3000).decode()
    assert_problem(nfvo.api.get(BASE, params={"nextpage_opaque_marker": marker}), 400)
    package = create(nfvo)
    answer = nfvo.api.post_json(f"{BASE}/{package['id']}/package_content/upload_from_uri",
                                {"addressInformation": "http://x/p.zip", "userName": "a:b", "password": "x"})
    assert [e["pointer"] for e in assert_problem(answer, 422)["errors"]] == ["/userName"]


def test_an_upload_declared_interrupted_cannot_resume(tmp_path):
    """A PUT whose bytes pause past NFVO_JOB_STALE_SECONDS is read as ERROR (upload-interrupted) by a
    GET meanwhile; when the rest arrives the PUT answers upload-interrupted and the package stays ERROR."""
    import socket

    # larger than the 64 KiB nfvo collects before a request takes a thread, so the upload starts
    image = hashlib.sha256(b"paused").digest() * 8192
    body = build(tmp_path / "p.zip", csar_files(image=image), method=zipfile.ZIP_STORED).read_bytes()
    (tmp_path / "n").mkdir()
    with embedded_nfvo(tmp_path / "n", NFVO_JOB_STALE_SECONDS="1") as node:
        package = create(node)
        headers = node.api.headers()
        with socket.create_connection(("127.0.0.1", node.port)) as sock:
            sock.sendall((f"PUT {BASE}/{package['id']}/package_content HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Authorization: {headers['Authorization']}\r\nproject-id: default\r\n"
                          f"Content-Type: application/zip\r\nContent-Length: {len(body)}\r\n"
                          "Connection: close\r\n\r\n").encode() + body[:100_000])
            deadline = time.monotonic() + 30
            while node.api.get(f"{BASE}/{package['id']}").json()["onboardingState"] != "ERROR":
                assert time.monotonic() < deadline, "the paused upload was never declared interrupted"
                time.sleep(0.2)
            sock.sendall(body[100_000:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
        info = node.api.get(f"{BASE}/{package['id']}", params={"all_fields": ""}).json()
        assert info["onboardingState"] == "ERROR"
        assert info["onboardingFailureDetails"]["type"].endswith("/upload-interrupted")
        assert not list((node.home / "uploads").iterdir())
