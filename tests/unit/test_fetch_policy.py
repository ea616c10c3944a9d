"""The link policy of nfvo.fetch: schemes, hosts, address classes, the allow-list (no network)."""

from __future__ import annotations

import ipaddress
import random
import re
import time

import pytest

from nfvo import fetch
from nfvo.errors import FetchFailed, FetchRefused
from nfvo.fetch import FetchPolicy, address_refusal, check_url, redact

OPEN = FetchPolicy()


def fixed(*addresses: str):
    """A resolver that answers ``addresses`` for every name (no DNS)."""

    def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


def no_dns(host: str, port: int) -> list[str]:
    """Resolve IP literals and numeric IPv4 forms like the C library, refuse names."""
    import socket

    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [info[4][0] for info in infos]


@pytest.mark.parametrize(
    "address, reason",
    [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "not globally routable"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "private"),
        ("192.0.2.1", "private"),  # documentation
        ("198.18.0.1", "private"),  # benchmarking
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("::7f00:1", "reserved"),  # IPv4-compatible ::127.0.0.1
        ("64:ff9b::a00:1", "reserved"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::1", "6to4 of a private address"),  # 6to4 of 10.0.0.1
        ("2002:7f00:1::1", "6to4 of a loopback address"),
    ],
)
def test_address_classification(address, reason):
    # The exact word for the overlapping IANA tables may vary between Python patch
    # releases ("private" vs "reserved"); public-or-not and the stable words must not.
    for value in (address, ipaddress.ip_address(address)):
        got = address_refusal(value)
        if reason is None:
            assert got is None
        else:
            assert got is not None
            if reason in ("loopback", "link-local", "multicast", "unspecified") or " " in reason:
                assert got == reason


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/pkg.tar",
        "https://8.8.8.8:8443/a/b?c=d",
        "http://[2606:4700:4700::1111]/x",
        "HTTPS://8.8.8.8/",
    ],
)
def test_public_addresses_pass(url):
    check_url(url, OPEN, resolver=no_dns)


