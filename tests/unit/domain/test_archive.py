"""Tests of the safe package tar reader."""

import gzip
import io
import shutil
import tarfile
import tracemalloc

import pytest

from nfvo.domain.archive import (
    ARTIFACT,
    DESCRIPTOR,
    IMAGE,
    SCRIPT,
    ArchiveLimits,
    LimitedReader,
    Member,
    PackageArchive,
    normalise_member_name,
    openbaton_kind,
)
from nfvo.errors import UnsafeArchive, ValidationFailed
from tests import bombs

FILES = {"Metadata.yaml": b"name: x\n", "scripts/install.sh": b"#!/bin/sh\necho hi\n" * 100}


def entry(name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path, entries, *, gz=False):
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for info, data in entries:
            tar.addfile(info, data)
    return path


def package(tmp_path, files=FILES, *, prefix="", gz=False, name="pkg.tar"):
    entries = [entry(prefix + "scripts", kind=tarfile.DIRTYPE)]
    entries += [entry(prefix + n, data) for n, data in files.items()]
    return write_tar(tmp_path / name, entries, gz=gz)


def unsafe(path, limits=ArchiveLimits()):
    with pytest.raises(UnsafeArchive) as caught:
        PackageArchive.open(path, limits, display_name="bad.tar")
    return caught.value


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
@pytest.mark.parametrize("prefix", ["", "./"], ids=["bare", "dot-slash"])
def test_lists_reads_and_streams(tmp_path, gz, prefix):
    # A .tar name on gzip content: the format is told by content, not by name.
    path = package(tmp_path, prefix=prefix, gz=gz)
    with PackageArchive.open(path) as archive:
        assert archive.members == {
            "Metadata.yaml": Member("Metadata.yaml", 8, False),
            "scripts": Member("scripts", 0, True),
            "scripts/install.sh": Member("scripts/install.sh", 1800, False),
        }
        assert archive.files() == ["Metadata.yaml", "scripts/install.sh"]
        assert archive.find("./Metadata.yaml") == "Metadata.yaml"
        assert archive.find("METADATA.YAML") is None
        assert archive.find("METADATA.YAML", case_insensitive=True) == "Metadata.yaml"
        assert archive.read_text("Metadata.yaml") == "name: x\n"
        with archive.open_member("scripts/install.sh") as stream:
            assert stream.read(9) == b"#!/bin/sh"
            assert len(stream.read()) == 1800 - 9
        out = archive.extract_file("scripts/install.sh", tmp_path)
        assert out == tmp_path / "install.sh"
        assert out.read_bytes() == FILES["scripts/install.sh"]
        renamed = archive.extract_file("Metadata.yaml", tmp_path, as_name="meta")
        assert renamed.read_bytes() == b"name: x\n"


def test_members_stream_independently(tmp_path):
    path = package(tmp_path, {"a": b"A" * 5000, "b": b"B" * 5000})
    with PackageArchive.open(path) as archive:
        with archive.open_member("a") as a, archive.open_member("b") as b:
            assert (a.read(10), b.read(10), a.read(10)) == (b"A" * 10, b"B" * 10, b"A" * 10)


def test_large_member_is_streamed_not_loaded(tmp_path):
    size = 32 * 2**20
    source = tmp_path / "big"
    with open(source, "wb") as f:
        f.truncate(size)
    with tarfile.open(tmp_path / "big.tar", "w") as tar:
        tar.add(source, arcname="images/big.img")
    with PackageArchive.open(tmp_path / "big.tar") as archive:
        tracemalloc.start()
        out = archive.extract_file("images/big.img", tmp_path, as_name="copy.img")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert out.stat().st_size == size
    assert peak < 4 * 2**20


