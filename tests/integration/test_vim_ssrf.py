"""VIM registration is no SSRF probe: endpoints on this host, link-local/metadata addresses and unix
sockets are refused before any connection unless NFVO_VIM_ALLOW admits them, every connection a driver
makes is checked again, and no answer carries what the remote said (real nfvo, real sockets)."""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.harness import Api, Nfvo, assert_problem, embedded_nfvo, nfvo_env

pytestmark = pytest.mark.integration

SECRET = "INTERNAL-SECRET-7c1f"  # what an internal service would leak through a reflected error
PASSWORD = "ssrf-probe-pw"
#: (status, headers, body) for a request (method, path, body bytes)
Answer = Callable[[str, str, bytes], tuple[int, dict, bytes]]


def leak(status: int) -> Answer:
    body = json.dumps({"message": SECRET, "error": {"message": SECRET, "code": status}}).encode()
    return lambda _method, _path, _body: (status, {"Content-Type": "application/json"}, body)


@dataclass
class Internal:
    """A scripted HTTP service; ``hits`` counts the connections it accepted."""

    url: str
    hits: list[str] = field(default_factory=list)
    answer: list[Answer] = field(default_factory=list)


def _handler(service: Internal):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            service.hits.append(f"{self.command} {self.path}")
            status, headers, payload = service.answer[0](self.command, self.path, body)
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = do_PUT = _serve  # noqa: N815 - http.server's naming

        def address_string(self) -> str:
            return "client"

        def log_message(self, format, *args) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def internal_http(host: str, answer: Answer) -> Iterator[Internal]:
    service = Internal("", answer=[answer])
    server = ThreadingHTTPServer((host, 0), _handler(service))
    server.daemon_threads = True
    service.url = f"{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@contextmanager
def internal_unix(path: str, answer: Answer) -> Iterator[Internal]:
    service = Internal(f"unix://{path}", answer=[answer])
    server = _UnixHTTPServer(path, _handler(service))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        os.unlink(path)


def keystone(glance: str) -> Answer:
    """Enough Keystone v3 for keystoneauth: discovery and a token whose catalog puts Glance at ``glance``."""

    def answer(method: str, path: str, _body: bytes) -> tuple[int, dict, bytes]:
        if method == "POST" and path.rstrip("/").endswith("/auth/tokens"):
            domain = {"id": "default", "name": "Default"}
            token = {"token": {
                "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                "issued_at": "2026-01-01T00:00:00.000000Z",
                "user": {"id": "u1", "name": "probe", "domain": domain},
                "project": {"id": "p1", "name": "probe", "domain": domain},
                "roles": [{"id": "r1", "name": "member"}],
                "catalog": [{"type": "image", "name": "glance", "id": "s1", "endpoints": [
                    {"id": f"e{i}", "interface": interface, "region": "RegionOne", "region_id": "RegionOne",
                     "url": glance} for i, interface in enumerate(("public", "internal", "admin"))]}]}}
            return 201, {"Content-Type": "application/json", "X-Subject-Token": "t0k3n"}, json.dumps(token).encode()
        version = {"id": "v3.14", "status": "stable", "updated": "2020-01-01T00:00:00Z",
                   "links": [{"rel": "self", "href": "http://PLACEHOLDER/v3/"}],
                   "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}
        return 200, {"Content-Type": "application/json"}, json.dumps({"version": version}).encode()

    return answer


# --- two nfvo: the default policy, and one whose operator admits 127.0.0.2 and a socket folder ----

@dataclass
class Node:
    nfvo: Nfvo
    user: Api  # a USER of the project "tenant"


def _user_of(nfvo: Nfvo) -> Api:
    project = nfvo.api.post_json("/api/v1/projects", {"name": "tenant", "description": "probe"})
    assert project.status_code == 201, project.text
    answer = nfvo.api.post_json("/api/v1/users", {"username": "prober", "password": PASSWORD,
                                                  "roles": [{"role": "USER", "project": "tenant"}]})
    assert answer.status_code == 201, answer.text
    return Api(nfvo.url, "prober", PASSWORD, project.json()["id"])


@pytest.fixture(scope="module")
def sockets(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("sock"))  # short: unix socket paths are limited to ~108 bytes


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("ssrf-strict")) as nfvo:
        yield Node(nfvo, _user_of(nfvo))


