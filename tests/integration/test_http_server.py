"""`nfvo serve`'s HTTP layer with real sockets: slow clients, oversized and ambiguous heads, Host."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from tests.integration.harness import embedded_nfvo

pytestmark = pytest.mark.integration

HEADER_TIMEOUT = 8  # NFVO_HTTP_HEADER_TIMEOUT of the server under test


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("http"), NFVO_HTTP_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
                       NFVO_VNFPKGM_PAGE_SIZE="1", NFVO_ALLOWED_HOSTS="nfvo.internal") as node:
        yield node


def connect(nfvo, timeout: float = 10) -> socket.socket:
    return socket.create_connection(("127.0.0.1", nfvo.port), timeout=timeout)


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket timeout)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


def health(nfvo) -> int:
    return requests.get(f"{nfvo.url}/health", timeout=5).status_code


def is_closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes ``sock``; False if it is still open after the socket timeout."""
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_200_slow_clients_leave_the_service_responsive_and_are_closed(nfvo):
    head_trickle = [connect(nfvo) for _ in range(100)]
    body_trickle = [connect(nfvo) for _ in range(100)]
    for sock in head_trickle:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    for sock in body_trickle:
        sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\ngrant_type=")
    stop = threading.Event()

    def trickle():  # one byte per connection per second, until the server closes it
        while not stop.wait(1):
            for sock in head_trickle + body_trickle:
                try:
                    sock.send(b"a")
                except OSError:
                    pass

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < HEADER_TIMEOUT - 2:
            assert health(nfvo) == 200
            time.sleep(0.5)
    finally:
        stop.set()
        feeder.join()
    # the late requests are dropped: every slow connection is closed by the server
    for sock in head_trickle + body_trickle:
        sock.settimeout(HEADER_TIMEOUT + 5)
        assert is_closed_by_server(sock)
        sock.close()
    assert health(nfvo) == 200


def test_a_huge_header_is_refused_with_431_without_reading_it(nfvo):
    sock = connect(nfvo)
    sent = 0

    def send_200_mb():
        nonlocal sent
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        chunk = b"a" * 65536
        try:
            while sent < 200 * 2**20:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass

    sender = threading.Thread(target=send_200_mb, daemon=True)
    sender.start()
    answer = read_answer(sock)
    sender.join(timeout=30)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head
    assert json.loads(body)["type"].endswith("/headers-too-large")
    assert sent < 50 * 2**20
    assert health(nfvo) == 200


SMUGGLED = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 5\r\nContent-Length: 50\r\n",
    b"Content-Length: 5\r\nContent-Length: 5\r\n",
    b"Content-Length : 5\r\n",
    b"Content-Length: +5\r\n",
    b"Transfer-Encoding: chunked, identity\r\n",
    b"X-Folded: a\r\n Transfer-Encoding: chunked\r\n",
])
def test_ambiguous_framing_answers_400_and_closes(nfvo, framing):
    sock = connect(nfvo)
    sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n" + framing + b"\r\n0\r\n\r\n" + SMUGGLED)
    answer = read_answer(sock)  # returns only once the server has closed the connection
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"HTTP/1.1 200" not in answer  # the request behind it was not read
    head, _, body = answer.partition(b"\r\n\r\n")
    assert json.loads(body)["type"].endswith("/malformed-request")


def test_chunked_and_expect_continue_requests_still_work(nfvo):
    form = b"grant_type=password&username=admin&password=test-admin-pw"
    auth = b"Authorization: Basic b3BlbmJhdG9uT1NDbGllbnQ6c2VjcmV0\r\n"  # openbatonOSClient:secret
    sock = connect(nfvo)
    sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + auth
                 + b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + b"%x\r\n" % len(form) + form + b"\r\n0\r\n\r\n")
    assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()

    sock = connect(nfvo)
    sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + auth
                 + b"Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n"
                 + b"Content-Length: %d\r\n\r\n" % len(form))
    assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    sock.sendall(form)
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and b"access_token" in answer