def test_every_hostile_member_reported_at_once(tmp_path):
    path = write_tar(tmp_path / "bad.tar", [
        entry("ok.txt", b"fine"),
        entry("../x", b"1"),
        entry("/etc/passwd", b"1"),
        entry("link", kind=tarfile.SYMTYPE, linkname="/etc/shadow"),
        entry("hard", kind=tarfile.LNKTYPE, linkname="ok.txt"),
        entry("tty", kind=tarfile.CHRTYPE),
        entry("disk", kind=tarfile.BLKTYPE),
        entry("pipe", kind=tarfile.FIFOTYPE),
        entry("dir\\..\\evil", b"1"),
        entry("C:/win", b"1"),
        entry("ok.txt", b"again"),
        entry("scripts/a/../../../y", b"1"),
    ])
    error = unsafe(path)
    assert error.detail == "11 unsafe members in package bad.tar"
    assert {(i.file, i.message) for i in error.errors} == {
        ("../x", "'..' in path"),
        ("/etc/passwd", "absolute path"),
        ("link", "symbolic link (to '/etc/shadow')"),
        ("hard", "hard link (to 'ok.txt')"),
        ("tty", "character device"),
        ("disk", "block device"),
        ("pipe", "FIFO"),
        ("dir\\..\\evil", "backslash in name"),
        ("C:/win", "drive-letter path"),
        ("ok.txt", "duplicate entry"),
        ("scripts/a/../../../y", "'..' in path"),
    }


def test_nul_and_control_characters_in_pax_names(tmp_path):
    path = tmp_path / "pax.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("x\x00y", "new\nline"):
            info = tarfile.TarInfo("plain")
            info.pax_headers = {"path": name}
            tar.addfile(info, io.BytesIO(b""))
    assert [(i.file, i.message) for i in unsafe(path).errors] == [
        ("x\\x00y", "NUL byte in name"), ("new\\nline", "control character in name")]


def test_file_used_as_folder(tmp_path):
    path = write_tar(tmp_path / "p.tar", [entry("scripts", b"x"), entry("scripts/a.sh", b"y")])
    assert [(i.file, i.message) for i in unsafe(path).errors] == [
        ("scripts/a.sh", "'scripts' is a file, not a folder")]


def test_too_many_members(tmp_path):
    path = write_tar(tmp_path / "p.tar", [entry(f"f{i}", b"x") for i in range(6)])
    error = unsafe(path, ArchiveLimits(max_members=3))
    assert [(i.file, i.message) for i in error.errors] == [("f3", "more than 3 members")]


def test_total_size_over_limit(tmp_path):
    path = write_tar(tmp_path / "p.tar", [entry("a", b"x" * 6), entry("b", b"x" * 6), entry("c", b"x")])
    error = unsafe(path, ArchiveLimits(max_total_size=10))
    assert [(i.file, i.message) for i in error.errors] == [
        ("b", "the members' total size exceeds 10 bytes (NFVO_MAX_PACKAGE_SIZE)")]


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"this is not a tar at all\n" * 40, "invalid header"),
    (gzip.compress(b"just text, gzipped\n" * 40), "invalid header"),
    (b"BZh91AY&SY", "bzip2-compressed"),
    (b"PK\x03\x04rest", "ZIP archive"),
])
def test_not_a_tar(tmp_path, content, message):
    path = tmp_path / "pkg.tar"
    path.write_bytes(content)
    error = unsafe(path)
    assert error.detail == "package bad.tar is not a readable tar archive"
    assert len(error.errors) == 1 and error.errors[0].file == "bad.tar"
    assert message in error.errors[0].message


@pytest.mark.parametrize("cut", [700, 1300, 2100])
def test_truncated_tar(tmp_path, cut):
    whole = package(tmp_path).read_bytes()
    path = tmp_path / "cut.tar"
    path.write_bytes(whole[:cut])
    error = unsafe(path)
    assert len(error.errors) == 1
    assert "truncated" in error.errors[0].message or "unexpected end of data" in error.errors[0].message


def test_truncated_gzip(tmp_path):
    whole = package(tmp_path, gz=True).read_bytes()
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(whole[: len(whole) - 20])
    assert "ended before the end-of-stream" in unsafe(path).errors[0].message


