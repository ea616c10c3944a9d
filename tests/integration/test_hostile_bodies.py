"""Hostile JSON bodies and package texts, on SQLite and on PostgreSQL alike: every JSON body nfvo reads
(webargs' ``@blp.arguments`` ones too) has one size cap (413) and one set of limits, and a value no
database stores (NUL, a lone surrogate, a non-finite number) is a 422 naming its pointer, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.harness import assert_problem, embedded_nfvo, example_files, fresh_postgres_database, make_tar

pytestmark = pytest.mark.integration

ETSI = "/vnfpkgm/v1/vnf_packages"
MAX_JSON_BODY = 16 * 2**20


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def nfvo(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"bodies-{request.param}")
    if request.param == "sqlite":
        with embedded_nfvo(base) as node:
            yield node
    else:
        with fresh_postgres_database() as url, embedded_nfvo(base, NFVO_DATABASE_URL=url) as node:
            yield node


@pytest.fixture(scope="module")
def etsi_package(nfvo) -> str:
    answer = nfvo.api.post_json(ETSI, {"userDefinedData": {}})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def send(nfvo, method: str, path: str, text: str | bytes, content_type: str = "application/json"):
    """``text`` as the body, exactly as given (JSON escapes such as \\ud800 stay escapes)."""
    data = text.encode() if isinstance(text, str) else text
    return nfvo.api.request(method, path, data=data, headers={"Content-Type": content_type})


def refused_at(answer, pointer: str, words: str, file: str = "request body") -> dict:
    """The answer is a 422 whose errors include one at ``pointer`` of ``file`` saying ``words``, with a line."""
    problem = assert_problem(answer, 422, "validation-failed")
    found = [e for e in problem["errors"] if e.get("pointer") == pointer and e.get("file") == file]
    assert found and words in found[0]["message"] and found[0].get("line"), problem
    return problem


#: every endpoint whose JSON body flask-smorest's @blp.arguments reads, plus two that nfvo's reader always read
JSON_ENDPOINTS = {
    "datacenters": ("POST", "/api/v1/datacenters", "application/json"),
    "vnf-market": ("POST", "/api/v1/vnf-packages/marketdownload", "application/json"),
    "nsd-market": ("POST", "/api/v1/ns-descriptors/marketdownload", "application/json"),
    "etsi-create": ("POST", ETSI, "application/json"),
    "etsi-modify": ("PATCH", ETSI + "/{id}", "application/merge-patch+json"),
    "etsi-from-uri": ("POST", ETSI + "/{id}/package_content/upload_from_uri", "application/json"),
    "projects": ("POST", "/api/v1/projects", "application/json"),
    "vnf-descriptors": ("POST", "/api/v1/vnf-descriptors", "application/json"),
}

DEEP = 100_000


@pytest.mark.parametrize("endpoint", sorted(JSON_ENDPOINTS))
def test_every_json_body_has_the_same_limits(nfvo, etsi_package, endpoint):
    method, path, content_type = JSON_ENDPOINTS[endpoint]
    path = path.format(id=etsi_package)

    deep = send(nfvo, method, path, '{\n"link": ' + "[" * DEEP + "]" * DEEP + "}", content_type)
    refused_at(deep, "/link" + "/0" * 63, "nested deeper than 64 levels")

    digits = send(nfvo, method, path, '{\n"link": ' + "1" * 5000 + "}", content_type)
    problem = refused_at(digits, "/link", "too many digits")
    assert problem["errors"][0]["line"] == 2

    infinite = send(nfvo, method, path, '{"link": {"a": [1, -1e999]}}', content_type)
    refused_at(infinite, "/link/a/1", "finite")

    big = b'{"link": "' + b"x" * MAX_JSON_BODY + b'"}'
    assert_problem(send(nfvo, method, path, big, content_type), 413, "too-large")

    assert_problem(send(nfvo, method, path, '{"link": 1,\n"link": 2}', content_type), 422, "validation-failed")
    assert nfvo.api.http.get(f"{nfvo.url}/health").json()["status"] == "ok"


def test_schema_findings_of_a_webargs_body_carry_file_and_line(nfvo):
    answer = send(nfvo, "POST", "/api/v1/datacenters", '{\n"name": "x",\n"type": "Not A Type"\n}')
    refused_at(answer, "/type", "match")
    [error] = [e for e in answer.json()["errors"] if e["pointer"] == "/type"]
    assert error["line"] == 3


UNSTORABLE_TEXT = {"nul": ("\\u0000", "NUL"), "surrogate": ("\\ud800", "surrogate"), "low-surrogate": ("\\udfff", "surrogate")}


@pytest.mark.parametrize("kind", sorted(UNSTORABLE_TEXT))
def test_unstorable_text_in_a_vim_name_is_422_on_every_database(nfvo, kind):
    escape, words = UNSTORABLE_TEXT[kind]
    body = f'{{"name": "vim-{kind}{escape}", "type": "local", "authUrl": "local://{kind}"}}'
    refused_at(send(nfvo, "POST", "/api/v1/datacenters", body), "/name", words)
    names = [vim["name"] for vim in nfvo.api.get("/api/v1/datacenters").json()]
    assert not [name for name in names if name.startswith(f"vim-{kind}")], names


@pytest.mark.parametrize("kind", sorted(UNSTORABLE_TEXT))
def test_unstorable_text_in_a_project_name_is_422(nfvo, kind):
    escape, words = UNSTORABLE_TEXT[kind]
    refused_at(send(nfvo, "POST", "/api/v1/projects", f'{{"name": "project{escape}"}}'), "/name", words)
    # a key: its pointer shows the character as an escape, so that the finding itself can be stored
    refused_at(send(nfvo, "POST", "/api/v1/projects", f'{{"name": "p", "x{escape}": 1}}'), f"/x{escape}", words)


def _vnfd(name: str) -> dict:
    return {**json.loads(example_files("iperf-server")["vnfd.json"]), "name": name}


def test_a_lone_surrogate_in_a_vnfd_name_is_422(nfvo):
    text = json.dumps(_vnfd("vnfd-\ud800"))  # json.dumps writes the lone surrogate as the escape \ud800
    assert "\\ud800" in text
    refused_at(send(nfvo, "POST", "/api/v1/vnf-descriptors", text), "/name", "surrogate")


def _strict_json(text: str):
    """JSON as the standard has it: Infinity and NaN are not numbers."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity"])
