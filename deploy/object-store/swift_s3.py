"""OpenStack Swift with its S3 API in one directory: configuration, rings and four servers.

Used two ways, so that what the tests run is what a deployment runs:

- as the ``object-store`` service of docker-compose.yml (``python swift_s3.py``): settings from
  the environment (below), data kept under ``SWIFT_DATA``, the buckets of ``S3_BUCKETS``
  created once the servers answer, the servers stopped on SIGTERM, and a non-zero exit when
  one of them dies (the container is then restarted);
- by nfvo's tests (``tests/backends/swift.py`` imports it) on loopback ports of their own.

Needs only the standard library to be imported; the servers need ``swift``, and creating the
buckets ``boto3``, installed for the interpreter that runs them. One device, rings of one partition and one replica, the proxy's
pipeline with ``s3api`` and ``tempauth`` (one admin user: the access key is
``<account>:<user>``, the secret key its password), no memcached (S3 requests are checked by
their signature; the proxy then caches no account or container metadata).

Environment of the script: ``SWIFT_DATA`` (``/srv/swift``), ``SWIFT_BIND`` (the proxy's address,
``0.0.0.0``), ``SWIFT_PORT`` (``8080``; the three storage servers take the next three ports, on
127.0.0.1), ``S3_ACCESS_KEY`` (``nfvo:nfvo``), ``S3_SECRET_KEY`` (required), ``S3_REGION``
(``us-east-1``), ``S3_BUCKETS`` (comma-separated, e.g. ``nfvo``). ``SWIFT_DATA/ready`` exists
while the servers answer and the buckets exist (the container's health check).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SERVERS = ("account", "container", "object")  # the storage servers; the proxy is the fourth
PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging listing_formats s3api tempauth "
            "copy slo dlo versioned_writes proxy-logging proxy-server")
#: on the servers' path (PYTHONPATH is the directory), named by ``log_custom_handlers``
LOG_HOOK_MODULE = "nfvo_swift_logging"


@dataclass(frozen=True)
class Layout:
    """Where one Swift lives and how it is reached."""

    base: Path
    bind_ip: str  # the proxy's; the storage servers always listen on 127.0.0.1
    proxy_port: int
    backend_ports: dict[str, int]  # account, container, object
    access_key: str  # "<account>:<user>"
    secret_key: str
    region: str

    @property
    def proxy_url(self) -> str:
        host = "127.0.0.1" if self.bind_ip in ("0.0.0.0", "") else self.bind_ip
        return f"http://{host}:{self.proxy_port}"


def write(layout: Layout, python: str) -> None:
    """Writes the configuration under ``layout.base`` (again each time: ports and keys may change)
    and builds the rings with ``python`` (one that has swift) unless they exist. RuntimeError
    when building them fails; the output is in ``logs/ring-builder.log``."""
    base = layout.base
    for directory in ("logs", "devices/d1"):
        (base / directory).mkdir(parents=True, exist_ok=True)
    (base / f"{LOG_HOOK_MODULE}.py").write_text(_LOG_HOOK)
    (base / "swift.conf").write_text(
        "[swift-hash]\nswift_hash_path_prefix = nfvo\nswift_hash_path_suffix = nfvo\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n")
    for kind in SERVERS:
        (base / f"{kind}-server.conf").write_text(_storage_conf(base, kind, layout.backend_ports[kind]))
    (base / "proxy-server.conf").write_text(_proxy_conf(layout))
    if all((base / f"{kind}.ring.gz").exists() for kind in SERVERS):
        return
    with open(base / "logs" / "ring-builder.log", "wb") as out:
        try:
            code = subprocess.run([python, "-c", _BUILD_RINGS, str(base), *(str(layout.backend_ports[k]) for k in SERVERS)],
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if code != 0:
        raise RuntimeError(f"building the rings failed ({code}); see {base / 'logs' / 'ring-builder.log'}")


def commands(layout: Layout, bin_dir: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) of the four servers, in the order to start them; each runs in the foreground."""
    names = [*(f"{kind}-server" for kind in SERVERS), "proxy-server"]
    return [(name, [str(bin_dir / f"swift-{name}"), str(layout.base / f"{name}.conf"), "--verbose"]) for name in names]


def server_env(layout: Layout, env: dict[str, str]) -> dict[str, str]:
    """``env`` with the directory on PYTHONPATH (for the logging hook)."""
    return {**env, "PYTHONPATH": str(layout.base)}


def healthy(layout: Layout) -> str:
    """'' when every server's /healthcheck answers "OK" (ours, not whatever else holds a port);
    else what does not."""
    urls = {kind: f"http://127.0.0.1:{port}" for kind, port in layout.backend_ports.items()}
    for kind, url in {**urls, "proxy": layout.proxy_url}.items():
        try:
            with urllib.request.urlopen(f"{url}/healthcheck", timeout=2) as answer:
                text = answer.read(200).decode(errors="replace")
        except (OSError, urllib.error.URLError) as exc:
            return f"the {kind} server's /healthcheck: {exc}"
        if text != "OK":
            return f"the {kind} server's /healthcheck answered {text!r}"
    return ""