def test_garbage_after_last_member(tmp_path):
    path = package(tmp_path)
    path.write_bytes(path.read_bytes() + b"\xff" * 2048)
    assert "corrupt" in unsafe(path).errors[0].message


def test_read_text_limits_and_encoding(tmp_path):
    path = package(tmp_path, {"big.yaml": b"a" * 100, "latin.yaml": b"ok: 1\nname: caf\xe9\n",
                              "bom.yaml": b"\xef\xbb\xbfname: x\n"})
    with PackageArchive.open(path, ArchiveLimits(max_text_size=50)) as archive:
        with pytest.raises(UnsafeArchive) as too_big:
            archive.read_text("big.yaml")
        assert too_big.value.errors[0].file == "big.yaml"
        with pytest.raises(ValidationFailed) as undecodable:
            archive.read_text("latin.yaml")
        issue = undecodable.value.errors[0]
        assert (issue.file, issue.line, issue.message) == ("latin.yaml", 2, "not UTF-8 text")
        assert archive.read_text("bom.yaml") == "name: x\n"
        with pytest.raises(KeyError):
            archive.read_text("scripts")


@pytest.mark.parametrize("as_name", ["../escape", "a/b", "..", ""])
def test_extract_target_must_stay_inside(tmp_path, as_name):
    with PackageArchive.open(package(tmp_path)) as archive:
        with pytest.raises(UnsafeArchive):
            archive.extract_file("Metadata.yaml", tmp_path / "out", as_name=as_name)
    assert not (tmp_path / "escape").exists()


def test_extract_refuses_to_write_through_symlink(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "Metadata.yaml").symlink_to(victim)
    with PackageArchive.open(package(tmp_path)) as archive:
        with pytest.raises(OSError):
            archive.extract_file("Metadata.yaml", dest)
    assert victim.read_text() == "keep"


def test_oversized_pax_header_refused_before_reading_it(tmp_path):
    path = tmp_path / "pax.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("a")
        info.pax_headers = {"comment": "x" * (2 * 2**20)}
        tar.addfile(info, io.BytesIO(b""))
    assert "header claims more than" in unsafe(path).errors[0].message


def test_non_utf8_name(tmp_path):
    path = tmp_path / "latin.tar"
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as tar:
        tar.addfile(tarfile.TarInfo("caf\xe9"), io.BytesIO(b""))
    assert [i.message for i in unsafe(path).errors] == ["name is not UTF-8"]


