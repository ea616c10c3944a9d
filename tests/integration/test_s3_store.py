"""The S3 content store passes the store kit against a real S3 server (Swift's s3api, started by the
tests), and reports an unreachable endpoint, wrong keys and a missing bucket as store errors."""

from __future__ import annotations

import os
import socket
import tracemalloc
import uuid

import pytest

from nfvo.errors import StoreFailed, StoreUnavailable
from nfvo.store import StoreOptions, open_store
from nfvo.store.conformance import StoreConformance
from tests.backends.swift import swift_fixture

MiB = 2**20
swift = swift_fixture()


def options(server, **changes) -> StoreOptions:
    values = dict(endpoint_url=server.endpoint_url, region=server.region, access_key=server.access_key,
                  secret_key=server.secret_key, part_size=5 * MiB)
    return StoreOptions(**{**values, **changes})


@pytest.fixture(scope="module")
def bucket(swift):
    return swift.new_bucket("kit")


class TestS3Store(StoreConformance):
    @pytest.fixture
    def store(self, swift, bucket):
        return open_store(f"s3://{bucket}/run-{uuid.uuid4().hex[:8]}", options(swift))


def test_no_temporary_object_outlives_a_commit(swift, bucket):
    store = open_store(f"s3://{bucket}/tmpcheck", options(swift))
    with store.writer() as out:
        for _ in range(11):
            out.write(b"\x01" * MiB)
        out.commit()
    listed = swift.client().list_objects_v2(Bucket=bucket, Prefix="tmpcheck/tmp/")
    assert listed.get("KeyCount", 0) == 0
    assert swift.client().list_multipart_uploads(Bucket=bucket, Prefix="tmpcheck/").get("Uploads", []) == []


def test_a_writer_holds_one_part_in_memory(swift, bucket):
    """48 MiB written in 1 MiB pieces with 8 MiB parts: the writer's buffer is one part, filled in
    place and handed to boto3 as it is; no piece or part is copied beside it."""
    store = open_store(f"s3://{bucket}/memory", options(swift, part_size=8 * MiB))
    piece = os.urandom(MiB)
    tracemalloc.start()
    try:
        with store.writer() as out:
            for _ in range(48):
                out.write(piece)
            blob = out.commit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size == 48 * MiB
    assert peak < 8 * MiB + 2 * MiB, f"peak {peak / MiB:.1f} MiB for parts of 8 MiB"
    with store.open(blob.sha256) as stream:
        assert stream.read(MiB) == piece


def test_an_endpoint_nobody_listens_on_is_unavailable(swift):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = open_store("s3://bucket/x", options(swift, endpoint_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(StoreUnavailable) as caught:
        store.put([b"x"])
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_wrong_keys_and_a_missing_bucket_are_store_failures(swift, bucket):
    with pytest.raises(StoreFailed) as caught:
        open_store(f"s3://{bucket}/x", options(swift, secret_key="wrong")).put([b"x"])
    assert "403" in str(caught.value)  # a HEAD answer has no body to name the code
    with pytest.raises(StoreFailed) as caught:
        open_store("s3://no-such-bucket-here/x", options(swift)).put([b"x"])
    assert "NoSuchBucket" in str(caught.value)