def create_bucket(layout: Layout, name: str) -> None:
    """Creates bucket ``name`` through the S3 API if it does not exist (boto3 must be installed
    for this interpreter, as the image and the tests' Swift have it). botocore's errors pass."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=layout.proxy_url, region_name=layout.region,
                          aws_access_key_id=layout.access_key, aws_secret_access_key=layout.secret_key,
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    if name not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=name)


def _layout_from_env(env: dict[str, str]) -> Layout:
    port = int(env.get("SWIFT_PORT", "8080"))
    if not env.get("S3_SECRET_KEY") or any(c.isspace() for c in env["S3_SECRET_KEY"]):
        sys.exit("S3_SECRET_KEY must be set, without white space")
    access = env.get("S3_ACCESS_KEY", "nfvo:nfvo")
    if access.count(":") != 1 or not all(access.split(":")):
        sys.exit(f"S3_ACCESS_KEY must look like <account>:<user>, not {access!r}")
    return Layout(Path(env.get("SWIFT_DATA", "/srv/swift")), env.get("SWIFT_BIND", "0.0.0.0"), port,
                  {kind: port + n for n, kind in enumerate(SERVERS, 1)}, access, env["S3_SECRET_KEY"],
                  env.get("S3_REGION", "us-east-1"))


def main() -> int:
    """The service: configure, start the four servers, create the buckets, then wait."""
    layout = _layout_from_env(dict(os.environ))
    bin_dir = Path(sys.executable).parent
    ready = layout.base / "ready"  # written once the buckets exist: the container's health check
    ready.unlink(missing_ok=True)
    write(layout, sys.executable)
    children = [subprocess.Popen(argv, env=server_env(layout, dict(os.environ)), stdin=subprocess.DEVNULL)
                for _name, argv in commands(layout, bin_dir)]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        deadline, problem = time.monotonic() + 60, "not started"
        while (problem := healthy(layout)) and time.monotonic() < deadline and not stopping:
            if any(child.poll() is not None for child in children):
                break
            time.sleep(0.2)
        if problem:
            print(f"object store not ready: {problem}", file=sys.stderr, flush=True)
            return 1
        for bucket in filter(None, (b.strip() for b in os.environ.get("S3_BUCKETS", "").split(","))):
            create_bucket(layout, bucket)
        ready.write_text(layout.proxy_url + "\n")
        print(json.dumps({"ready": layout.proxy_url, "region": layout.region, "accessKey": layout.access_key}),
              flush=True)
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("a Swift server exited", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        ready.unlink(missing_ok=True)
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def _common_conf(base: Path, name: str, bind_ip: str, port: int) -> str:
    return f"""[DEFAULT]
bind_ip = {bind_ip}
bind_port = {port}
# Another process may take the port between probing and binding: fail fast (the tests retry).
bind_timeout = 1
# In the foreground: no forked workers, a single process to stop.
workers = 0
swift_dir = {base}
devices = {base}/devices
mount_check = false
# No space reserve (a nearly full disk would refuse every PUT with 507) and no preallocation.
disable_fallocate = true
log_name = {name}
log_level = INFO
log_custom_handlers = {LOG_HOOK_MODULE}.stderr_only
"""


def _storage_conf(base: Path, kind: str, port: int) -> str:
    return _common_conf(base, f"{kind}-server", "127.0.0.1", port) + f"""
[pipeline:main]
pipeline = healthcheck {kind}-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:{kind}-server]
use = egg:swift#{kind}
"""


def _proxy_conf(layout: Layout) -> str:
    account, user = layout.access_key.split(":", 1)
    return _common_conf(layout.base, "proxy-server", layout.bind_ip, layout.proxy_port) + f"""
[pipeline:main]
pipeline = {PIPELINE}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# Local backends: connecting is instant, but a busy 2-core machine may be slow to answer.
conn_timeout = 5
node_timeout = 60
# With one device, a few slow answers would otherwise take it out of service for a minute.
error_suppression_limit = 1000

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:s3api]
use = egg:swift#s3api
location = {layout.region}

[filter:tempauth]
use = egg:swift#tempauth
user_{account}_{user} = {layout.secret_key} .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""


#: run by a python that has swift: the three rings with swift-ring-builder's own code, in one
#: process (0.3 s) rather than nine (4 s); one partition, one replica, one device, no min_part_hours
_BUILD_RINGS = """
import sys
from swift.cli.ringbuilder import main
base = sys.argv[1]
for kind, port in zip(("account", "container", "object"), sys.argv[2:]):
    builder = f"{base}/{kind}.builder"
    for command in (["create", "0", "1", "0"], ["add", f"r1z1-127.0.0.1:{port}/d1", "1"], ["rebalance"]):
        try:
            main(["swift-ring-builder", builder, *command])
        except SystemExit as exc:
            if exc.code not in (None, 0):
                sys.exit(f"swift-ring-builder {kind}.builder {' '.join(command)}: exit code {exc.code}")
"""

_LOG_HOOK = '''"""Swift's loggers write to stderr only (the servers run with --verbose), never to syslog.

Without a /dev/log socket Swift falls back to syslog over UDP to localhost:514, for every
logger (the access log's too, which does not get log_custom_handlers): this hook, called
for the first logger a server makes, drops that logger's syslog handler and makes the
later loggers' handlers no-ops.
"""
import logging
import logging.handlers

from swift.common.utils import logs


class NoSyslog(logging.NullHandler):
    def __init__(self, *args, **kwargs):
        super().__init__()


def stderr_only(conf, name, log_to_console, log_route, fmt, logger, adapted_logger):
    logs.ThreadSafeSysLogHandler = NoSyslog
    for handler in list(logger.handlers):
        if isinstance(handler, logging.handlers.SysLogHandler):
            logger.removeHandler(handler)
            handler.close()
'''


if __name__ == "__main__":
    sys.exit(main())