def test_links_never_name_an_unchecked_host(nfvo):
    evil = {"Host": "evil.example"}
    created = nfvo.api.post_json("/vnfpkgm/v1/vnf_packages", {}, headers=evil)
    assert created.status_code == 201, created.text
    nfvo.api.post_json("/vnfpkgm/v1/vnf_packages", {})
    listed = nfvo.api.get("/vnfpkgm/v1/vnf_packages", headers=evil)
    one = nfvo.api.get(f"/vnfpkgm/v1/vnf_packages/{created.json()['id']}", headers=evil)
    for answer in (created, listed, one):
        assert answer.ok
        assert "evil.example" not in answer.text and "evil.example" not in str(answer.headers)
    assert created.headers["Location"].startswith(f"http://127.0.0.1:{nfvo.port}/vnfpkgm/v1/vnf_packages/")
    assert created.json()["_links"]["self"]["href"] == created.headers["Location"]
    assert listed.headers["Link"].startswith(f"<http://127.0.0.1:{nfvo.port}/")

    # the address the connection arrived at, and NFVO_ALLOWED_HOSTS entries, are kept
    allowed = nfvo.api.get("/vnfpkgm/v1/vnf_packages", headers={"Host": "NFVO.internal:8443"})
    assert allowed.json()[0]["_links"]["self"]["href"].startswith("http://nfvo.internal:8443/")


def test_links_use_nfvo_public_url(tmp_path):
    with embedded_nfvo(tmp_path, NFVO_PUBLIC_URL="https://nfvo.example.com") as node:
        created = node.api.post_json("/vnfpkgm/v1/vnf_packages", {}, headers={"Host": "evil.example"})
        assert created.status_code == 201, created.text
        assert created.headers["Location"].startswith("https://nfvo.example.com/vnfpkgm/v1/vnf_packages/")
        assert "evil.example" not in created.text


TRICKLE_GRACE = 3  # NFVO_HTTP_BODY_TIMEOUT of the upload server: the grace before the rate counts


@pytest.fixture(scope="module")
def uploads_nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("uploads"), NFVO_HTTP_BODY_TIMEOUT=str(TRICKLE_GRACE),
                       NFVO_HTTP_UPLOAD_THREADS="10", NFVO_HTTP_MIN_BODY_RATE="4096") as node:
        yield node


def upload_head(nfvo, length: int) -> bytes:
    """The head of a package upload of ``length`` bytes, and the start of its multipart body."""
    return (b"POST /api/v1/vnf-packages HTTP/1.1\r\nHost: 127.0.0.1\r\nproject-id: default\r\n"
            b"Authorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=B\r\n"
            b"Content-Length: %d\r\n\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.tar\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" % (nfvo.api.token().encode(), length))


def test_uploads_trickled_below_the_minimum_rate_hold_no_request_thread_and_get_408(uploads_nfvo):
    nfvo = uploads_nfvo
    # 20 uploads (more than the 16 request threads and the 10 upload threads): each sends 70 KB
    # at once, then 1 KB/s, below NFVO_HTTP_MIN_BODY_RATE, and never pauses for long
    tricklers = [connect(nfvo, timeout=60) for _ in range(20)]
    for sock in tricklers:
        sock.sendall(upload_head(nfvo, 50_000_000) + b"x" * 70_000)
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.5):
            for sock in tricklers:
                try:
                    sock.send(b"x" * 500)
                except OSError:
                    pass

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        started = time.monotonic()
        while time.monotonic() - started < TRICKLE_GRACE + 1:  # the rest of the API answers meanwhile
            assert health(nfvo) == 200
            assert nfvo.api.get("/api/v1/datacenters").status_code == 200
            time.sleep(0.3)
        answers = [read_answer(sock) for sock in tricklers]  # each ends once the server closes it
    finally:
        stop.set()
        feeder.join()
        for sock in tricklers:
            sock.close()
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        head, _, body = answer.partition(b"\r\n\r\n")
        assert b"Connection: close" in head
        assert json.loads(body)["type"].endswith("/body-too-slow")
    assert not list((nfvo.home / "uploads").glob("*.upload")), "a refused upload left its file"
    assert health(nfvo) == 200


def test_a_large_body_sent_slowly_but_above_the_minimum_rate_is_read(uploads_nfvo):
    form = b"grant_type=password&username=admin&password=test-admin-pw&padding=" + b"p" * 150_000
    sock = connect(uploads_nfvo, timeout=30)
    sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 b"Authorization: Basic b3BlbmJhdG9uT1NDbGllbnQ6c2VjcmV0\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(form))
    for start in range(0, len(form), 3000):  # about 30 KB/s for 5 s, longer than the grace
        sock.sendall(form[start:start + 3000])
        time.sleep(0.1)
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and b"access_token" in answer, answer[:300]


def test_a_chunked_body_with_a_bad_chunk_size_is_refused(nfvo):
    sock = connect(nfvo)
    sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zz\r\nabc\r\n0\r\n\r\n")
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["type"].endswith("/malformed-request")