def pax_member(headers, name="victim.txt"):
    """A tar whose second member, ``name``, carries the extended (pax) ``headers``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(tarfile.TarInfo("first.txt"), io.BytesIO(b""))
        info = tarfile.TarInfo(name)
        info.size, info.pax_headers = 3, headers
        tar.addfile(info, io.BytesIO(b"abc"))
    return out.getvalue()


@pytest.mark.parametrize("headers, words", [
    ({"GNU.sparse.map": "a,b"}, "malformed"),
    ({"GNU.sparse.size": "x"}, "malformed"),
    ({"GNU.sparse.size": "9" * 5000}, "malformed"),
    ({"GNU.sparse.realsize": "x"}, "malformed"),
    ({"GNU.sparse.numblocks": "x", "GNU.sparse.major": "1", "GNU.sparse.minor": "0"}, "malformed"),
    ({"size": "9" * 4000}, "total size exceeds"),
], ids=["sparse map", "sparse size", "5000 digits", "realsize", "numblocks", "4000-digit size"])
def test_malformed_numbers_in_pax_headers_are_unsafe_and_name_the_member(tmp_path, headers, words):
    path = tmp_path / "pax.tar"
    path.write_bytes(pax_member(headers))
    [issue] = unsafe(path).errors
    assert issue.file == "victim.txt"
    assert words in issue.message


def test_a_pax_record_length_of_5000_digits_is_unsafe(tmp_path):
    records = b"9" * 5000 + b" path=x\n"
    header = tarfile.TarInfo("PaxHeaders/victim.txt")
    header.type, header.size = tarfile.XHDTYPE, len(records)
    member = tarfile.TarInfo("victim.txt")
    blocks = header.tobuf(tarfile.USTAR_FORMAT) + records + b"\0" * (-len(records) % 512)
    blocks += member.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024
    path = tmp_path / "pax.tar"
    path.write_bytes(blocks)
    [issue] = unsafe(path).errors
    assert issue.file == "PaxHeaders/victim.txt" and "malformed" in issue.message


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_gzip_bomb_is_refused_without_decompressing_past_the_limit(tmp_path, monkeypatch):
    huge = 64 * 2**20
    path = tmp_path / "bomb.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.addfile(*entry("Metadata.yaml", b"name: x\n"))
        big = tarfile.TarInfo("images/zeros.img")
        big.size = huge
        tar.addfile(big, _Zeros(huge))
        tar.addfile(*entry("after.txt", b"x"))
    assert path.stat().st_size < huge // 50

    furthest = [0]

    class Watched(gzip.GzipFile):  # how far into the uncompressed stream the listing went
        def read(self, size=-1):
            data = super().read(size)
            furthest[0] = max(furthest[0], self.tell())
            return data

        def seek(self, offset, whence=0):
            position = super().seek(offset, whence)
            furthest[0] = max(furthest[0], position)
            return position

    monkeypatch.setattr(gzip, "GzipFile", Watched)
    error = unsafe(path, ArchiveLimits(max_total_size=2**20))
    assert [(i.file, i.message) for i in error.errors] == [
        ("images/zeros.img", f"the members' total size exceeds {2**20} bytes (NFVO_MAX_PACKAGE_SIZE)")]
    assert 0 < furthest[0] < 2**20


def test_member_names_are_normalised_by_one_public_function():
    assert normalise_member_name("./images//a.img") == ("images/a.img", None)
    assert normalise_member_name("images/../x") == ("", "'..' in path")


# limits per kind of member ---------------------------------------------------------------
def test_member_kinds_of_the_open_baton_layout():
    assert [openbaton_kind(n) for n in ("Metadata.yaml", "METADATA.YAML", "vnfd.json", "scripts/install.sh",
                                        "images/disk.raw", "README", "docs/vnfd.json")] == [
        DESCRIPTOR, DESCRIPTOR, DESCRIPTOR, SCRIPT, IMAGE, ARTIFACT, ARTIFACT]


def test_a_3_mb_tar_gz_whose_script_inflates_to_3_gib_is_refused_at_its_header(tmp_path, monkeypatch):
    path = bombs.gzip_tar_bomb(tmp_path / "bomb.tar.gz", {"Metadata.yaml": b"name: x\n"}, "scripts/install.sh",
                               3 * 2**30)
    assert path.stat().st_size < 4 * 2**20
    furthest = _watch_gzip(monkeypatch)
    error = unsafe(path)  # the service's defaults: scripts up to 16 MiB
    assert [(i.file, i.message) for i in error.errors] == [
        ("scripts/install.sh", f"is larger than {16 * 2**20} bytes, the limit for a script (NFVO_MAX_SCRIPT_SIZE)")]
    assert furthest[0] < 2**20  # not one block of the script was decompressed


def test_every_member_over_its_kind_s_limit_is_reported_at_once_in_a_plain_tar(tmp_path):
    files = {"Metadata.yaml": b"m" * 100, "vnfd.json": b"{}" * 60, "scripts/a.sh": b"s" * 50,
             "images/a.img": b"i" * 70, "extra/notes.txt": b"n" * 40}
    path = write_tar(tmp_path / "p.tar", [entry(n, d) for n, d in files.items()])
    limits = ArchiveLimits(max_text_size=100, max_script_size=49, max_image_size=69, max_artifact_size=39)
    found = {(i.file, i.message.rsplit("(", 1)[1]) for i in unsafe(path, limits).errors}
    assert found == {("vnfd.json", "NFVO_MAX_DESCRIPTOR_SIZE)"), ("scripts/a.sh", "NFVO_MAX_SCRIPT_SIZE)"),
                     ("images/a.img", "NFVO_MAX_IMAGE_SIZE)"), ("extra/notes.txt", "NFVO_MAX_ARTIFACT_SIZE)")}
    limits = ArchiveLimits(max_text_size=120, max_script_size=50, max_image_size=70, max_artifact_size=40)
    with PackageArchive.open(path, limits) as archive:  # exactly at each limit: fine
        assert archive.members["scripts/a.sh"].kind == SCRIPT


def test_an_image_as_large_as_the_image_limit_is_fine_whatever_its_ratio(tmp_path):
    size = 2 * bombs.BLOCK  # 128 MiB of zeros in a few hundred KB
    path = bombs.gzip_tar_bomb(tmp_path / "p.tar.gz", {"Metadata.yaml": b"name: x\n"}, "images/zeros.raw", size)
    assert path.stat().st_size * 500 < size
    limits = ArchiveLimits(max_image_size=size, max_script_size=2**20, max_artifact_size=2**20)
    with PackageArchive.open(path, limits) as archive, archive.open_member("images/zeros.raw") as stream:
        read = 0
        while chunk := stream.read(2**20):
            read += len(chunk)
    assert read == size
    [issue] = unsafe(path, ArchiveLimits(max_image_size=size - 1)).errors
    assert issue.file == "images/zeros.raw" and "NFVO_MAX_IMAGE_SIZE" in issue.message


def test_the_streamed_bound_stops_at_the_limit_whatever_the_size_claimed(tmp_path):
    # A header claims 64 MiB but the limit is 1 MiB: no more than the limit ever reaches the output.
    source = tmp_path / "zeros"
    with open(source, "wb") as f:
        f.truncate(64 * 2**20)
    out = tmp_path / "out"
    with open(source, "rb") as raw, open(out, "wb") as target:
        reader = LimitedReader(raw, name="scripts/x.sh", kind=SCRIPT, limit=2**20, declared=64 * 2**20,
                               package="p.tar")
        with pytest.raises(UnsafeArchive) as caught:
            shutil.copyfileobj(reader, target, 300_000)
    assert out.stat().st_size <= 2**20
    [issue] = caught.value.errors
    assert (issue.file, issue.message) == (
        "scripts/x.sh", f"holds more than {2**20} bytes, the limit for a script (NFVO_MAX_SCRIPT_SIZE)")
    with open(source, "rb") as raw:  # and a member that goes on past its declared size
        reader = LimitedReader(raw, name="a", kind=ARTIFACT, limit=2**30, declared=10, package="p.tar")
        with pytest.raises(UnsafeArchive, match="larger than its header says"):
            reader.read()


def test_extract_file_is_bounded_by_the_script_limit(tmp_path):
    path = package(tmp_path, {"Metadata.yaml": b"name: x\n", "scripts/install.sh": b"#" * 5000})
    target = tmp_path / "out"
    target.mkdir()
    with PackageArchive.open(path, ArchiveLimits(max_script_size=5000)) as archive:
        assert archive.extract_file("scripts/install.sh", target).stat().st_size == 5000
    unsafe(path, ArchiveLimits(max_script_size=4999))


def _watch_gzip(monkeypatch) -> list[int]:
    """How far into the uncompressed stream a reader went (a real GzipFile that records its position)."""
    furthest = [0]

    class Watched(gzip.GzipFile):
        def read(self, size=-1):
            data = super().read(size)
            furthest[0] = max(furthest[0], self.tell())
            return data

        def seek(self, offset, whence=0):
            position = super().seek(offset, whence)
            furthest[0] = max(furthest[0], position)
            return position

    monkeypatch.setattr(gzip, "GzipFile", Watched)
    return furthest
