"""What the test S3 server (Swift 2.38 with s3api, tests/backends/swift.py) does, for the S3 store backend.

The store relies on these behaviours; each test pins one down against the real server, so a
change of Swift version, pipeline or settings that breaks one shows here first, not as a
puzzling store failure: multipart uploads (parts of at least 5 MiB but the last), aborting
and listing them, ranged GETs (``InvalidRange`` from the end on), boto3's managed copy by
``UploadPartCopy`` giving an object independent of its source, paginated listings, and 404
for a missing key.
"""

from __future__ import annotations

import io
import os

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.backends.swift import SwiftS3, swift_fixture

pytestmark = pytest.mark.integration

swift = swift_fixture()
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(swift: SwiftS3):
    return swift.client()


@pytest.fixture(scope="module")
def bucket(swift: SwiftS3) -> str:
    return swift.new_bucket()


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    return [os.urandom(5 * MiB), os.urandom(8 * MiB), os.urandom(1000)]


@pytest.fixture(scope="module")
def multipart_key(s3, bucket: str, parts: list[bytes]) -> str:
    """An object uploaded in three parts: 5 MiB, 8 MiB, 1000 bytes."""
    key = "multipart/three-parts"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]})
    return key


def error_of(call, **kwargs) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def upload_keys(s3, bucket: str, prefix: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])]


def test_a_multipart_upload_is_listed_until_completed_and_then_reads_back_whole(s3, bucket, parts):
    key = "multipart/listed"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    assert upload_keys(s3, bucket, "multipart/listed") == [key]
    etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate(parts, 1)]
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 5 * MiB), (2, 8 * MiB), (3, 1000)]

    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]})

    assert done["ETag"].endswith('-3"')  # S3's multipart ETag: md5 of the parts' md5s, dash, count
    assert upload_keys(s3, bucket, "multipart/listed") == []
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 13 * MiB + 1000
    assert head["ETag"] == done["ETag"]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"".join(parts)


def test_parts_under_5_mib_are_refused_at_completion_unless_last(s3, bucket):
    key = "multipart/too-small"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate([b"a" * (5 * MiB - 1), b"b"], 1)]

    assert error_of(s3.complete_multipart_upload, Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]}) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


def test_an_aborted_upload_is_gone(s3, bucket):
    key = "multipart/aborted"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x" * 100)

    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    assert upload_keys(s3, bucket, key) == []
    assert error_of(s3.list_parts, Bucket=bucket, Key=key, UploadId=upload_id) == ("NoSuchUpload", 404)
    assert error_of(s3.abort_multipart_upload, Bucket=bucket, Key=key, UploadId=upload_id) == ("NoSuchUpload", 404)
    assert error_of(s3.head_object, Bucket=bucket, Key=key) == ("404", 404)


def test_ranged_gets(s3, bucket, multipart_key, parts):
    whole = b"".join(parts)
    size = len(whole)

    def ranged(spec: str) -> tuple[str, bytes]:
        answer = s3.get_object(Bucket=bucket, Key=multipart_key, Range=spec)
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 206
        return answer["ContentRange"], answer["Body"].read()

    assert ranged("bytes=10-19") == (f"bytes 10-19/{size}", whole[10:20])
    edge = 5 * MiB  # across the boundary of parts 1 and 2
    assert ranged(f"bytes={edge - 5}-{edge + 4}") == (f"bytes {edge - 5}-{edge + 4}/{size}", whole[edge - 5:edge + 5])
    assert ranged(f"bytes={size - 10}-") == (f"bytes {size - 10}-{size - 1}/{size}", whole[-10:])
    assert ranged(f"bytes={size - 10}-{size + 100}") == (f"bytes {size - 10}-{size - 1}/{size}", whole[-10:])
    for past_the_end in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}"):
        assert error_of(s3.get_object, Bucket=bucket, Key=multipart_key, Range=past_the_end) == ("InvalidRange", 416)
    s3.put_object(Bucket=bucket, Key="ranged/empty", Body=b"")
    assert error_of(s3.get_object, Bucket=bucket, Key="ranged/empty", Range="bytes=0-") == ("InvalidRange", 416)


def test_managed_copy_of_a_multipart_object_uses_upload_part_copy_and_outlives_its_source(s3, bucket, parts):
    source = "copy/source"
    s3.upload_fileobj(io.BytesIO(b"".join(parts)), bucket, source,
                      Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    calls: list[str] = []

    def record(model, **_):
        calls.append(model.name)

    s3.meta.events.register("before-call.s3", record)
    try:
        s3.copy({"Bucket": bucket, "Key": source}, bucket, "copy/target",
                Config=TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB))
    finally:
        s3.meta.events.unregister("before-call.s3", record)
    s3.delete_object(Bucket=bucket, Key=source)

    assert calls.count("UploadPartCopy") == 3  # 13 MiB in parts of 5 MiB
    assert {"CreateMultipartUpload", "CompleteMultipartUpload"} <= set(calls)
    assert error_of(s3.head_object, Bucket=bucket, Key=source) == ("404", 404)
    assert s3.get_object(Bucket=bucket, Key="copy/target")["Body"].read() == b"".join(parts)


def test_listing_by_prefix_in_pages(s3, bucket):
    keys = [f"listing/{n:02d}" for n in range(7)]
    for key in [*keys, "listing-not/0", "other/0"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    pages, request = [], {"Bucket": bucket, "Prefix": "listing/", "MaxKeys": 3}
    while True:
        page = s3.list_objects_v2(**request)
        pages.append([item["Key"] for item in page.get("Contents", [])])
        if not page["IsTruncated"]:
            break
        request["ContinuationToken"] = page["NextContinuationToken"]

    assert pages == [keys[0:3], keys[3:6], keys[6:]]
    paginated = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="listing/",
                                                             PaginationConfig={"PageSize": 2})
    assert [item["Key"] for page in paginated for item in page.get("Contents", [])] == keys
    assert [item["Size"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="listing/")["Contents"]] == [10] * 7


def test_missing_keys(s3, bucket):
    assert error_of(s3.head_object, Bucket=bucket, Key="missing/key") == ("404", 404)
    assert error_of(s3.get_object, Bucket=bucket, Key="missing/key") == ("NoSuchKey", 404)
    assert s3.delete_object(Bucket=bucket, Key="missing/key")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(s3.list_objects_v2, Bucket="nfvo-no-such-bucket") == ("NoSuchBucket", 404)
