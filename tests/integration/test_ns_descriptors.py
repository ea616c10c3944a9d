"""NS descriptors and the VNFD catalogue, end to end against an embedded `nfvo serve`."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.harness import ROOT, assert_problem, embedded_nfvo, example_files, make_tar

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("nsd")) as node:
        yield node


@pytest.fixture(scope="module")
def onboarded(nfvo, tmp_path_factory):
    """The iperf-server and iperf-client packages, onboarded: name -> VNFD JSON."""
    base = tmp_path_factory.mktemp("packages")
    vnfds = {}
    for name in ("iperf-server", "iperf-client"):
        answer = nfvo.api.upload(make_tar(base / f"{name}.tar", example_files(name)))
        assert answer.status_code == 200, answer.text
        vnfds[name] = answer.json()
    return vnfds


def inline_vnfd(name: str, version: str = "1.0") -> dict:
    body = json.loads((ROOT / "examples" / "iperf-server" / "vnfd.json").read_text())
    body.pop("lifecycle_event")
    return {**body, "name": name, "vendor": "tests", "version": version}


def nsd(*entries, **extra) -> dict:
    return {"name": "iperf-ns", "vendor": "tests", "version": "1", "vnfd": list(entries),
            "vld": [{"name": "private"}], **extra}


def test_nsd_by_uuid_by_identity_and_inline(nfvo, onboarded):
    server, client = onboarded["iperf-server"], onboarded["iperf-client"]
    body = nsd({"id": server["id"]}, {"id": "FOKUS/iperf-client/1.0"}, inline_vnfd("inline-one"),
               vnf_dependency=[{"source": {"name": "iperf-server"}, "target": {"name": "iperf-client"},
                                "parameters": ["private"]}])
    answer = nfvo.api.post_json("/api/v1/ns-descriptors/", body)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    refs = created["vnfd"]
    assert [r["id"] for r in refs[:2]] == [server["id"], client["id"]]
    assert refs[2]["name"] == "inline-one"
    inline = nfvo.api.get(f"/api/v1/vnf-descriptors/{refs[2]['id']}").json()
    assert inline["name"] == "inline-one" and inline["id"] == refs[2]["id"]
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{created['id']}").json() == created
    assert created["id"] in [n["id"] for n in nfvo.api.get("/api/v1/ns-descriptors").json()]

    replaced = nfvo.api.request("PUT", f"/api/v1/ns-descriptors/{created['id']}",
                                json=nsd({"id": client["id"]}, name="renamed"))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == created["id"] and replaced.json()["name"] == "renamed"
    assert [r["id"] for r in replaced.json()["vnfd"]] == [client["id"]]
    assert nfvo.api.delete(f"/api/v1/ns-descriptors/{created['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/ns-descriptors/{created['id']}"), 404, "nsd-not-found")


def test_unknown_references_are_all_reported_at_their_pointers(nfvo, onboarded):
    missing = str(uuid.uuid4())
    body = nsd({"id": onboarded["iperf-server"]["id"]}, {"id": missing}, {"id": "FOKUS/nope/9"},
               {"id": "not a reference"}, {"name": "half", "vdu": []})
    problem = assert_problem(nfvo.api.post_json("/api/v1/ns-descriptors", body), 422, "validation-failed")
    by_pointer = {e["pointer"]: e["message"] for e in problem["errors"]}
    assert missing in by_pointer["/vnfd/1/id"]
    assert "FOKUS/nope/9" in by_pointer["/vnfd/2/id"]
    assert "/vnfd/3/id" in by_pointer
    assert {"/vnfd/4/vdu", "/vnfd/4/type", "/vnfd/4/vendor"} <= set(by_pointer)


def test_problems_name_the_line_of_the_request_body(nfvo, onboarded):
    text = json.dumps(nsd({"id": onboarded["iperf-server"]["id"]}, {"id": "FOKUS/nope/9"}), indent=2)
    answer = nfvo.api.request("POST", "/api/v1/ns-descriptors", data=text,
                              headers={"Content-Type": "application/json"})
    problem = assert_problem(answer, 422, "validation-failed")
    line = text.splitlines().index('      "id": "FOKUS/nope/9"') + 1
    assert [(e["file"], e["line"], e["pointer"]) for e in problem["errors"]] == [("request body", line, "/vnfd/1/id")]

    broken = '{\n  "name": "x",\n  "vnfd": [}\n'
    for path in ("/api/v1/ns-descriptors", "/api/v1/vnf-descriptors"):
        answer = nfvo.api.request("POST", path, data=broken, headers={"Content-Type": "application/json"})
        problem = assert_problem(answer, 422, "validation-failed")
        assert [(e["file"], e["line"]) for e in problem["errors"]] == [("request body", 3)]
        answer = nfvo.api.request("POST", path, data="name=x", headers={"Content-Type": "text/plain"})
        assert_problem(answer, 400, "bad-request")


def test_bad_vld_and_dependency_references(nfvo, onboarded):
    body = nsd({"id": onboarded["iperf-server"]["id"]}, vld=[{"name": "a"}, {"name": "a"}, {}],
               vnf_dependency=[{"source": {"name": "iperf-server"}, "target": {"name": "ghost"}}])
    problem = assert_problem(nfvo.api.post_json("/api/v1/ns-descriptors", body), 422, "validation-failed")
    pointers = {e["pointer"] for e in problem["errors"]}
    assert pointers == {"/vld/1/name", "/vld/2/name", "/vnf_dependency/0/target/name"}
    assert_problem(nfvo.api.post_json("/api/v1/ns-descriptors", {"vnfd": []}), 422, "validation-failed")


def test_vnfd_or_package_in_use_cannot_be_deleted(nfvo, tmp_path):
    files = example_files("iperf-server")
    files["Metadata.yaml"] = files["Metadata.yaml"].replace(b"name: iperf-server\n", b"name: iperf-server\nversion: '2.0'\n")
    files["vnfd.json"] = json.dumps({**json.loads(files["vnfd.json"]), "version": "2.0"})
    answer = nfvo.api.upload(make_tar(tmp_path / "p.tar", files))
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    catalogue = nfvo.api.post_json("/api/v1/vnf-descriptors", inline_vnfd("plain", "2.0")).json()
    created = nfvo.api.post_json("/api/v1/ns-descriptors", nsd({"id": "FOKUS/iperf-server/2.0"},
                                                                {"id": catalogue["id"]}, name="user")).json()

    for path in (f"/api/v1/vnf-descriptors/{vnfd['id']}", f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}",
                 f"/api/v1/vnf-descriptors/{catalogue['id']}"):
        problem = assert_problem(nfvo.api.delete(path), 409, "in-use")
        assert created["id"] in problem["detail"] and "user" in problem["detail"]
    assert nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 200

    assert nfvo.api.delete(f"/api/v1/ns-descriptors/{created['id']}").status_code == 204
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 204
    assert nfvo.api.delete(f"/api/v1/vnf-descriptors/{catalogue['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/vnf-descriptors/{vnfd['id']}"), 404, "vnfd-not-found")


def test_vnfd_post_put_and_validation(nfvo):
    answer = nfvo.api.post_json("/api/v1/vnf-descriptors/", inline_vnfd("posted"))
    assert answer.status_code == 201, answer.text
    posted = answer.json()
    put = nfvo.api.request("PUT", f"/api/v1/vnf-descriptors/{posted['id']}",
                           json={**inline_vnfd("posted", "1.1"), "id": "ignored"})
    assert put.status_code == 200, put.text
    assert (put.json()["id"], put.json()["version"]) == (posted["id"], "1.1")
    assert nfvo.api.get(f"/api/v1/vnf-descriptors/{posted['id']}").json()["version"] == "1.1"

    other = nfvo.api.post_json("/api/v1/vnf-descriptors/", inline_vnfd("posted-peer")).json()
    used_by = nfvo.api.post_json("/api/v1/ns-descriptors", nsd(
        {"id": posted["id"]}, {"id": other["id"]},
        vnf_dependency=[{"source": {"name": "posted"}, "target": {"name": "posted-peer"}}])).json()
    nfvo.api.request("PUT", f"/api/v1/vnf-descriptors/{posted['id']}", json=inline_vnfd("posted-renamed", "1.2"))
    stored = nfvo.api.get(f"/api/v1/ns-descriptors/{used_by['id']}").json()
    entry = stored["vnfd"][0]
    assert (entry["id"], entry["name"], entry["version"]) == (posted["id"], "posted-renamed", "1.2")
    assert stored["vnf_dependency"][0]["source"]["name"] == "posted-renamed"
    again = nfvo.api.request("PUT", f"/api/v1/ns-descriptors/{used_by['id']}", json=stored)  # still valid
    assert again.status_code == 200, again.text

    problem = assert_problem(nfvo.api.post_json("/api/v1/vnf-descriptors", {"name": "x", "vdu": []}),
                             422, "validation-failed")
    assert {e["pointer"] for e in problem["errors"]} == {"/vdu", "/type", "/endpoint", "/vendor", "/version"}
    assert_problem(nfvo.api.request("PUT", f"/api/v1/vnf-descriptors/{uuid.uuid4()}", json=inline_vnfd("x")),
                   404, "vnfd-not-found")


def test_vnfd_list_filters_and_pages_with_a_link_header(nfvo):
    ids = [nfvo.api.post_json("/api/v1/vnf-descriptors", {**inline_vnfd("paged", str(n)), "vendor": "pager"}
                              ).json()["id"] for n in range(5)]
    first = nfvo.api.get("/api/v1/vnf-descriptors?vendor=pager&name=paged&size=2")
    assert [v["id"] for v in first.json()] == ids[:2]
    assert first.links["next"]["url"].endswith("/api/v1/vnf-descriptors?vendor=pager&name=paged&size=2&page=1")
    seen = []
    url = first.links["next"]["url"]
    while url:
        page = nfvo.api.http.get(url, headers=nfvo.api.headers())
        seen += [v["id"] for v in page.json()]
        url = page.links.get("next", {}).get("url")
    assert ids[:2] + seen == ids
    last = nfvo.api.get("/api/v1/vnf-descriptors?vendor=pager&page=2&size=2")
    assert [v["id"] for v in last.json()] == ids[4:] and "Link" not in last.headers
    assert [v["id"] for v in nfvo.api.get("/api/v1/vnf-descriptors?vendor=pager&version=3").json()] == [ids[3]]
    whole = nfvo.api.get("/api/v1/vnf-descriptors/?vendor=pager")  # no page or size: the whole list
    assert [v["id"] for v in whole.json()] == ids and "Link" not in whole.headers
    assert [v["id"] for v in nfvo.api.get("/api/v1/vnf-descriptors?vendor=pager&page=1").json()] == []
    assert_problem(nfvo.api.get("/api/v1/vnf-descriptors?size=1001"), 422, "validation-failed")
    assert_problem(nfvo.api.get("/api/v1/vnf-descriptors?page=-1"), 422, "validation-failed")
    assert_problem(nfvo.api.get("/api/v1/vnf-descriptors?page=1000000000000000000&size=1000"), 422,
                   "validation-failed")


@pytest.mark.parametrize("path, body, pointer", [
    ("/api/v1/vnf-descriptors", {"version": "1" * 65}, "/version"),
    ("/api/v1/vnf-descriptors", {"name": "x" * 256}, "/name"),
    ("/api/v1/vnf-descriptors", {"vendor": "a\u0000b"}, "/vendor"),
    ("/api/v1/ns-descriptors", {"name": "n" * 256}, "/name"),
    ("/api/v1/ns-descriptors", {"vendor": "v\u0000"}, "/vendor"),
])
def test_values_the_database_cannot_hold_are_named(nfvo, onboarded, path, body, pointer):
    base = inline_vnfd("limits") if "vnf-" in path else nsd({"id": onboarded["iperf-server"]["id"]})
    answer = nfvo.api.post_json(path, {**base, **body})  # json.dumps writes NUL as \u0000
    problem = assert_problem(answer, 422, "validation-failed")
    assert pointer in [e["pointer"] for e in problem["errors"]], problem


def _documented(kind: str, name: str) -> str:
    from tests.unit.test_docs import blocks

    [text] = [t for _, markers, t in blocks("nsd.md") if markers.get(kind) == name]
    return text


def _same_but_ids(answer, documented) -> bool:
    """``answer`` equals ``documented``, where a documented "<...>" string stands for any id."""
    if isinstance(documented, str) and documented.startswith("<") and documented.endswith(">"):
        return isinstance(answer, str) and len(answer) == 36
    if isinstance(documented, dict):
        return isinstance(answer, dict) and answer.keys() == documented.keys() and \
            all(_same_but_ids(answer[k], documented[k]) for k in documented)
    if isinstance(documented, list):
        return isinstance(answer, list) and len(answer) == len(documented) and \
            all(_same_but_ids(a, d) for a, d in zip(answer, documented, strict=True))
    return answer == documented


@pytest.mark.parametrize("name, status", [("ok", 201), ("unknown", 422)])
def test_nsd_doc_examples_give_the_documented_answers(nfvo, onboarded, name, status):
    answer = nfvo.api.request("POST", "/api/v1/ns-descriptors", data=_documented("request", name),
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert _same_but_ids(answer.json(), json.loads(_documented("answer", name))), answer.text
    if status == 201:
        refs = {(v["name"], v["id"]) for v in answer.json()["vnfd"]}
        assert refs == {(n, onboarded[n]["id"]) for n in ("iperf-server", "iperf-client")}