def test_non_finite_numbers_are_refused_and_every_list_stays_json(nfvo, number):
    text = json.dumps(_vnfd(f"vnfd-{number}"))[:-1] + f', "vdu_extra": {{"n": [0, {number}]}}}}'
    words = number if number in ("NaN", "Infinity") else "finite"
    refused_at(send(nfvo, "POST", "/api/v1/vnf-descriptors", text), "/vdu_extra/n/1", words)
    refused_at(send(nfvo, "POST", ETSI, f'{{"userDefinedData": {{"n": {number}}}}}'), "/userDefinedData/n", words)
    for path in ("/api/v1/vnf-descriptors", ETSI, "/api/v1/datacenters"):
        answer = nfvo.api.get(path)
        assert answer.status_code == 200 and _strict_json(answer.text) is not None


# --- package files, through a real upload -----------------------------------------------

def _package(tmp_path: Path, name: str, metadata: str | None = None, vnfd: str | None = None) -> Path:
    files = dict(example_files("iperf-server"))
    if metadata is not None:
        files["Metadata.yaml"] = metadata.encode()
    if vnfd is not None:
        files["vnfd.json"] = vnfd.encode()
    return make_tar(tmp_path / f"{name}.tar", files)


def _metadata(name_line: str) -> str:
    return example_files("iperf-server")["Metadata.yaml"].decode().replace("name: iperf-server", name_line, 1)


@pytest.mark.parametrize("kind", sorted(UNSTORABLE_TEXT))
def test_unstorable_text_in_metadata_yaml_is_422_naming_the_field(nfvo, tmp_path, kind):
    escape, words = UNSTORABLE_TEXT[kind]
    yaml_escape = "\\0" if kind == "nul" else escape  # YAML's own escape for NUL; \\u0000 works as well
    tar = _package(tmp_path, f"meta-{kind}", metadata=_metadata(f'name: "meta-{kind}{yaml_escape}"'))
    refused_at(nfvo.api.upload(tar), "/name", words, file="Metadata.yaml")
    tar = _package(tmp_path, f"desc-{kind}", metadata=_metadata(f'name: desc-{kind}\nlabel: "{escape}"'))
    refused_at(nfvo.api.upload(tar), "/label", words, file="Metadata.yaml")


def test_infinite_number_in_metadata_yaml_is_422(nfvo, tmp_path):
    tar = _package(tmp_path, "meta-inf", metadata=_metadata("name: meta-inf\nweight: .inf"))
    refused_at(nfvo.api.upload(tar), "/weight", "finite", file="Metadata.yaml")


@pytest.mark.parametrize("value, words", [("1e999", "finite"), ("NaN", "NaN"), ('"\\ud800"', "surrogate"),
                                          ('"\\u0000"', "NUL")])
def test_unstorable_values_in_a_package_vnfd_json_are_422_at_their_pointer(nfvo, tmp_path, value, words):
    vnfd = json.dumps(_vnfd("pkg-vnfd"), indent=2).replace('"scale_in_out": 2', f'"scale_in_out": {value}')
    assert value in vnfd
    line = vnfd.splitlines().index(next(t for t in vnfd.splitlines() if "scale_in_out" in t)) + 1
    tar = _package(tmp_path, "pkg-vnfd", metadata=_metadata("name: pkg-vnfd"), vnfd=vnfd)
    problem = refused_at(nfvo.api.upload(tar), "/vdu/0/scale_in_out", words, file="vnfd.json")
    assert [e["line"] for e in problem["errors"] if e.get("pointer") == "/vdu/0/scale_in_out"] == [line]
    job = nfvo.api.upload(tar, respond_async=True)
    assert job.status_code == 202, job.text
    failed = nfvo.api.wait_job(job.json()["id"])
    assert failed["state"] == "failed" and failed["problem"]["status"] == 422, failed


def test_the_service_still_serves_and_lists(nfvo):
    assert nfvo.server.popen.poll() is None
    for path in ("/api/v1/vnf-descriptors", "/api/v1/vnf-packages", "/api/v1/projects", "/api/v1/datacenters"):
        answer = nfvo.api.get(path)
        assert answer.status_code == 200, answer.text
        _strict_json(answer.text)