@pytest.mark.parametrize(
    "url, words",
    [
        ("ftp://8.8.8.8/x", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://8.8.8.8/", "scheme"),
        ("//8.8.8.8/x", "scheme"),
        ("8.8.8.8/x", "scheme"),
        ("http:///x", "no host"),
        ("http://", "no host"),
        ("http://user@8.8.8.8/", "user information"),
        ("http://user:pw@8.8.8.8/", "user information"),
        ("http://8.8.8.8@127.0.0.1/", "user information"),
        ("http://127.0.0.1\\@8.8.8.8/", "backslash"),
        ("http://8.8.8.8/a b", "whitespace"),
        ("http://8.8.8.8/\nx", "control"),
        ("http://8.8.\t8.8/", "control"),
        ("http://8.8.8.8:99999/", "malformed"),
        ("http://8.8.8.8:port/", "malformed"),
        ("http://[::1/", "malformed"),
        ("http://%31%32%37.0.0.1/", "not valid"),
        ("http://-x.example/", "not valid"),
        ("", "empty"),
    ],
)
def test_malformed_or_disallowed_links_are_refused(url, words):
    with pytest.raises(FetchRefused) as caught:
        check_url(url, OPEN, resolver=fixed("8.8.8.8"))
    assert words in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        # numeric forms the C resolver turns into 127.0.0.1
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(FetchRefused) as caught:
        check_url(url, OPEN, resolver=no_dns)
    assert url in caught.value.detail
    assert caught.value.errors and url in caught.value.errors[0].message


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://017700000001/"])
def test_weird_ipv4_forms_are_judged_by_what_they_resolve_to(url):
    check_url(url, FetchPolicy(allow=("127.0.0.1",)), resolver=no_dns)


def test_every_address_of_a_name_must_be_public():
    check_url("https://mirror.example/x", OPEN, resolver=fixed("8.8.8.8", "2606:4700:4700::1111"))
    with pytest.raises(FetchRefused, match="resolves to 10.0.0.7"):
        check_url("https://mirror.example/x", OPEN, resolver=fixed("8.8.8.8", "10.0.0.7"))


def test_allow_by_host_name_admits_all_its_addresses():
    policy = FetchPolicy.from_allow_string(" repo.internal , ,10.1.0.0/16")
    assert policy.allow == ("repo.internal", "10.1.0.0/16")
    check_url("http://REPO.internal./pkg.tar", policy, resolver=fixed("10.9.9.9", "127.0.0.1"))
    with pytest.raises(FetchRefused):
        check_url("http://other.internal/pkg.tar", policy, resolver=fixed("10.9.9.9"))


def test_allow_by_cidr_and_ip():
    policy = FetchPolicy.from_allow_string("10.1.0.0/16,127.0.0.1,fd00::/8")
    check_url("http://10.1.2.3/", policy, resolver=no_dns)
    check_url("http://127.0.0.1:8080/", policy, resolver=no_dns)
    check_url("http://[fd00::5]/", policy, resolver=no_dns)
    check_url("http://[::ffff:10.1.2.3]/", policy, resolver=no_dns)  # mapped form of an allowed IP
    check_url("http://any.example/", policy, resolver=fixed("10.1.200.1", "8.8.8.8"))
    for url in ("http://10.2.0.1/", "http://127.0.0.2/", "http://[::1]/", "http://[fe00::1]/"):
        with pytest.raises(FetchRefused):
            check_url(url, policy, resolver=no_dns)
    with pytest.raises(FetchRefused):  # one allowed address does not admit the others
        check_url("http://any.example/", policy, resolver=fixed("10.1.200.1", "192.168.0.1"))


def test_ipv6_literal_allow_entries():
    policy = FetchPolicy.from_allow_string("[::1]")
    check_url("http://[::1]:9000/", policy, resolver=no_dns)
    check_url("http://[0:0::1]/", policy, resolver=no_dns)
    with pytest.raises(FetchRefused):
        check_url("http://127.0.0.1/", policy, resolver=no_dns)


def test_bad_allow_entry_fails_early():
    with pytest.raises(ValueError, match="10.0.0.0/33"):
        FetchPolicy.from_allow_string("10.0.0.0/33")


def test_schemes_can_be_narrowed():
    with pytest.raises(FetchRefused, match="scheme 'http'"):
        check_url("http://8.8.8.8/", OPEN, schemes=("https",), resolver=no_dns)


def test_unresolvable_host_fails():
    def nxdomain(host, port):
        raise OSError(-2, "Name or service not known")

    with pytest.raises(FetchFailed, match="cannot resolve"):
        check_url("http://nowhere.invalid/", OPEN, resolver=nxdomain)


def test_idn_host_names_are_checked_in_ascii_form():
    seen = []

    def record(host, port):
        seen.append((host, port))
        return ["8.8.8.8"]

    check_url("https://bücher.example/x", OPEN, resolver=record)
    assert seen == [("xn--bcher-kva.example", 443)]


def test_redact_strips_userinfo_only():
    assert redact("fatal: 'https://u:s3cret@h.example/r.git' and http://tok@x/") == (
        "fatal: 'https://h.example/r.git' and http://x/"
    )
    assert redact("git@github.com:o/r.git") == "git@github.com:o/r.git"


# The pattern redact() used before it was made linear: its output is the reference.
_OLD_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#'\"]*@")


def test_redact_output_is_what_the_userinfo_pattern_gives():
    rng = random.Random(20240601)
    for _ in range(20_000):
        text = "".join(rng.choice("ah1.+-:/@ x'#") for _ in range(rng.randrange(40)))
        assert redact(text) == _OLD_USERINFO.sub(lambda m: m.group("scheme"), text), text
    assert redact("see ...https://u:p@h/ and 1http://u@h") == "see ...https://h/ and 1http://h"


@pytest.mark.parametrize("text", ["a" * 400_000, "a1" * 200_000, ".a" * 200_000, "x://" + "b" * 400_000,
                                  "a://@" * 80_000, "1" * 400_000 + "://u@h"])
def test_redact_is_linear_on_hostile_text(text):
    started = time.monotonic()
    redact(text)
    assert time.monotonic() - started < 1


def test_git_stderr_summary_reads_only_the_tail():
    stderr = "remote: " + "a" * 400_000 + "\nfatal: see https://alice:" + "p" * 9000 + "@h.example/x\nfatal: gone\n"
    started = time.monotonic()
    summary = fetch._summarise_stderr(stderr, "git://h.example/x")
    assert time.monotonic() - started < 1
    assert summary.endswith("fatal: gone")
    assert "ppp" not in summary and "aaa" not in summary  # a URL cut by the tail is dropped, not shown


def test_git_runs_without_the_services_proxies_and_git_variables(monkeypatch):
    hostile = {
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "socks5://127.0.0.1:9", "all_proxy": "socks5://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "", "GIT_SSH_COMMAND": "ssh -o BatchMode=no", "GIT_SSH": "/bin/sh",
        "GIT_PROXY_COMMAND": "/bin/false", "GIT_DIR": "/tmp/elsewhere", "GIT_WORK_TREE": "/tmp/elsewhere",
        "GIT_CONFIG_PARAMETERS": "'protocol.allow'='always'", "GIT_SSL_NO_VERIFY": "1", "GIT_EXEC_PATH": "/tmp",
    }
    for name, value in hostile.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    env = fetch._git_environment("https", [("http.curloptResolve", "h:443:8.8.8.8")])
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        assert env[name] == "", name
    assert env["NO_PROXY"] == env["no_proxy"] == "*"
    for name in ("GIT_SSH", "GIT_PROXY_COMMAND", "GIT_DIR", "GIT_WORK_TREE", "GIT_CONFIG_PARAMETERS"):
        assert env.get(name, "") == "", name
    assert "GIT_SSL_NO_VERIFY" not in env and "GIT_EXEC_PATH" not in env
    assert env["GIT_SSH_COMMAND"].startswith("ssh ") and "BatchMode=yes" in env["GIT_SSH_COMMAND"]
    assert env["PATH"] == "/usr/bin:/bin"
    configured = {env[f"GIT_CONFIG_KEY_{i}"]: env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))}
    assert configured["protocol.allow"] == "never" and configured["protocol.https.allow"] == "always"
    assert configured["http.curloptResolve"] == "h:443:8.8.8.8"


def test_git_limits_have_defaults():
    policy = FetchPolicy()
    assert (policy.max_git_files, policy.max_git_file_bytes) == (1000, 8 * 2**20)
