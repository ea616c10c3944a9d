"""The filesystem content store passes the store kit; and what only it does: renames, read-only blobs."""

from __future__ import annotations

import os
import stat

import pytest

from nfvo.errors import StoreFailed
from nfvo.store import StoreOptions, open_store
from nfvo.store.conformance import StoreConformance
from nfvo.store.filesystem import FilesystemStore

MiB = 2**20


class TestFilesystemStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path):
        return open_store((tmp_path / "store").as_uri(), StoreOptions(part_size=5 * MiB))


def test_moving_a_file_in_is_a_rename(tmp_path):
    store = FilesystemStore((tmp_path / "store").as_uri())
    path = tmp_path / "upload"
    path.write_bytes(b"package bytes")
    inode = path.stat().st_ino
    blob = store.put_file(path, move=True)
    placed = store.local_path(blob.sha256)
    assert placed.stat().st_ino == inode and not path.exists()
    assert not placed.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert store.seekable(blob.sha256).read() == b"package bytes"


def test_a_blob_appears_whole_or_not_at_all(tmp_path):
    store = FilesystemStore((tmp_path / "store").as_uri())
    with store.writer() as out:
        out.write(b"first half ")
        assert list(store.digests()) == [] and len(os.listdir(store.tmp)) == 1
        out.write(b"second half")
        blob = out.commit()
    assert os.listdir(store.tmp) == [] and store.local_path(blob.sha256).read_bytes() == b"first half second half"


@pytest.mark.parametrize("url", ["file://relative/path", "file://host/srv/store", "s4://bucket", "/srv/store"])
def test_urls_it_does_not_serve(url):
    with pytest.raises(ValueError) as caught:
        open_store(url)
    assert "file://" in str(caught.value)


def test_a_store_it_cannot_create_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreFailed) as caught:
        FilesystemStore((blocker / "store").as_uri())
    assert str(blocker) in str(caught.value)
