"""A pytest kit every content store backend runs: subclass :class:`StoreConformance` and give
it a ``store`` fixture yielding a new, empty store of the backend (its ``options.part_size``
as small as the backend allows, so multi-part writes stay small).

The kit checks, on the real backend: the backend is registered under its name; blobs round-trip
whole, in chunks and by any range (empty, across parts, past the end); the same bytes are kept
once; a digest or size that does not match keeps nothing, and so does a writer left without a
commit; names that are not SHA-256 digests are refused; a missing blob reads as ContentMissing;
multi-part blobs (with and without an announced digest) are whole; ``seekable`` serves
``zipfile``; ``put_file`` moves and keeps; ``written_at`` is now (or unknown); delete is
idempotent; two writers of the same bytes at once both succeed; ``sweep`` removes abandoned
writes and nothing else.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator

import pytest

from nfvo.errors import ContentMismatch, ContentMissing
from nfvo.store import API_VERSION, ContentStore, installed

ABSENT = hashlib.sha256(b"not stored").hexdigest()


def pattern(size: int, seed: int = 0) -> Iterator[bytes]:
    """``size`` deterministic, incompressible-looking bytes in 1 MiB chunks."""
    block = hashlib.sha256(str(seed).encode()).digest() * 32768  # 1 MiB
    counter = 0
    while size > 0:
        chunk = bytes(b ^ (counter & 0xFF) for b in block[:64]) + block[64:]
        chunk = chunk[:size]
        yield chunk
        size -= len(chunk)
        counter += 1


def digest_of(chunks) -> tuple[str, int]:
    h, n = hashlib.sha256(), 0
    for chunk in chunks:
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def read_all(store: ContentStore, sha256: str, start: int = 0, end: int | None = None) -> bytes:
    with store.open(sha256, start, end) as f:
        return f.read()


class StoreConformance:
    """The behaviour every :class:`~nfvo.store.ContentStore` shares.  Provide ``store``."""

    @pytest.fixture
    def store(self) -> ContentStore:  # pragma: no cover - the subclass gives it
        raise NotImplementedError("give the kit a `store` fixture")

    def test_registered_under_its_name(self, store):
        entry = next((b for b in installed() if b.scheme == store.name), None)
        assert entry is not None, f"no entry point {store.name!r} in nfvo.content_stores"
        assert entry.backend is type(store), entry.error
        assert store.api_version == API_VERSION

    def test_round_trip(self, store):
        data = b"hello, store\n" * 1000
        blob = store.put(io.BytesIO(data))
        assert (blob.sha256, blob.size) == (hashlib.sha256(data).hexdigest(), len(data))
        assert store.exists(blob.sha256) and store.size(blob.sha256) == len(data)
        assert read_all(store, blob.sha256) == data
        assert b"".join(store.chunks(blob.sha256)) == data
        assert list(store.digests()) == [blob.sha256]

    def test_empty_blob(self, store):
        blob = store.put([])
        assert blob.sha256 == hashlib.sha256(b"").hexdigest() and blob.size == 0
        assert store.size(blob.sha256) == 0 and read_all(store, blob.sha256) == b""

    def test_the_same_bytes_are_kept_once(self, store):
        first = store.put([b"same ", b"bytes"])
        second = store.put(io.BytesIO(b"same bytes"))
        assert first == second
        assert list(store.digests()) == [first.sha256]

    def test_ranges(self, store):
        data = bytes(range(256)) * 40
        sha = store.put([data]).sha256
        for start, end in [(0, 1), (10, 20), (0, len(data)), (255, 4000), (len(data) - 1, None), (100, None),
                           (7, 7), (50, 10), (0, len(data) + 500), (len(data), None), (len(data) + 9, None)]:
            want = data[start:end]
            assert read_all(store, sha, start, end) == want, (start, end)
            assert b"".join(store.chunks(sha, start, end)) == want, (start, end)

    def test_a_wrong_digest_keeps_nothing(self, store):
        with store.writer(expect_sha256=ABSENT) as out:
            out.write(b"other bytes")
            with pytest.raises(ContentMismatch):
                out.commit()
        assert list(store.digests()) == []
        assert store.size(hashlib.sha256(b"other bytes").hexdigest()) is None

    def test_a_wrong_size_keeps_nothing(self, store):
        with pytest.raises(ContentMismatch):
            store.put([b"12345"], expect_size=4)
        assert list(store.digests()) == []

    def test_a_writer_left_without_commit_keeps_nothing(self, store):
        with pytest.raises(RuntimeError), store.writer() as out:
            out.write(b"half a blob")
            raise RuntimeError("the upload broke off")
        with store.writer() as out:
            out.write(b"never committed")
        assert list(store.digests()) == []

    def test_a_commit_is_final(self, store):
        out = store.writer()
        out.write(b"x")
        out.commit()
        with pytest.raises(ValueError):
            out.commit()
        out.abort()  # harmless
        assert store.exists(hashlib.sha256(b"x").hexdigest())

    @pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "abc", "", "0" * 63 + "/", None])
    def test_names_that_are_not_digests_are_refused(self, store, name):
        for call in (store.open, store.size, store.delete, store.seekable):
            with pytest.raises(ContentMismatch):
                call(name)
        with pytest.raises(ContentMismatch):
            store.writer(expect_sha256=name or "x")

    def test_a_missing_blob(self, store):
        assert store.size(ABSENT) is None and not store.exists(ABSENT)
        for call in (store.open, store.seekable):
            with pytest.raises(ContentMissing):
                call(ABSENT)
        with pytest.raises(ContentMissing):
            store.open(ABSENT, 5, 3)
        assert store.delete(ABSENT) is False

    @pytest.mark.parametrize("announced", [False, True], ids=["unannounced", "announced"])
    def test_a_blob_of_several_parts(self, store, announced):
        part = store.options.part_size
        size = 2 * part + 12345
        sha, _ = digest_of(pattern(size, seed=1))
        with store.writer(expect_sha256=sha if announced else None, expect_size=size) as out:
            for chunk in pattern(size, seed=1):
                out.write(memoryview(chunk))
            blob = out.commit()
        assert (blob.sha256, blob.size) == (sha, size) and store.size(sha) == size
        assert digest_of(store.chunks(sha)) == (sha, size)
        joined = b"".join(pattern(size, seed=1))
        assert read_all(store, sha, part - 10, part + 10) == joined[part - 10: part + 10]
        assert list(store.digests()) == [sha]

    def test_seekable_serves_zipfile(self, store):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for n in range(20):
                z.writestr(f"dir/member-{n}.txt", f"member {n}\n" * (n * 500 + 1))
        sha = store.put([buffer.getvalue()]).sha256
        with store.seekable(sha) as f, zipfile.ZipFile(f) as z:
            assert len(z.namelist()) == 20
            assert z.read("dir/member-7.txt") == b"member 7\n" * 3501
            assert z.read("dir/member-0.txt") == b"member 0\n"
            f.seek(0)
            assert f.read(2) == b"PK"
        with store.seekable(sha, len(buffer.getvalue())) as f, zipfile.ZipFile(f) as z:  # size known: no lookup
            assert z.read("dir/member-7.txt") == b"member 7\n" * 3501

    def test_put_file(self, store, tmp_path):
        path = tmp_path / "image.qcow2"
        path.write_bytes(b"an image" * 4096)
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert store.put_file(path).sha256 == sha and path.exists()
        moved = tmp_path / "again.qcow2"
        shutil.copy(path, moved)
        assert store.put_file(moved, sha, move=True).sha256 == sha and not moved.exists()
        assert read_all(store, sha) == b"an image" * 4096
        kept = tmp_path / "kept.qcow2"
        shutil.copy(path, kept)
        store.delete(sha)
        assert store.put_file(kept, sha).sha256 == sha and kept.read_bytes() == b"an image" * 4096
        assert read_all(store, sha) == b"an image" * 4096

    def test_written_at(self, store):
        before = time.time()
        sha = store.put([b"dated"]).sha256
        when = store.written_at(sha)
        assert when is None or before - 5 <= when <= time.time() + 5, when
        assert store.written_at(ABSENT) is None

    def test_a_writer_is_a_file_target(self, store):
        with store.writer() as out:
            shutil.copyfileobj(io.BytesIO(b"copied" * 100000), out)
            assert out.sha256_so_far == hashlib.sha256(b"copied" * 100000).hexdigest()
            blob = out.commit()
        assert blob.size == 600000

    def test_delete_is_idempotent(self, store):
        sha = store.put([b"to delete"]).sha256
        keep = store.put([b"to keep"]).sha256
        assert store.delete(sha) is True and store.delete(sha) is False
        assert not store.exists(sha) and list(store.digests()) == [keep]
        with pytest.raises(ContentMissing):
            store.open(sha)

    def test_two_writers_of_the_same_bytes_at_once(self, store):
        size = store.options.part_size + 1000
        results, errors = [], []
        barrier = threading.Barrier(2)

        def write():
            try:
                with store.writer() as out:
                    for n, chunk in enumerate(pattern(size, seed=2)):
                        out.write(chunk)
                        if n == 0:
                            barrier.wait(timeout=30)
                    results.append(out.commit())
            except Exception as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == [] and len(results) == 2 and results[0] == results[1]
        assert digest_of(store.chunks(results[0].sha256)) == (results[0].sha256, size)
        assert list(store.digests()) == [results[0].sha256]

    def test_sweep_removes_abandoned_writes_only(self, store):
        kept = store.put([b"committed"]).sha256
        abandoned = store.writer()  # a process killed while writing: never committed nor aborted
        for chunk in pattern(store.options.part_size + 10, seed=3):
            abandoned.write(chunk)
        assert store.sweep(older_than=3600) == 0
        time.sleep(1.1)  # some stores keep start times in whole seconds
        assert store.sweep(older_than=0) >= 1
        assert store.sweep(older_than=0) == 0
        abandoned.abort()  # harmless after the sweep
        assert list(store.digests()) == [kept] and read_all(store, kept) == b"committed"