@pytest.fixture(scope="module")
def allowing(tmp_path_factory, sockets):
    allowed = os.path.join(sockets, "allowed")
    os.mkdir(allowed)
    with embedded_nfvo(tmp_path_factory.mktemp("ssrf-allowing"), NFVO_VIM_ALLOW=f"127.0.0.2,{allowed}") as nfvo:
        yield Node(nfvo, _user_of(nfvo))


def openstack(url: str, name: str = "os") -> dict:
    return {"name": name, "type": "openstack", "authUrl": url, "tenant": "probe", "username": "probe",
            "password": "pw", "properties": {"timeout": "10"}}


def docker(url: str, name: str = "engine") -> dict:
    return {"name": name, "type": "docker", "authUrl": url, "properties": {"timeout": "10"}}


def refused(node: Node, body: dict) -> dict:
    problem = assert_problem(node.user.post_json("/api/v1/datacenters", body), 422, "vim-endpoint-refused")
    assert [e["pointer"] for e in problem["errors"]] == ["/authUrl"] and "NFVO_VIM_ALLOW" in problem["detail"]
    assert body["name"] not in {v["name"] for v in node.user.get("/api/v1/datacenters").json()}
    return problem


# --- refused before any connection -------------------------------------------------------------

def test_openstack_endpoints_on_this_host_or_metadata_are_refused_unsent(strict):
    with internal_http("127.0.0.2", leak(200)) as service:
        port = service.url.rsplit(":", 1)[1]
        for url in (f"http://{service.url}/v3", f"http://localhost:{port}/v3", f"http://[::1]:{port}/v3",
                    f"http://[::ffff:127.0.0.2]:{port}/v3", f"http://0.0.0.0:{port}/v3",
                    f"http://2130706434:{port}/v3", "http://169.254.169.254/latest/meta-data/",
                    "http://[fe80::1]/v3", "http://100.100.100.200/v3"):
            refused(strict, openstack(url))
        assert service.hits == []


def test_docker_engines_on_this_host_and_unix_sockets_are_refused_unsent(strict, sockets):
    with internal_http("127.0.0.2", leak(200)) as tcp, internal_unix(os.path.join(sockets, "s.sock"), leak(200)) as unix:
        for url in (f"tcp://{tcp.url}", f"tcp://localhost:{tcp.url.rsplit(':', 1)[1]}", unix.url,
                    "unix:///var/run/docker.sock"):
            refused(strict, docker(url))
        assert tcp.hits == [] and unix.hits == []


def test_a_private_network_endpoint_is_not_refused_by_the_policy(strict):
    # 10.255.255.1 is private: the policy lets it pass, the connection then fails (or times out) for real.
    answer = strict.user.post_json("/api/v1/datacenters", docker("tcp://10.255.255.1:2375", "private") |
                                   {"properties": {"timeout": "1"}})
    assert answer.status_code in (503, 502, 422), answer.text
    assert not answer.json()["type"].endswith("/vim-endpoint-refused")


# --- allowed by the operator: contacted, but nothing of the answer comes back -----------------

# (not 401: keystoneauth then waits forever on its own lock while discovering the version)
@pytest.mark.parametrize("status", [403, 404, 500])
def test_an_allowed_keystone_answer_is_not_reflected(allowing, status):
    with internal_http("127.0.0.2", leak(status)) as service:
        answer = allowing.user.post_json("/api/v1/datacenters", openstack(f"http://{service.url}/v3", f"os-{status}"))
        assert service.hits, "the allowed endpoint was contacted"
    assert 400 <= answer.status_code < 600 and answer.headers["Content-Type"].startswith("application/problem+json")
    assert SECRET not in answer.text, answer.text
    assert f"'os-{status}'" in answer.json()["detail"] and f"HTTP {status}" in answer.json()["detail"], answer.text


