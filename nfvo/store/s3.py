"""The S3 content store: blobs as objects of an S3-compatible object store (AWS S3, Ceph RGW,
MinIO, Swift's s3api, ...), through boto3.

``s3://bucket/prefix`` holds ``prefix/blobs/<first two hex digits>/<sha256>``.  A writer sends
the bytes as they come, in parts of ``part_size`` (NFVO_STORE_PART_SIZE): a blob that fits in
one part is one ``PutObject`` under its final name at commit; a larger one is a multipart
upload, to its final name when the digest was announced (``expect_sha256``), else to
``prefix/tmp/<uuid>``, which commit copies to the final name on the server (UploadPartCopy,
no byte through nfvo) and deletes.  A writer holds one part in memory.  Reads are
ranged ``GetObject`` calls.  Settings: endpoint (path-style addressing when set), region,
access key and secret key; without keys boto3 finds credentials its usual way.
"""

from __future__ import annotations

import contextlib
import io
import time
import uuid
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

import boto3
import botocore.exceptions as bx
from botocore.config import Config

from nfvo.errors import ContentMissing, NfvoError, StoreFailed, StoreUnavailable
from nfvo.store.base import Blob, BlobWriter, ContentStore, StoreOptions, check_digest

_UNREACHABLE = (bx.EndpointConnectionError, bx.ConnectTimeoutError, bx.ReadTimeoutError,
                bx.ConnectionClosedError, bx.ProxyConnectionError, bx.ResponseStreamingError)
_BUSY = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3Store(ContentStore):
    """Blobs as objects under ``prefix`` in ``bucket`` (from the ``s3://bucket/prefix`` URL)."""

    name = "s3"

    def __init__(self, url: str, options: StoreOptions | None = None):
        super().__init__(url, options)
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"an S3 store URL is s3://bucket/prefix, not {url!r}")
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        o = self.options
        config = Config(
            signature_version="s3v4", connect_timeout=10, read_timeout=60, max_pool_connections=32,
            retries={"max_attempts": 5, "mode": "standard"},
            s3={"addressing_style": "path" if o.endpoint_url else "auto"},
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        )
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=o.endpoint_url or None, region_name=o.region or None,
            aws_access_key_id=o.access_key or None, aws_secret_access_key=o.secret_key or None, config=config)

    def key_of(self, sha256: str) -> str:
        check_digest(sha256)
        return self._key(f"blobs/{sha256[:2]}/{sha256}")

    def _key(self, rest: str) -> str:
        return f"{self.prefix}/{rest}" if self.prefix else rest

    def writer(self, expect_sha256: str | None = None, expect_size: int | None = None) -> BlobWriter:
        return _S3Writer(self, expect_sha256, expect_size)

    def open(self, sha256: str, start: int = 0, end: int | None = None) -> BinaryIO:
        key = self.key_of(sha256)
        if end is not None and end <= start:
            if self.size(sha256) is None:
                raise self.missing(sha256)
            return io.BytesIO()
        ranged = {"Range": f"bytes={start}-{'' if end is None else end - 1}"} if start or end is not None else {}
        try:
            with self.calls(f"read {sha256}", missing=sha256):
                return _Body(self, self.client.get_object(Bucket=self.bucket, Key=key, **ranged)["Body"])
        except StoreFailed as exc:
            if "InvalidRange" in str(exc):  # start at or past the end
                return io.BytesIO()
            raise

    def size(self, sha256: str) -> int | None:
        head = self._head(sha256)
        return None if head is None else head["ContentLength"]

    def written_at(self, sha256: str) -> float | None:
        head = self._head(sha256)
        return None if head is None else head["LastModified"].timestamp()

    def _head(self, sha256: str) -> dict | None:
        """The HeadObject answer of the blob, None when there is none."""
        try:
            with self.calls(f"look up {sha256}", missing=sha256):
                return self.client.head_object(Bucket=self.bucket, Key=self.key_of(sha256))
        except ContentMissing:
            return None

    def delete(self, sha256: str) -> bool:
        existed = self.exists(sha256)
        with self.calls(f"delete {sha256}"):
            self.client.delete_object(Bucket=self.bucket, Key=self.key_of(sha256))
        return existed

    def digests(self) -> Iterator[str]:
        with self.calls("list the blobs"):
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self._key("blobs/"))
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"].rsplit("/", 1)[-1]
                    if len(name) == 64:
                        yield name

    def sweep(self, older_than: float) -> int:
        """Aborts multipart uploads and removes temporary objects started over ``older_than`` s ago."""
        cutoff, removed = time.time() - older_than, 0
        with self.calls("sweep abandoned writes"):
            uploads = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                   Prefix=self._key(""))
            for page in uploads:
                for upload in page.get("Uploads", ()):
                    if upload["Initiated"].timestamp() < cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed += 1
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                              Prefix=self._key("tmp/")):
                for item in page.get("Contents", ()):
                    if item["LastModified"].timestamp() < cutoff:
                        self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
                        removed += 1
        return removed

    def describe(self) -> str:
        where = f" at {self.options.endpoint_url}" if self.options.endpoint_url else ""
        return f"the content store s3://{self.bucket}/{self.prefix}{where}"

    @contextlib.contextmanager
    def calls(self, what: str, missing: str | None = None) -> Iterator[None]:
        """Turns boto3's exceptions into the store's: unreachable or busy -> StoreUnavailable, a
        missing key (when ``missing`` names the blob) -> ContentMissing, else StoreFailed."""
        try:
            yield
        except NfvoError:
            raise
        except bx.ClientError as exc:
            error, meta = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {})
            code, status = str(error.get("Code", "")), int(meta.get("HTTPStatusCode") or 0)
            if missing and (code in _MISSING or status == 404):
                raise self.missing(missing) from None
            detail = f"{self.describe()}: cannot {what}: {code or status} {error.get('Message', '')}".rstrip()
            if status >= 500 or code in _BUSY:
                raise StoreUnavailable(detail) from None
            raise StoreFailed(detail) from None
        except _UNREACHABLE as exc:
            raise StoreUnavailable(f"{self.describe()}: cannot {what}: {exc}") from None
        except (bx.BotoCoreError, OSError) as exc:  # no credentials, a bad endpoint URL, ...
            raise StoreFailed(f"{self.describe()}: cannot {what}: {exc}") from None


