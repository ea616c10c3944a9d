"""Real OpenStack Swift 2.38 (from PyPI) with its S3 API, on loopback ports, for the object store's tests.

``swift_fixture()`` makes a session-scoped pytest fixture yielding a :class:`SwiftS3`;
``swift_s3()`` is the same as a context manager.  The server starts at most once per test
process, whichever modules ask for it, and stops at the end of the session (and, as a
safety net, at interpreter exit).  ``python -m tests.backends.swift`` starts one by hand,
prints the endpoint and credentials, and runs until Ctrl-C.

How it works:

1. Swift is installed from PyPI into its own venv, ``<repo>/.cache/swift-venv`` (or
   ``NFVO_TEST_SWIFT_VENV``), pinned by ``deploy/object-store/constraints.txt`` as the
   deployment's image is (about 12 s and 80 MB, once; reused while it holds swift==2.38.3).
2. Every session makes a temporary directory (``nfvo-swift-*``) with ``swift.conf``, one
   device ``d1``, account, container and object rings of one partition and one replica
   built with ``swift-ring-builder`` for the ports picked for this run, and the
   configuration of four servers: account, container, object, and a proxy whose pipeline
   has ``s3api`` and ``tempauth`` (user ``test:tester``, key ``testing``, region
   ``us-east-1``), all written by ``deploy/object-store/swift_s3.py``, the very code the
   ``object-store`` service of docker-compose.yml runs.  The servers run in the foreground
   (``workers = 0``), in their own process groups, killed with the test process even on SIGKILL.  Swift is
   ready when every server's ``/healthcheck`` answers and a bucket (and an object in it)
   can be created and deleted through boto3 (SigV4, path-style).  Start-up takes about
   3 s (15 s with a new venv); a request then costs about 20 ms, and multipart transfers
   run at 100-180 MB/s.
3. No memcached (these machines have none): the proxy runs without the ``cache``
   middleware, which tempauth needs only for Swift's own tokens (S3 requests are checked
   by their signature) and the proxy only to cache account and container metadata
   between requests.  With the middleware but no memcached, requests are no faster and
   each logs four connection errors; leaving it out also keeps a developer's memcached,
   if any, from mixing the metadata of two runs.
4. The servers log to stderr (``--verbose``), captured in ``logs/*.log`` of the run
   directory, and not to syslog (a small ``log_custom_handlers`` hook, written into the run
   directory, removes Swift's syslog handlers); the last session's logs are kept in
   ``<repo>/.cache/swift-logs``.

Why Swift: it is a real object store implementation, installable from PyPI in seconds
with nothing but Python and without root (no Docker engine runs here, and there is no
image registry to pull MinIO or Ceph from: these machines reach PyPI and Debian's
packages), and its ``s3api`` middleware speaks the S3 API the store backend uses,
including multipart uploads (with UploadPartCopy) and ranged GETs.  What it does is
pinned down by ``tests/integration/test_swift_server.py``.

Anything that goes wrong fails the test (never skips) with the log tail and what to do.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.backends import processes
from tests.backends.processes import (
    ServerRun,
    SharedServer,
    clean_env,
    free_ports,
    new_run_dir,
    remove_abandoned_runs,
    spawn,
)

ROOT = Path(__file__).resolve().parents[2]


def _deployed_module():
    """``deploy/object-store/swift_s3.py``: the configuration and servers the deployment runs too."""
    spec = importlib.util.spec_from_file_location("nfvo_swift_s3", ROOT / "deploy" / "object-store" / "swift_s3.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


swift_s3 = _deployed_module()
CONSTRAINTS = ROOT / "deploy" / "object-store" / "constraints.txt"
VENV = Path(os.environ.get("NFVO_TEST_SWIFT_VENV") or ROOT / ".cache" / "swift-venv")
LAST_LOGS = ROOT / ".cache" / "swift-logs"
SWIFT_VERSION = "2.38.3"
ACCESS_KEY, SECRET_KEY, REGION = "test:tester", "testing", "us-east-1"
SERVERS = swift_s3.SERVERS
RUN_PREFIX = "nfvo-swift-"

PIP_TIMEOUT, STEP_TIMEOUT, READY_TIMEOUT = 600, 120, 60
HOW_TO_FIX = (
    "The object store tests run a real OpenStack Swift with its S3 API, installed from PyPI into "
    f"{VENV} (pinned by {CONSTRAINTS.relative_to(ROOT)}). They need python3 with the venv module, "
    "access to PyPI, about 100 MB of disk, and a temporary directory on a file system with user "
    "extended attributes (ext4, xfs, btrfs; tmpfs from Linux 6.6). Remove that directory to force a "
    f"clean reinstall, or point NFVO_TEST_SWIFT_VENV at a venv holding swift=={SWIFT_VERSION}."
)


class SwiftStartError(RuntimeError):
    """The test Swift could not be installed or started; the message says why and what to do."""


@dataclass
class SwiftS3(ServerRun):
    """A running Swift with the S3 API: endpoint, credentials, and where the logs are."""

    base: Path
    port: int  # the proxy's
    backend_ports: dict[str, int]  # account, container, object
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    processes: list[subprocess.Popen] = field(default_factory=list, repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server: SigV4, path-style addressing, no retries (a
        failure shows at once).  ``config`` goes to ``botocore.config.Config`` on top of that."""
        import boto3
        from botocore.config import Config

        settings = {"signature_version": "s3v4", "s3": {"addressing_style": "path"},
                    "retries": {"max_attempts": 1, "mode": "standard"},
                    "connect_timeout": 5, "read_timeout": 60, **config}
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                            config=Config(**settings))

    def new_bucket(self, prefix: str = "nfvo") -> str:
        """Creates a bucket with a new name (``<prefix>-<12 hex digits>``) and returns the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        """Kills the servers and removes the run directory (logs kept in LAST_LOGS).  Idempotent."""
        self.stop_servers(LAST_LOGS)


# --- the fixture ------------------------------------------------------------------------


def _start_shared() -> SwiftS3:
    return start()


SHARED = SharedServer(_start_shared, SwiftStartError, "Swift", HOW_TO_FIX)


def swift_fixture(name: str | None = None) -> Callable:
    """A session-scoped pytest fixture yielding the shared :class:`SwiftS3`.

    In a test module: ``swift = swift_fixture()``.  Every module gets the same server;
    it stops when the session ends.
    """
    return SHARED.fixture(name)


# --- starting ---------------------------------------------------------------------------


def start() -> SwiftS3:
    """Installs (once) and starts Swift; raises SwiftStartError."""
    ensure_venv()
    remove_abandoned_runs(RUN_PREFIX)
    for _attempt in range(3):  # a free port may be taken between probing and binding
        proxy_port, *ports = free_ports(1 + len(SERVERS))
        server = SwiftS3(new_run_dir(RUN_PREFIX), proxy_port, dict(zip(SERVERS, ports, strict=True)))
        try:
            _launch(server)
            return server
        except _PortTaken:
            server.stop()
        except SwiftStartError as exc:
            logs = server.log_tail()
            server.stop()
            raise SwiftStartError(f"{exc}\n{logs}\n\n{HOW_TO_FIX}") from None
        except BaseException:
            server.stop()
            raise
    raise SwiftStartError(f"no free loopback ports for Swift.\n{HOW_TO_FIX}")


class _PortTaken(Exception):
    pass


def ensure_venv() -> None:
    """Creates or repairs the Swift venv; reused while it holds swift==SWIFT_VERSION."""
    processes.ensure_venv(VENV, [f"swift=={SWIFT_VERSION}", "boto3"], constraints=CONSTRAINTS, env=clean_env(),
                          problem=_venv_problem, error=SwiftStartError, what="Swift", how_to_fix=HOW_TO_FIX,
                          timeout=PIP_TIMEOUT)


def _venv_problem() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists() or not (VENV / "bin" / "swift-proxy-server").exists():
        return f"{VENV} has no python or swift-proxy-server"
    check = ("import importlib.metadata as m, sys; import swift, eventlet, boto3; "
             f"sys.exit(0 if m.version('swift') == {SWIFT_VERSION!r} else 3)")
    try:
        result = subprocess.run([str(python), "-c", check], capture_output=True, timeout=60, env=clean_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} does not run: {exc}"
    if result.returncode != 0:
        return f"{VENV} lacks swift=={SWIFT_VERSION} ({result.stderr.decode()[-500:]})"
    return None


def _launch(server: SwiftS3) -> None:
    layout = swift_s3.Layout(server.base, "127.0.0.1", server.port, server.backend_ports, ACCESS_KEY, SECRET_KEY,
                             REGION)
    try:
        swift_s3.write(layout, str(VENV / "bin" / "python"))
    except RuntimeError as exc:
        raise SwiftStartError(str(exc)) from None
    for name, argv in swift_s3.commands(layout, VENV / "bin"):
        server.processes.append(spawn(argv, swift_s3.server_env(layout, clean_env()), server.base / "logs" / f"{name}.log"))
    _wait_ready(server)


def _wait_ready(server: SwiftS3) -> None:
    """Until every server's /healthcheck answers and S3 creates and deletes a bucket (and an
    object in it); raises _PortTaken when a server could not bind its port."""
    deadline = time.monotonic() + READY_TIMEOUT
    last = "nothing answered yet"
    while True:
        for process in server.processes:  # checked between short probes: a dead server shows within seconds
            if process.poll() is not None:
                text = server.log_tail()
                if "Address already in use" in text or "Could not bind" in text:
                    raise _PortTaken()
                raise SwiftStartError(f"{Path(process.args[0]).name} exited with {process.returncode} "
                                      "while starting")
        if time.monotonic() > deadline:
            raise SwiftStartError(f"Swift did not become ready within {READY_TIMEOUT} s: {last}")
        try:
            last = _probe(server)
            if not last:
                return
        except Exception as exc:  # connection refused, a 503 from the proxy before the backends listen, ...
            last = repr(exc)
        time.sleep(0.1)


def _probe(server: SwiftS3) -> str:
    """'' when ready, else what is missing.  Every step times out within seconds."""
    layout = swift_s3.Layout(server.base, "127.0.0.1", server.port, server.backend_ports, ACCESS_KEY, SECRET_KEY,
                             REGION)
    if problem := swift_s3.healthy(layout):
        return problem
    client = server.client(connect_timeout=2, read_timeout=5)
    bucket = f"nfvo-ready-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="probe", Body=b"ok")
    client.delete_object(Bucket=bucket, Key="probe")
    client.delete_bucket(Bucket=bucket)
    return ""


if __name__ == "__main__":  # python -m tests.backends.swift: start, print, wait for Ctrl-C
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally below
    running = start()
    print(f"Swift S3 API {running.endpoint_url} (access key {running.access_key}, secret key "
          f"{running.secret_key}, region {running.region}, path-style, SigV4); logs in {running.base / 'logs'}; "
          f"up in {time.monotonic() - started:.1f} s. Ctrl-C stops.", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        running.stop()