@pytest.mark.parametrize("status", [404, 500])
def test_an_allowed_docker_answer_is_not_reflected(allowing, sockets, status):
    with internal_http("127.0.0.2", leak(status)) as tcp, \
            internal_unix(os.path.join(sockets, "allowed", f"e{status}.sock"), leak(status)) as unix:
        for url in (f"tcp://{tcp.url}", unix.url):
            answer = allowing.user.post_json("/api/v1/datacenters", docker(url, f"engine-{status}"))
            assert 400 <= answer.status_code < 600, answer.text
            assert SECRET not in answer.text, answer.text
            assert f"HTTP {status}" in answer.json()["detail"], answer.text
        assert tcp.hits and unix.hits


def test_an_unreachable_allowed_endpoint_says_what_nfvo_observed(allowing):
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        problem = assert_problem(allowing.user.post_json("/api/v1/datacenters", docker(f"tcp://127.0.0.2:{port}", "gone")),
                                 503, "vim-unavailable")
    assert "'gone'" in problem["detail"] and "connection refused" in problem["detail"], problem


def test_a_service_catalog_pointing_at_this_host_is_refused_at_connect(allowing):
    """Keystone (allowed, on 127.0.0.2) sends Glance to 127.0.0.1, which is not allowed: the
    connection guard stops the driver before the socket connects."""
    with internal_http("127.0.0.1", leak(200)) as glance, \
            internal_http("127.0.0.2", keystone(f"http://127.0.0.1:{glance.url.rsplit(':', 1)[1]}")) as identity:
        problem = refused(allowing, openstack(f"http://{identity.url}/v3", "catalog"))
        assert any("auth/tokens" in hit for hit in identity.hits), identity.hits
        assert glance.hits == []
    assert "127.0.0.1" in problem["detail"]


# --- refresh re-checks the policy ------------------------------------------------------------

def engine() -> Answer:
    """The few calls of the docker driver's registration: version, ping, images, networks."""

    def answer(_method: str, path: str, _body: bytes) -> tuple[int, dict, bytes]:
        json_type = {"Content-Type": "application/json"}
        if path.endswith("/_ping"):
            return 200, {"Content-Type": "text/plain"}, b"OK"
        if path.endswith("/version"):
            return 200, json_type, json.dumps({"ApiVersion": "1.41", "Version": "24.0.0"}).encode()
        return 200, json_type, b"[]"

    return answer


def test_refresh_and_images_follow_the_current_policy(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with internal_http("127.0.0.2", engine()) as service:
        first = Nfvo(home, nfvo_env(home, NFVO_VIM_ALLOW="127.0.0.2"))
        try:
            first.start_server()
            user = _user_of(first)
            vim = user.post_json("/api/v1/datacenters", docker(f"tcp://{service.url}"))
            assert vim.status_code == 201, vim.text
            assert user.get(f"/api/v1/datacenters/{vim.json()['id']}/refresh").status_code == 200
            service.answer[0] = leak(500)  # the engine now answers with an internal error page
            failed = user.get(f"/api/v1/datacenters/{vim.json()['id']}/refresh")
            assert failed.status_code >= 500 and SECRET not in failed.text and "HTTP 500" in failed.text, failed.text
            service.answer[0] = engine()
        finally:
            first.stop()
        hits = len(service.hits)
        second = Nfvo(home, nfvo_env(home))  # the operator withdrew the allowance
        try:
            second.start_server()
            user = Api(second.url, "prober", PASSWORD, user.project)
            for path in ("refresh", "images"):
                problem = assert_problem(user.get(f"/api/v1/datacenters/{vim.json()['id']}/{path}"), 422,
                                         "vim-endpoint-refused")
                assert [e["pointer"] for e in problem["errors"]] == ["/authUrl"]
        finally:
            second.stop()
        assert len(service.hits) == hits
