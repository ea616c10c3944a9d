"""The object-store service of docker-compose.yml, run as its container runs it: the same script
(deploy/object-store/swift_s3.py) with the same Swift, settings from the environment, here on
loopback ports instead of in a container. nfvo's S3 store works against it, its data outlive a
restart, and SIGTERM stops every server."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config

from nfvo.store import StoreOptions, open_store
from tests.backends import swift
from tests.backends.processes import clean_env

pytestmark = pytest.mark.integration

SCRIPT = swift.ROOT / "deploy" / "object-store" / "swift_s3.py"
SECRET = uuid.uuid4().hex


def _four_free_ports() -> int:
    """A port with the next three free too (the script's storage servers take them)."""
    for _ in range(200):
        base = random.randrange(20000, 40000)
        try:
            sockets = []
            for port in range(base, base + 4):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    pytest.fail("no four consecutive free ports on 127.0.0.1")


def _start(data, port: int, **env: str) -> subprocess.Popen:
    swift.ensure_venv()
    settings = {**clean_env(), "SWIFT_DATA": str(data), "SWIFT_BIND": "127.0.0.1", "SWIFT_PORT": str(port),
                "S3_ACCESS_KEY": "nfvo:nfvo", "S3_SECRET_KEY": SECRET, "S3_BUCKETS": "nfvo, other", **env}
    log = open(data.parent / f"object-store-{port}.log", "ab")
    return subprocess.Popen([str(swift.VENV / "bin" / "python"), str(SCRIPT)], env=settings, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _wait_ready(process: subprocess.Popen, data) -> None:
    deadline = time.monotonic() + 90
    while not (data / "ready").exists():
        if process.poll() is not None:
            logs = "".join(p.read_text(errors="replace")[-3000:] for p in data.parent.glob("object-store-*.log"))
            pytest.fail(f"the object store exited with {process.returncode}:\n{logs}")
        assert time.monotonic() < deadline, "the object store did not become ready in 90 s"
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> int:
    process.terminate()
    return process.wait(30)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _client(port: int):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="nfvo:nfvo", aws_secret_access_key=SECRET,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


def test_the_service_serves_nfvo_keeps_its_data_across_a_restart_and_stops_on_sigterm(tmp_path):
    data, port = tmp_path / "srv-swift", _four_free_ports()
    data.mkdir()
    options = StoreOptions(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1", access_key="nfvo:nfvo",
                           secret_key=SECRET, part_size=5 * 2**20)
    process = _start(data, port)
    try:
        _wait_ready(process, data)
        store = open_store("s3://nfvo/packages", options)
        payload = os.urandom(6 * 2**20)  # two parts: a multipart upload
        blob = store.put([payload])
        assert _client(port).head_bucket(Bucket="other")["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        code = _stop(process)
    assert code == 0
    assert not (data / "ready").exists()
    assert not any(_listening(p) for p in range(port, port + 4)), "a Swift server outlived SIGTERM"

    process = _start(data, port)  # the volume again: the buckets exist already
    try:
        _wait_ready(process, data)
        with open_store("s3://nfvo/packages", options).open(blob.sha256) as stream:
            assert stream.read() == payload
    finally:
        assert _stop(process) == 0


def test_a_missing_secret_key_stops_the_service_with_a_message(tmp_path):
    data = tmp_path / "srv-swift"
    data.mkdir()
    process = _start(data, _four_free_ports(), S3_SECRET_KEY="")
    assert process.wait(60) != 0
    [log] = tmp_path.glob("object-store-*.log")
    assert "S3_SECRET_KEY must be set" in log.read_text()
