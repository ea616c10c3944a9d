"""A real Docker Engine and a local registry for tests, shared by every test session of this checkout.

``docker_engine`` (a session fixture) and ``running_docker_engine()`` (a context manager)
give a :class:`DockerEngine`: dockerd 20.10 from Debian's ``docker.io`` on its own unix
socket (and on a loopback TCP port with TLS and client certificates), plus a
``docker-registry`` on a free loopback port. Everything lives in ``<repo>/.cache/docker/``:
``docker.sock``, ``data/`` (data-root), ``x/`` (exec-root), ``dockerd.pid``, ``tls/``,
``logs/``. The first session installs the Debian packages with apt-get when they are
missing (as root) and starts both servers; sessions that start while they run reuse
them, and the last session to finish stops them (by pid), unmounts the network
namespace dockerd leaves behind and removes the ``/etc/docker/key.json`` it wrote.
Anything that goes wrong fails the test with the log tail and how to get Docker; it
never skips.

Facts this relies on: dockerd treats registries on 127.0.0.0/8 as insecure (plain HTTP
push and pull work); ``--iptables=false --bridge=none`` keep it off the host's network
set-up; ``overlay2`` works on ext4/xfs (``vfs`` is the fallback elsewhere).

It also writes ``docker save`` tarballs with the standard library
(:func:`write_image_tarball`), so tests need neither network nor the docker CLI.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / ".cache" / "docker"
PACKAGES = ("docker.io", "docker-registry", "busybox-static")
BUSYBOX = Path("/bin/busybox")
HOW_TO_GET_DOCKER = (
    "These tests need a Docker Engine (dockerd) and a Docker registry. As root on Debian/Ubuntu they install "
    "them themselves (apt-get install docker.io docker-registry busybox-static); otherwise install those "
    "packages (or Docker Engine from https://docs.docker.com/engine/install/ and the CNCF 'distribution' "
    "registry) and run the tests as root, since dockerd needs root."
)
_INSTALL_TIMEOUT = 600.0
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 20.0
_LOCK_TIMEOUT = 300.0  # another session may be installing the packages


@dataclass(frozen=True)
class DockerEngine:
    """A running dockerd and registry; TLS material as PEM text (CA, client certificate, client key)."""

    url: str
    registry: str
    tls_url: str
    tls_ca: str = field(repr=False)
    tls_cert: str = field(repr=False)
    tls_key: str = field(repr=False)
    base: Path = BASE

    @contextlib.contextmanager
    def client(self) -> Iterator:
        """A ``docker.DockerClient`` on the unix socket (the docker SDK comes with nfvo-driver-docker)."""
        import docker

        client = docker.DockerClient(base_url=self.url, version="auto", timeout=60)
        try:
            yield client
        finally:
            client.close()

    def push(self, data: bytes, repository: str, tag: str = "1") -> str:
        """Loads the ``docker save`` tarball ``data``, pushes it to the registry as
        ``<registry>/<repository>:<tag>``, removes it from the engine; returns its manifest digest."""
        reference = f"{self.registry}/{repository}"
        with self.client() as client:
            [image] = client.images.load(data)
            image.tag(reference, tag)
            for line in client.api.push(reference, tag, stream=True, decode=True):
                if "error" in line:
                    raise AssertionError(f"push of {reference}:{tag} failed: {line}")
            client.images.remove(f"{reference}:{tag}")
        request = urllib.request.Request(
            f"http://{self.registry}/v2/{repository}/manifests/{tag}", method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.headers["Docker-Content-Digest"]

    def run(self, image: str, *command: str, timeout: float = 60) -> bytes:
        """What ``command`` prints in a new container of ``image`` (no network), which is removed afterwards.

        dockerd 20.10 may answer the logs of a container that just exited before its log copier
        wrote them (``containers.run`` then returns ``b""`` now and then), so empty logs are read again
        for a while.
        """
        with self.client() as client:
            container = client.containers.create(image, list(command), network_mode="none")
            try:
                container.start()
                container.wait(timeout=timeout)
                deadline = time.monotonic() + 5
                while not (out := container.logs()) and time.monotonic() < deadline:
                    time.sleep(0.05)
                return out
            finally:
                container.remove(force=True)

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.base / "logs" / "dockerd.log", lines)


# --- the fixture and the context manager -----------------------------------------------

_lock = threading.Lock()
_current: tuple[DockerEngine, int] | None = None  # the engine this process uses, and its holder count
_users_fd: int | None = None  # shared flock on users.lock while this process uses the engine


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """The shared Docker Engine and registry (started for the session when not running yet)."""
    with running_docker_engine() as engine:
        yield engine


@contextlib.contextmanager
def running_docker_engine() -> Iterator[DockerEngine]:
    """Yields the engine; nested or repeated use in one process reuses it."""
    global _current
    with _lock:
        if _current is None:
            _current = (_acquire(), 0)
        engine, holders = _current
        _current = (engine, holders + 1)
    try:
        yield engine
    finally:
        with _lock:
            engine, holders = _current
            _current = (engine, holders - 1) if holders > 1 else None
            if holders == 1:
                _release()


def _fail(message: str, log: Path | None = None) -> None:
    tail = f"\n--- {log} (last lines) ---\n{_tail(log)}" if log else ""
    pytest.fail(f"{message}\n{HOW_TO_GET_DOCKER}{tail}", pytrace=False)


def _tail(path: Path | None, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except (OSError, AttributeError):
        return "(no log)"


# --- sharing between sessions: flocks under BASE ------------------------------------------


@contextlib.contextmanager
def _flock(path: Path, timeout: float = _LOCK_TIMEOUT) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    _fail(f"another test session holds {path} for more than {timeout:.0f} s")
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _acquire() -> DockerEngine:
    global _users_fd
    BASE.mkdir(parents=True, exist_ok=True)
    with _flock(BASE / "state.lock"):
        fd = os.open(BASE / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_SH)  # never blocks: exclusive holders also hold state.lock
        try:
            engine = _running_engine() or _start()
        except BaseException:
            os.close(fd)
            raise
        _users_fd = fd
        return engine


def _release() -> None:
    """Stops the servers unless another session still uses them."""
    global _users_fd
    fd, _users_fd = _users_fd, None
    if fd is None:
        return
    with _flock(BASE / "state.lock"):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return  # another session still uses the engine; it stops it
        try:
            _stop(_read_state())
        finally:
            os.close(fd)


# --- state of the servers -------------------------------------------------------------------


def _read_state() -> dict:
    try:
        return json.loads((BASE / "engine.json").read_text())
    except (OSError, ValueError):
        return {}


def _alive(pid: int | None, needle: str) -> bool:
    """The process ``pid`` exists and its command line mentions ``needle`` (guards against pid reuse)."""
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return needle in cmdline


def _ping(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        return answer.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


def _registry_answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _engine_from(state: dict) -> DockerEngine:
    tls = BASE / "tls"
    return DockerEngine(
        url=f"unix://{BASE / 'docker.sock'}",
        registry=state["registry"],
        tls_url=f"tcp://127.0.0.1:{state['tls_port']}",
        tls_ca=(tls / "ca.pem").read_text(),
        tls_cert=(tls / "client.pem").read_text(),
        tls_key=(tls / "client-key.pem").read_text(),
        base=BASE,
    )


def _running_engine() -> DockerEngine | None:
    """The servers another session started, when both still answer."""
    state = _read_state()
    if (state and _alive(state.get("dockerd_pid"), "dockerd") and _ping(BASE / "docker.sock")
            and _alive(state.get("registry_pid"), "registry") and _registry_answers(state["registry"])):
        return _engine_from(state)
    if state:
        _stop(state)  # left over by a session that was killed
    return None


# --- install, start, stop ---------------------------------------------------------------------

_apt_updated = False


def _missing_packages() -> list[str]:
    have = {"docker.io": shutil.which("dockerd"), "docker-registry": shutil.which("docker-registry"),
            "busybox-static": BUSYBOX.exists()}
    return [name for name in PACKAGES if not have[name]]


def _install() -> None:
    global _apt_updated
    missing = _missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        _fail(f"{', '.join(missing)} missing, and apt-get cannot install them here (not root, or not Debian)")
    log = BASE / "logs" / "apt.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [] if _apt_updated else [["apt-get", "update", "-qq"]]
    commands.append(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "-o",
                     "DPkg::Lock::Timeout=120", *missing])
    deadline = time.monotonic() + _INSTALL_TIMEOUT
    with open(log, "ab") as out:
        for command in commands:
            try:
                done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _fail(f"`{' '.join(command)}` took longer than {_INSTALL_TIMEOUT:.0f} s", log)
            if done.returncode != 0:
                _fail(f"`{' '.join(command)}` failed (exit {done.returncode})", log)
            if command[1] == "update":
                _apt_updated = True
    if _missing_packages():
        _fail(f"apt-get installed {', '.join(missing)} but {', '.join(_missing_packages())} is still missing", log)


def _exec_root() -> Path:
    # containerd puts unix sockets under the exec-root: keep their paths under the 108-byte limit
    short = BASE / "x"
    if len(str(short / "containerd" / "containerd.sock.ttrpc")) < 100:
        return short
    return Path(tempfile.gettempdir()) / f"nfvo-docker-{hashlib.sha256(str(BASE).encode()).hexdigest()[:8]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start() -> DockerEngine:
    t0 = time.monotonic()
    (BASE / "logs").mkdir(parents=True, exist_ok=True)
    _install()
    exec_root, data = _exec_root(), BASE / "data"
    for path in (data, exec_root, BASE / "registry-data"):
        _unmount_under(path)
        shutil.rmtree(path, ignore_errors=True)  # every fresh engine starts empty
        path.mkdir(parents=True, exist_ok=True)
    _write_tls(BASE / "tls")
    (BASE / "daemon.json").write_text("{}\n")  # not the host's /etc/docker/daemon.json
    key_json = Path("/etc/docker/key.json")
    state = {"exec_root": str(exec_root), "key_json_ours": not key_json.exists(),
             "etc_docker_ours": not key_json.parent.exists()}
    (BASE / "engine.json").write_text(json.dumps(state))

    log = BASE / "logs" / "dockerd.log"
    for driver in ("overlay2", "vfs"):
        tls_port = _free_port()
        process = _spawn(
            ["dockerd", "--host", f"unix://{BASE / 'docker.sock'}", "--host", f"tcp://127.0.0.1:{tls_port}",
             "--tlsverify", "--tlscacert", str(BASE / "tls" / "ca.pem"), "--tlscert", str(BASE / "tls" / "server.pem"),
             "--tlskey", str(BASE / "tls" / "server-key.pem"), "--data-root", str(data), "--exec-root", str(exec_root),
             "--pidfile", str(BASE / "dockerd.pid"), "--config-file", str(BASE / "daemon.json"),
             "--storage-driver", driver, "--iptables=false", "--bridge=none",
             "--containerd-namespace", "nfvo-tests", "--containerd-plugins-namespace", "nfvo-tests-plugins"],
            log,
        )
        state.update(dockerd_pid=process.pid, tls_port=tls_port, storage_driver=driver)
        (BASE / "engine.json").write_text(json.dumps(state))
        if _wait(lambda: _ping(BASE / "docker.sock"), lambda p=process: p.poll() is None, _START_TIMEOUT):
            break
        _stop_process(process.pid, "dockerd")
    else:
        _stop(state)
        _fail(f"dockerd did not start within {_START_TIMEOUT:.0f} s (tried overlay2 and vfs)", log)

    registry_log = BASE / "logs" / "registry.log"
    port = _free_port()
    config = BASE / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage:\n  filesystem: {{rootdirectory: {BASE / 'registry-data'}}}\n  delete: {{enabled: true}}\n"
        f"http: {{addr: 127.0.0.1:{port}}}\n"
    )
    registry = _spawn(["docker-registry", "serve", str(config)], registry_log)
    state.update(registry_pid=registry.pid, registry=f"127.0.0.1:{port}")
    (BASE / "engine.json").write_text(json.dumps(state))
    if not _wait(lambda: _registry_answers(state["registry"]), lambda: registry.poll() is None, 20):
        _stop(state)
        _fail("docker-registry did not answer within 20 s", registry_log)
    state["started_in"] = round(time.monotonic() - t0, 2)
    (BASE / "engine.json").write_text(json.dumps(state))
    return _engine_from(state)


def _spawn(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # outlives this session if another one uses it
    threading.Thread(target=process.wait, daemon=True).start()  # reap it when it exits while we run
    return process


def _wait(ready, alive, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        if not alive():
            return False
        time.sleep(0.1)
    return False


def _stop_process(pid: int | None, needle: str) -> None:
    if not _alive(pid, needle):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait(lambda: not _alive(pid, needle), lambda: True, _STOP_TIMEOUT):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _alive(pid, needle), lambda: True, 5)


def _stop(state: dict) -> None:
    """Stops the registry and dockerd (which stops its containerd) and undoes their traces on the host."""
    _stop_process(state.get("registry_pid"), "registry")
    _stop_process(state.get("dockerd_pid"), "dockerd")
    exec_root = Path(state.get("exec_root") or _exec_root())
    with contextlib.suppress(OSError, ValueError):  # a containerd that outlived a killed dockerd
        _stop_process(int((exec_root / "containerd" / "containerd.pid").read_text().strip()), "containerd")
    _unmount_under(exec_root)
    _unmount_under(BASE / "data")
    if state.get("key_json_ours"):
        Path("/etc/docker/key.json").unlink(missing_ok=True)
    if state.get("etc_docker_ours"):
        with contextlib.suppress(OSError):
            Path("/etc/docker").rmdir()
    (BASE / "engine.json").unlink(missing_ok=True)


def _unmount_under(path: Path) -> None:
    """Unmounts what dockerd left mounted under ``path`` (its network namespace, overlay mounts)."""
    root = str(path.resolve())
    try:
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    except OSError:
        return
    mounts = {m.replace("\\040", " ") for m in mounts}
    for target in sorted((m for m in mounts if m == root or m.startswith(root + "/")), key=len, reverse=True):
        if subprocess.run(["umount", target], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", target], capture_output=True, timeout=30)


def _write_tls(directory: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (dockerd --tlsverify)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def issue(subject: str, key, issuer=None, issuer_key=None, *, ca=False, usage=None, ip=None):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if usage:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if ip:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                            critical=False)
        return builder.sign(issuer_key or key, hashes.SHA256())

    def write(name: str, data: bytes) -> None:
        target = directory / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def pem_key(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = issue("nfvo test CA", ca_key, ca=True)
    write("ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    for role, usage, ip in (("server", ExtendedKeyUsageOID.SERVER_AUTH, "127.0.0.1"),
                            ("client", ExtendedKeyUsageOID.CLIENT_AUTH, None)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue(f"nfvo test {role}", key, ca.subject, ca_key, usage=usage, ip=ip)
        write(f"{role}.pem", cert.public_bytes(serialization.Encoding.PEM))
        write(f"{role}-key.pem", pem_key(key))


# --- docker save tarballs, written with the standard library ----------------------------------

_EPOCH = "2024-01-01T00:00:00Z"


def _add(tar: tarfile.TarFile, name: str, content: bytes | Path | None = None, *, link: str | None = None,
         mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    if link is not None:
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, link, 0o777
        tar.addfile(info)
    elif content is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif isinstance(content, Path):
        info.size, info.mode = content.stat().st_size, mode
        with open(content, "rb") as f:
            tar.addfile(info, f)
    else:
        info.size, info.mode = len(content), mode
        tar.addfile(info, io.BytesIO(content))


def write_image_tarball(out: BinaryIO, files: Mapping[str, bytes | Path], *, links: Mapping[str, str] = {},  # noqa: B006
                        tag: str | None = None, cmd: tuple[str, ...] = ("/bin/sh",)) -> str:
    """Writes a one-layer image in ``docker save`` format to ``out``; returns its image id (``sha256:...``).

    ``files`` maps paths in the image to content (``bytes``, or a ``Path`` copied in
    streaming); ``links`` maps paths to symlink targets. The output depends only on the
    arguments (fixed times and owners), so the same call gives the same bytes.
    """
    with tempfile.TemporaryFile() as layer:
        with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            directories = sorted({str(Path(p).parent) for p in [*files, *links] if str(Path(p).parent) != "."})
            for directory in directories:
                _add(tar, directory)
            for path, content in sorted(files.items()):
                _add(tar, path, content, mode=0o755 if path.startswith("bin/") else 0o644)
            for path, target in sorted(links.items()):
                _add(tar, path, link=target)
        layer.seek(0)
        digest = hashlib.sha256()
        while chunk := layer.read(1 << 20):
            digest.update(chunk)
        diff_id = f"sha256:{digest.hexdigest()}"
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "created": _EPOCH,
            "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": _EPOCH, "created_by": "nfvo tests"}],
        }, sort_keys=True).encode()
        image_id = hashlib.sha256(config).hexdigest()
        layer_dir = hashlib.sha256(diff_id.encode()).hexdigest()
        manifest = [{"Config": f"{image_id}.json", "RepoTags": [tag] if tag else None,
                     "Layers": [f"{layer_dir}/layer.tar"]}]
        layer.seek(0)
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, layer_dir)
            _add(tar, f"{layer_dir}/VERSION", b"1.0")
            info = tarfile.TarInfo(f"{layer_dir}/layer.tar")
            info.size, info.mtime, info.mode = os.fstat(layer.fileno()).st_size, 0, 0o644
            tar.addfile(info, layer)
            _add(tar, f"{image_id}.json", config)
            _add(tar, "manifest.json", json.dumps(manifest).encode())
    return f"sha256:{image_id}"


def image_tarball(files: Mapping[str, bytes | Path], **kwargs) -> bytes:
    """The bytes of a small ``docker save`` tarball (see :func:`write_image_tarball`)."""
    out = io.BytesIO()
    write_image_tarball(out, files, **kwargs)
    return out.getvalue()


def busybox_image(tag: str | None = None, extra: Mapping[str, bytes] = {}) -> bytes:  # noqa: B006
    """A runnable image: static busybox with ``sh``, ``echo``, ``cat`` and ``ls`` (about 2 MB)."""
    if not BUSYBOX.exists():
        _fail(f"{BUSYBOX} is missing (Debian package busybox-static)")
    links = {f"bin/{applet}": "busybox" for applet in ("sh", "echo", "cat", "ls", "sleep")}
    return image_tarball({"bin/busybox": BUSYBOX, **extra}, links=links, tag=tag)


__all__ = [
    "DockerEngine",
    "busybox_image",
    "docker_engine",
    "image_tarball",
    "running_docker_engine",
    "write_image_tarball",
]
