"""The tar index agrees with tarfile's own reading on every layout, whatever the chunking."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from nfvo.domain.tar_index import MIN_SIZE, TarIndex

BIG = os.urandom(MIN_SIZE + 3)
OTHER = os.urandom(2 * MIN_SIZE + 700)


def _tar(fmt: int, members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        directory = tarfile.TarInfo("images")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        link = tarfile.TarInfo("images/latest")
        link.type, link.linkname = tarfile.SYMTYPE, "disk.img"
        tar.addfile(link)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _expected(data: bytes) -> list[tuple[int, int, str]]:
    """What tarfile reads: (offset of data, size, sha256) of each regular member of MIN_SIZE or more."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(i.offset_data, i.size, hashlib.sha256(data[i.offset_data:i.offset_data + i.size]).hexdigest())
                for i in tar.getmembers() if i.isreg() and i.size >= MIN_SIZE]


def _indexed(data: bytes, chunk: int) -> list[tuple[int, int, str]]:
    index = TarIndex()
    for start in range(0, len(data), chunk):
        index.feed(data[start:start + chunk])
    return index.entries


MEMBERS = {"Metadata.yaml": b"name: x\n", "images/disk.img": BIG, "scripts/install.sh": b"#!/bin/sh\n",
           "images/" + "long-name-" * 12 + ".qcow2": OTHER, "images/small.img": b"s" * (MIN_SIZE - 1)}


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("chunk", [511, 513, 65536, 1 << 30])
def test_every_large_member_is_found_where_tarfile_finds_it(fmt, chunk):
    members = dict(MEMBERS)
    if fmt == tarfile.USTAR_FORMAT:  # ustar cannot hold the long name
        members["images/other.qcow2"] = members.pop("images/" + "long-name-" * 12 + ".qcow2")
    data = _tar(fmt, members)
    expected = _expected(data)
    assert len(expected) == 2
    assert _indexed(data, chunk) == expected


def test_bytes_fed_one_at_a_time_are_indexed_alike():
    data = _tar(tarfile.PAX_FORMAT, MEMBERS)
    assert _indexed(data, 1) == _expected(data)


def test_a_pax_size_record_overrides_the_header_size():
    """A pax header carrying ``size`` (as tarfile writes for members of 8 GiB and more) is followed
    the way tarfile follows it: the member's data is as long as the record says."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("images/disk.img")
        info.size = len(BIG)
        info.pax_headers = {"size": str(len(BIG)), "comment": "x" * 300}
        tar.addfile(info, io.BytesIO(BIG))
    data = out.getvalue()
    assert _indexed(data, 4096) == _expected(data) == [(_expected(data)[0][0], len(BIG),
                                                         hashlib.sha256(BIG).hexdigest())]


def test_a_truncated_tar_keeps_the_members_it_saw_whole():
    data = _tar(tarfile.GNU_FORMAT, MEMBERS)
    whole = _expected(data)
    cut = whole[1][0] + 1000  # inside the second large member
    assert _indexed(data[:cut], 65536) == whole[:1]


@pytest.mark.parametrize("make", [
    lambda: gzip.compress(_tar(tarfile.GNU_FORMAT, MEMBERS)),
    lambda: _zip({"images/disk.img": BIG}),
    lambda: os.urandom(3 * MIN_SIZE),
    lambda: b"",
])
def test_what_is_no_plain_tar_gives_no_entries(make):
    assert _indexed(make(), 65536) == []


def test_a_corrupt_header_ends_the_index_but_keeps_what_came_before():
    data = bytearray(_tar(tarfile.GNU_FORMAT, MEMBERS))
    whole = _expected(bytes(data))
    second_header = whole[1][0] - 512 * 3  # the long-name header blocks precede the member's own
    data[second_header + 148:second_header + 156] = b"garbage!"  # its checksum field
    assert _indexed(bytes(data), 65536) == whole[:1]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()
