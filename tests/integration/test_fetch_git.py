"""nfvo.fetch.fetch_git against a real git daemon on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time

import git
import pytest

from nfvo.errors import FetchFailed, FetchRefused, TooLarge
from nfvo.fetch import FetchPolicy, fetch_git

try:
    from servers import Symlink, free_port, make_git_repo, serve_git
except ImportError:  # collected as a package
    from tests.integration.servers import Symlink, free_port, make_git_repo, serve_git

pytestmark = pytest.mark.integration

LOOPBACK = FetchPolicy.from_allow_string("127.0.0.1", git_timeout=20)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("repos")
    shas = {
        "scripts": make_git_repo(
            root / "scripts",
            {"install.sh": b"#!/bin/sh\necho hi\n", "configure.sh": b"echo configure\n", "lib/helper.sh": b"x\n"},
        ),
        "links": make_git_repo(
            root / "links",
            {"ok.sh": b"echo ok\n", "passwd": Symlink("/etc/passwd"), "sub/up": Symlink("../.."), "dir": Symlink("sub")},
        ),
        "crowded": make_git_repo(root / "crowded", {f"f{i:02}.sh": b"echo\n" for i in range(12)}),
        "heavy": make_git_repo(root / "heavy", {"ok.sh": b"echo ok\n", "big.bin": b"x" * 4096}),
        "deep": make_git_repo(
            root / "deep",
            {"ok.sh": b"echo ok\n", "sub/big.bin": b"x" * 100_000, **{f"sub/f{i:02}": b"y\n" for i in range(30)}},
        ),
    }
    git.Repo.init(root / "empty", bare=True).close()
    with serve_git(root) as base:
        yield base, shas


def test_shallow_clone_matches_head(served, tmp_path):
    base, shas = served
    checkout = fetch_git(f"{base}/scripts", tmp_path / "out", LOOPBACK)
    assert checkout.commit == shas["scripts"]
    assert checkout.path == tmp_path / "out"
    assert checkout.url == f"{base}/scripts"
    assert checkout.files == ("configure.sh", "install.sh")
    assert checkout.symlinks == ()
    assert (tmp_path / "out" / "install.sh").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert (tmp_path / "out" / ".git" / "shallow").is_file()


def test_a_host_name_is_pinned_to_its_checked_address(served, tmp_path):
    base, shas = served
    url = base.replace("127.0.0.1", "localhost") + "/scripts"
    checkout = fetch_git(url, tmp_path / "out", FetchPolicy(allow=("localhost",), git_timeout=20))
    assert checkout.commit == shas["scripts"]
    # git was handed the checked IP; the clone records the link as given.
    config = (tmp_path / "out" / ".git" / "config").read_text()
    assert url in config and "127.0.0.1" not in config


def test_symlinks_are_reported_not_listed(served, tmp_path):
    base, _ = served
    checkout = fetch_git(f"{base}/links", tmp_path / "out", LOOPBACK)
    assert checkout.files == ("ok.sh",)
    # Only the top folder is checked out and inspected (sub/up stays in git's objects).
    assert checkout.symlinks == ("dir", "passwd")
    assert not (tmp_path / "out" / "passwd").exists() and not (tmp_path / "out" / "sub").exists()


def test_loopback_is_refused_without_allow(served, tmp_path):
    base, _ = served
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_git(f"{base}/scripts", tmp_path / "out", FetchPolicy())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% {marker}",
        "ext::sh -c 'touch {marker}'",
        "fd::17",
        "ext::sh",
        "file://{repo}",
        "file:///{repo}",
        "{repo}",
        "./scripts",
        "scripts",
        "-u touch {marker}",
        "-uhelp",
        "--upload-pack=touch {marker}",
        "--upload-pack=touch {marker}:x",
        "--config=core.sshCommand=touch {marker}",
        "ssh://-oProxyCommand=touch {marker}/x",
        "ssh://-oProxyCommand@127.0.0.1/x",
        "-oProxyCommand=x@127.0.0.1:repo",
        "git://127.0.0.1/x\n",
        "git://127.0.0.1/x\x00",
        "ftp://127.0.0.1/x",
        "ext://sh/x",
        "",
    ],
)
def test_dangerous_links_are_refused_without_running_git(served, tmp_path, url):
    marker = tmp_path / "pwned"
    url = url.format(marker=marker, repo=tmp_path / "scripts")
    make_git_repo(tmp_path / "scripts", {"a": b"a"})  # a real repository behind file:// and paths
    with pytest.raises(FetchRefused):
        fetch_git(url, tmp_path / "out", LOOPBACK)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_unreachable_port_fails(tmp_path):
    url = f"git://127.0.0.1:{free_port()}/scripts"
    with pytest.raises(FetchFailed) as caught:
        fetch_git(url, tmp_path / "out", LOOPBACK)
    assert url in caught.value.detail
    assert not (tmp_path / "out").exists()


def test_missing_repository_fails_with_gits_message(served, tmp_path):
    base, _ = served
    with pytest.raises(FetchFailed, match="no-such-repo") as caught:
        fetch_git(f"{base}/no-such-repo", tmp_path / "out", LOOPBACK)
    assert "git clone failed" in caught.value.detail


def test_an_empty_repository_fails(served, tmp_path):
    base, _ = served
    with pytest.raises(FetchFailed, match="empty"):
        fetch_git(f"{base}/empty", tmp_path / "out", LOOPBACK)
    assert not (tmp_path / "out").exists()


def test_a_relative_destination_is_taken_from_the_working_directory(served, tmp_path, monkeypatch):
    base, shas = served
    monkeypatch.chdir(tmp_path)
    checkout = fetch_git(f"{base}/scripts", "rel/out", LOOPBACK)
    assert checkout.path == tmp_path / "rel" / "out" and checkout.commit == shas["scripts"]


def test_credentials_never_reach_messages(tmp_path):
    port = free_port()
    url = f"http://alice:s3cret-token@127.0.0.1:{port}/repo.git"
    with pytest.raises(FetchFailed) as caught:
        fetch_git(url, tmp_path / "out", LOOPBACK)
    text = str(caught.value) + " ".join(e.message for e in caught.value.errors)
    assert "s3cret-token" not in text and "alice" not in text
    assert f"http://127.0.0.1:{port}/repo.git" in text


def test_a_silent_server_is_killed_after_git_timeout(tmp_path):
    # A listener that accepts and never answers: git would wait forever.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        policy = FetchPolicy(allow=("127.0.0.1",), git_timeout=1.5)
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="did not finish within 1.5 s"):
            fetch_git(f"git://127.0.0.1:{listener.getsockname()[1]}/x", tmp_path / "out", policy)
        assert time.monotonic() - started < 8
        assert not (tmp_path / "out").exists()
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_destination_must_not_exist(served, tmp_path):
    base, _ = served
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError):
        fetch_git(f"{base}/scripts", tmp_path / "out", LOOPBACK)


def test_a_top_folder_with_too_many_entries_is_refused(served, tmp_path):
    base, _ = served
    with pytest.raises(TooLarge) as caught:
        fetch_git(f"{base}/crowded", tmp_path / "out", FetchPolicy(allow=("127.0.0.1",), git_timeout=20, max_git_files=10))
    assert f"{base}/crowded" in caught.value.detail and "more than 10" in caught.value.detail
    assert not (tmp_path / "out").exists()
    checkout = fetch_git(f"{base}/crowded", tmp_path / "ok", FetchPolicy(allow=("127.0.0.1",), max_git_files=12))
    assert len(checkout.files) == 12


def test_a_top_level_file_over_the_size_limit_is_refused(served, tmp_path):
    base, _ = served
    policy = FetchPolicy(allow=("127.0.0.1",), git_timeout=20, max_git_file_bytes=4095)
    with pytest.raises(TooLarge) as caught:
        fetch_git(f"{base}/heavy", tmp_path / "out", policy)
    assert f"{base}/heavy" in caught.value.detail
    assert [issue.message for issue in caught.value.errors] == [
        f"{base}/heavy: big.bin is 4096 bytes, more than the limit of 4095"]
    assert not (tmp_path / "out").exists()
    checkout = fetch_git(f"{base}/heavy", tmp_path / "ok", FetchPolicy(allow=("127.0.0.1",), max_git_file_bytes=4096))
    assert checkout.files == ("big.bin", "ok.sh")
    assert (tmp_path / "ok" / "big.bin").read_bytes() == b"x" * 4096


def test_only_the_top_folder_counts_and_is_checked_out(served, tmp_path):
    base, shas = served
    policy = FetchPolicy(allow=("127.0.0.1",), git_timeout=20, max_git_files=2, max_git_file_bytes=100)
    checkout = fetch_git(f"{base}/deep", tmp_path / "out", policy)
    assert checkout.commit == shas["deep"]
    assert checkout.files == ("ok.sh",) and checkout.symlinks == ()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".git", "ok.sh"]


def test_the_services_proxies_and_git_variables_do_not_reach_git(served, tmp_path, monkeypatch):
    base, shas = served
    closed = f"http://127.0.0.1:{free_port()}"
    marker = tmp_path / "ran"
    for name in ("https_proxy", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, closed)
    monkeypatch.setenv("GIT_PROXY_COMMAND", f"{tmp_path / 'proxy.sh'}")  # git:// would connect through it
    (tmp_path / "proxy.sh").write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    (tmp_path / "proxy.sh").chmod(0o755)
    monkeypatch.setenv("GIT_SSH_COMMAND", f"touch {marker}")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_SSL_NO_VERIFY", "1")
    checkout = fetch_git(f"{base}/scripts", tmp_path / "out", LOOPBACK)
    assert checkout.commit == shas["scripts"] and checkout.files == ("configure.sh", "install.sh")
    assert not marker.exists() and not (tmp_path / "elsewhere").exists()
