"""nfvo.fetch.open_http against a real loopback HTTP server."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time

import pytest

from nfvo import fetch
from nfvo.errors import FetchFailed, FetchRefused, TooLarge
from nfvo.fetch import FetchPolicy, open_http

try:
    from servers import (
        basic_auth_required,
        endless,
        free_port,
        hold_until_hangup,
        raw,
        redirect,
        self_signed_tls,
        serve_http,
        stall,
        status,
    )
except ImportError:  # collected as a package
    from tests.integration.servers import (
        basic_auth_required,
        endless,
        free_port,
        hold_until_hangup,
        raw,
        redirect,
        self_signed_tls,
        serve_http,
        stall,
        status,
    )

pytestmark = pytest.mark.integration

LOOPBACK = FetchPolicy.from_allow_string("127.0.0.1", connect_timeout=2, read_timeout=5, total_timeout=20)
BIG = 20 * 2**20


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    (root / "big.bin").write_bytes(os.urandom(BIG))
    (root / "small.txt").write_bytes(b"hello\n")
    return root


@pytest.fixture
def requests_seen():
    return []


@pytest.fixture
def base(site, requests_seen):
    routes = {
        "/moved": redirect("/small.txt"),
        "/moved-abs": redirect("/moved", status=301),
        "/to-private": redirect("http://10.0.0.1/pkg.tar"),
        "/to-v6-loopback": redirect("http://[::1]:9/pkg.tar", status=307),
        "/to-file": redirect("file:///etc/passwd"),
        "/hop-then-private": redirect("/to-private"),
        "/loop": redirect("/loop"),
        "/no-location": status(302),
        "/gone": status(410, b"gone"),
        "/stall": stall(30, content_length=100, first=b"x" * 10),
        "/stall-headers": stall(30, send_headers=False),
        "/endless": endless(),
        "/liar": endless(content_length=10**12),
        "/short": stall(0, content_length=100, first=b"only ten.."),
    }
    with serve_http(site, routes, log=requests_seen) as url:
        yield url


def test_loopback_is_refused_without_allow(base, requests_seen):
    with pytest.raises(FetchRefused, match="loopback"):
        with open_http(f"{base}/small.txt", FetchPolicy()):
            pass
    assert requests_seen == []


def test_streams_a_large_file_in_chunks(base, site):
    digest = hashlib.sha256()
    with open_http(f"{base}/big.bin", LOOPBACK) as stream:
        assert stream.size == BIG
        assert stream.readable()
        while chunk := stream.read(256 * 1024):
            assert len(chunk) <= 256 * 1024
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256((site / "big.bin").read_bytes()).hexdigest()


def test_copyfileobj_works(base, site, tmp_path):
    with open_http(f"{base}/big.bin", LOOPBACK) as stream, open(tmp_path / "copy", "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    assert (tmp_path / "copy").read_bytes() == (site / "big.bin").read_bytes()


def test_redirects_to_allowed_hops_are_followed(base, requests_seen):
    with open_http(f"{base}/moved-abs", LOOPBACK) as stream:
        assert stream.read() == b"hello\n"
        assert stream.url == f"{base}/small.txt"
    assert requests_seen == ["/moved-abs", "/moved", "/small.txt"]


@pytest.mark.parametrize(
    "path, words",
    [
        ("/to-private", "http://10.0.0.1/pkg.tar"),
        ("/hop-then-private", "10.0.0.1"),
        ("/to-v6-loopback", "::1"),
        ("/to-file", "scheme 'file'"),
    ],
)
def test_redirect_to_a_refused_hop_is_refused_before_connecting(base, path, words):
    # Nothing listens on 10.0.0.1 or [::1]:9 here: the refusal must come from the check.
    with pytest.raises(FetchRefused) as caught:
        with open_http(f"{base}{path}", LOOPBACK):
            pass
    assert words in caught.value.detail


def test_too_many_redirects(base, requests_seen):
    policy = FetchPolicy(allow=("127.0.0.1",), max_redirects=3)
    with pytest.raises(FetchFailed, match="more than 3 redirects"):
        with open_http(f"{base}/loop", policy):
            pass
    assert len(requests_seen) == 4


def test_redirect_without_location(base):
    with pytest.raises(FetchFailed, match="without a Location"):
        with open_http(f"{base}/no-location", LOOPBACK):
            pass


@pytest.mark.parametrize("path, code", [("/missing.tar", "404"), ("/gone", "410")])
def test_error_status_names_url_and_status(base, path, code):
    with pytest.raises(FetchFailed) as caught:
        with open_http(f"{base}{path}", LOOPBACK):
            pass
    assert f"{base}{path}" in caught.value.detail and code in caught.value.detail


def test_announced_size_over_the_limit_is_refused_at_once(base):
    policy = FetchPolicy(allow=("127.0.0.1",), max_bytes=1000)
    with pytest.raises(TooLarge, match="big.bin"):
        with open_http(f"{base}/big.bin", policy):
            pass
    with pytest.raises(TooLarge, match="liar"):
        with open_http(f"{base}/liar", LOOPBACK):
            pass


def test_endless_body_is_cut_at_the_limit(base):
    policy = FetchPolicy(allow=("127.0.0.1",), max_bytes=3 * 2**20 + 5)
    read = 0
    with pytest.raises(TooLarge, match="/endless"):
        with open_http(f"{base}/endless", policy) as stream:
            assert stream.size is None
            for _ in range(100_000):  # a read returns what has arrived, often less than asked
                chunk = stream.read(1 << 20)
                if not chunk:
                    break
                read += len(chunk)
    assert 3 * 2**20 <= read <= 3 * 2**20 + 5  # never a byte past the limit


def test_exactly_the_limit_is_fine(base):
    with open_http(f"{base}/small.txt", FetchPolicy(allow=("127.0.0.1",), max_bytes=6)) as stream:
        assert stream.read() == b"hello\n"


@pytest.mark.parametrize("path", ["/stall", "/stall-headers"])
def test_a_stalled_server_fails_within_the_read_timeout(base, path):
    policy = FetchPolicy(allow=("127.0.0.1",), read_timeout=1, total_timeout=20)
    started = time.monotonic()
    with pytest.raises(FetchFailed) as caught:
        with open_http(f"{base}{path}", policy) as stream:
            for _ in range(100):
                if not stream.read(4096):
                    break
    assert time.monotonic() - started < 5
    assert path in caught.value.detail


def test_total_timeout_bounds_a_slow_drip(site):
    routes = {"/drip": endless(chunk_size=16, delay=0.1)}
    policy = FetchPolicy(allow=("127.0.0.1",), read_timeout=5, total_timeout=1.5)
    started = time.monotonic()
    with serve_http(site, routes) as url:
        with pytest.raises(FetchFailed, match="longer than 1.5 s"):
            with open_http(f"{url}/drip", policy) as stream:
                for _ in range(10_000):
                    stream.read(16)
    assert time.monotonic() - started < 5


def test_total_timeout_bounds_one_large_read_of_a_drip(site):
    # One byte every 0.3 s: each byte resets the socket timeout, so only a read that
    # returns what has arrived (or the deadline itself) keeps the total bound.
    routes = {"/drip": endless(chunk_size=1, delay=0.3, content_length=2 * 2**20)}
    policy = FetchPolicy(allow=("127.0.0.1",), read_timeout=5, total_timeout=2)
    started = time.monotonic()
    with serve_http(site, routes) as url:
        with pytest.raises(FetchFailed, match="longer than 2 s"):
            with open_http(f"{url}/drip", policy) as stream:
                for _ in range(1000):
                    stream.read(1 << 20)
    assert time.monotonic() - started < 6


def test_total_timeout_bounds_dripped_headers(site):
    answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 50_000
    routes = {"/drip-headers": raw(answer, delay=0.2)}
    policy = FetchPolicy(allow=("127.0.0.1",), read_timeout=5, total_timeout=2)
    started = time.monotonic()
    with serve_http(site, routes) as url:
        with pytest.raises(FetchFailed, match="longer than 2 s"):
            with open_http(f"{url}/drip-headers", policy):
                pass
    assert time.monotonic() - started < 6


@pytest.mark.parametrize("length", [b"9" * 5000, b"\xb2"], ids=["5000 digits", "superscript two"])
def test_an_unreadable_content_length_means_unknown_size(site, length):
    routes = {"/odd": raw(b"HTTP/1.1 200 OK\r\nContent-Length: " + length + b"\r\nConnection: close\r\n\r\nhello")}
    with serve_http(site, routes) as url:
        with open_http(f"{url}/odd", LOOPBACK) as stream:
            assert stream.size is None
            assert stream.read() == b"hello"


def test_a_content_length_of_more_than_19_digits_is_not_taken_as_a_size(site):
    routes = {"/odd": raw(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"1" * 20 + b"\r\n\r\n")}
    with serve_http(site, routes) as url:
        with open_http(f"{url}/odd", LOOPBACK) as stream:
            assert stream.size is None


def test_a_failure_while_opening_the_stream_closes_the_connection(site, monkeypatch):
    hung_up = threading.Event()

    def broken(*args, **kwargs):
        raise RuntimeError("the stream could not be built")

    monkeypatch.setattr(fetch, "HttpStream", broken)
    with serve_http(site, {"/hold": hold_until_hangup(hung_up)}) as url:
        with pytest.raises(RuntimeError) as caught:  # the traceback keeps the frames alive
            with open_http(f"{url}/hold", LOOPBACK):
                pass
        assert hung_up.wait(5)
        assert "could not be built" in str(caught.value)


def test_truncated_body_fails(base):
    with pytest.raises(FetchFailed, match="/short"):
        with open_http(f"{base}/short", LOOPBACK) as stream:
            for _ in range(100):
                if not stream.read(4096):
                    break


def test_connection_refused_fails():
    url = f"http://127.0.0.1:{free_port()}/pkg.tar"
    with pytest.raises(FetchFailed, match="cannot connect"):
        with open_http(url, LOOPBACK):
            pass


def test_closed_stream_refuses_reads(base):
    with open_http(f"{base}/small.txt", LOOPBACK) as stream:
        pass
    assert stream.closed
    with pytest.raises(ValueError):
        stream.read(1)


def test_https_connects_to_the_checked_ip_with_the_name_for_sni_and_verification(site, tmp_path):
    # The server's certificate is self-signed, so verification must fail - after a TLS
    # handshake to 127.0.0.1 that carried the host *name* as SNI.
    tls = self_signed_tls(tmp_path, "localhost")
    names = []
    tls.sni_callback = lambda sock, name, ctx: names.append(name)
    with serve_http(site, tls=tls) as base:
        url = base.replace("127.0.0.1", "localhost") + "/small.txt"
        with pytest.raises(FetchRefused):
            with open_http(url, FetchPolicy()):
                pass
        with pytest.raises(FetchFailed, match="certificate verify failed"):
            with open_http(url, FetchPolicy(allow=("localhost",), connect_timeout=2, read_timeout=5)):
                pass
    assert names == ["localhost"]


def test_basic_auth_goes_to_the_links_origin_only(tmp_path):
    seen_here, seen_there = [], []
    with serve_http(tmp_path, {"/there": basic_auth_required("u", "p", b"other", seen_there)}) as there, \
            serve_http(tmp_path, {"/pkg": basic_auth_required("u", "p", b"payload", seen_here),
                                  "/away": redirect(f"{there}/there")}) as here:
        with open_http(f"{here}/pkg", LOOPBACK, basic_auth=("u", "p")) as stream:
            assert stream.read() == b"payload"
        with pytest.raises(FetchFailed, match="401"):
            with open_http(f"{here}/pkg", LOOPBACK, basic_auth=("u", "wrong")):
                pass
        with pytest.raises(FetchFailed, match="401"):  # the other origin never sees the credentials
            with open_http(f"{here}/away", LOOPBACK, basic_auth=("u", "p")):
                pass
    assert seen_there == [None]
    assert seen_here[0].startswith("Basic ") and len(seen_here) == 2