class _Body(io.RawIOBase):
    """A GetObject body as a closeable binary stream whose errors are the store's."""

    def __init__(self, store: S3Store, body):
        super().__init__()
        self.store, self.body = store, body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        with self.store.calls("read a blob"):
            data = self.body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read(self, n: int = -1) -> bytes:
        with self.store.calls("read a blob"):
            return self.body.read(None if n is None or n < 0 else n)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.body.close()
        super().close()


class _S3Writer(BlobWriter):
    def __init__(self, store: S3Store, expect_sha256: str | None, expect_size: int | None):
        super().__init__(expect_sha256, expect_size)
        self.store = store
        self.part_size = store.options.part_size
        self.buffer = bytearray()  # the part being filled (allocated once, at its full size)
        self.filled = 0
        self.key = store.key_of(expect_sha256) if expect_sha256 else store._key(f"tmp/{uuid.uuid4().hex}")
        self.upload_id: str | None = None
        self.parts: list[dict] = []
        self.temporary_left = False  # a completed upload under the temporary name, to remove

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        while len(view):
            if not self.buffer:
                self.buffer = bytearray(self.part_size)
            take = min(self.part_size - self.filled, len(view))
            self.buffer[self.filled:self.filled + take] = view[:take]
            self.filled += take
            view = view[take:]
            if self.filled == self.part_size:
                self._send_part(self.buffer)
                self.filled = 0  # the same buffer takes the next part

    def _tail(self) -> bytearray:
        """The bytes of the part being filled (the buffer cut to them in place)."""
        del self.buffer[self.filled:]
        return self.buffer

    def _send_part(self, part: bytearray) -> None:
        """Sends ``part`` as the next part (boto3 reads it in place: no copy is made)."""
        s = self.store
        with s.calls("write a blob"):
            if self.upload_id is None:
                self.upload_id = s.client.create_multipart_upload(Bucket=s.bucket, Key=self.key)["UploadId"]
            number = len(self.parts) + 1
            answer = s.client.upload_part(Bucket=s.bucket, Key=self.key, UploadId=self.upload_id,
                                          PartNumber=number, Body=part)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def _commit(self, blob: Blob) -> None:
        s, final = self.store, self.store.key_of(blob.sha256)
        try:
            if self.upload_id is None:  # one part: one PutObject under the final name
                if s.size(blob.sha256) is None:
                    with s.calls(f"store {blob.sha256}"):
                        s.client.put_object(Bucket=s.bucket, Key=final, Body=self._tail())
                return
            if self.filled:
                self._send_part(self._tail())
            self.buffer, self.filled = bytearray(), 0
            with s.calls(f"store {blob.sha256}"):
                s.client.complete_multipart_upload(Bucket=s.bucket, Key=self.key, UploadId=self.upload_id,
                                                   MultipartUpload={"Parts": self.parts})
            self.upload_id = None
            if self.key != final:
                self.temporary_left = True
                if s.size(blob.sha256) is None:
                    with s.calls(f"store {blob.sha256}"):
                        s.client.copy({"Bucket": s.bucket, "Key": self.key}, s.bucket, final)
                with s.calls("remove a temporary object"):
                    s.client.delete_object(Bucket=s.bucket, Key=self.key)
                self.temporary_left = False
        except BaseException:
            self._abort()
            raise
        finally:
            self.buffer, self.filled = bytearray(), 0

    def _abort(self) -> None:
        self.buffer, self.filled = bytearray(), 0
        s = self.store
        if self.upload_id is not None:
            upload_id, self.upload_id = self.upload_id, None
            with contextlib.suppress(NfvoError), s.calls("abort a write"):
                s.client.abort_multipart_upload(Bucket=s.bucket, Key=self.key, UploadId=upload_id)
        if self.temporary_left:
            self.temporary_left = False
            with contextlib.suppress(NfvoError), s.calls("remove a temporary object"):
                s.client.delete_object(Bucket=s.bucket, Key=self.key)
