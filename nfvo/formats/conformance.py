"""A pytest kit every package format runs: subclass :class:`FormatConformance` and give its fixtures.

``package_format``: the format instance; ``valid_package(tmp_path)``: a valid package file with at
least one image in it; ``broken_package(tmp_path)``: a package of the format with at least two
independent errors; ``unpacked_package(tmp_path)``: a directory the format builds a valid package
from, or None when the format cannot build (the kit then checks that ``build`` says so); ``foreign_files(tmp_path)``: files the format must
not recognise (a default set is given; a fallback format such as Open Baton's narrows it).

The kit checks, on real files: the format is registered under its name; it recognises its
package and nothing else it is shown (other formats' packages, an empty file, random bytes);
a valid package reads with images described (members present, sizes known, declared digests
right); every finding of a broken package comes at once, each naming its file; hostile
archives (a ``..`` member, an absolute path, a link) are refused as 4xx problems and write
nothing outside the work directory; ``vnfd`` and ``record`` give JSON; ``build`` round-trips.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from nfvo.domain.archive import ArchiveLimits
from nfvo.errors import NfvoError, ValidationFailed
from nfvo.formats import registry
from nfvo.formats.base import API_VERSION, Package, PackageFormat, Record


def hostile_variants(valid: Path, out: Path) -> list[Path]:
    """Copies of the package ``valid`` (a tar, gzip tar or zip) each with one hostile member added:
    a path leaving the package, an absolute path, and (tars) a symbolic link to /etc/passwd. None
    for a package that is no archive (a lone descriptor)."""
    out.mkdir(parents=True, exist_ok=True)
    variants = []
    if not zipfile.is_zipfile(valid) and not tarfile.is_tarfile(valid):
        return variants
    if zipfile.is_zipfile(valid):
        for n, name in enumerate(["../escaped.txt", "/etc/escaped.txt"]):
            path = out / f"hostile-{n}{valid.suffix}"
            with zipfile.ZipFile(valid) as source, zipfile.ZipFile(path, "w") as target:
                for info in source.infolist():
                    target.writestr(info, source.read(info))
                target.writestr(name, b"escaped")
            variants.append(path)
        return variants
    with open(valid, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    for n, member in enumerate(["../escaped.txt", "/etc/escaped.txt", "link"]):
        path = out / f"hostile-{n}{''.join(valid.suffixes)}"
        with tarfile.open(valid) as source, tarfile.open(path, "w:gz" if gzipped else "w") as target:
            for info in source.getmembers():
                target.addfile(info, source.extractfile(info) if info.isfile() else None)
            info = tarfile.TarInfo(member)
            if member == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                target.addfile(info)
            else:
                info.size = 7
                target.addfile(info, io.BytesIO(b"escaped"))
        variants.append(path)
    return variants


class FormatConformance:
    """The kit; a format's test module subclasses it (a class named ``Test...``)."""

    __test__ = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__test__ = cls.__name__.startswith("Test")

    @pytest.fixture
    def package_format(self) -> PackageFormat:
        raise NotImplementedError("give the format instance as the package_format fixture")

    @pytest.fixture
    def valid_package(self, tmp_path) -> Path:
        raise NotImplementedError("give a valid package file as the valid_package fixture")

    @pytest.fixture
    def broken_package(self, tmp_path) -> Path:
        raise NotImplementedError("give a package with two independent errors as the broken_package fixture")

    @pytest.fixture
    def unpacked_package(self, tmp_path) -> Path | None:
        return None

    @pytest.fixture
    def foreign_files(self, tmp_path) -> list[Path]:
        """Files the format must not take for its own (a fallback format narrows this): an empty
        file, random bytes, a zip and a tar each holding one unrelated text file."""
        foreign = tmp_path / "foreign"
        foreign.mkdir()
        (foreign / "empty").write_bytes(b"")
        (foreign / "noise").write_bytes(hashlib.sha256(b"noise").digest() * 100)
        with zipfile.ZipFile(foreign / "other.zip", "w") as zf:
            zf.writestr("readme.txt", "not a package")
        with tarfile.open(foreign / "other.tar", "w") as tar:
            info = tarfile.TarInfo("readme.txt")
            info.size = 13
            tar.addfile(info, io.BytesIO(b"not a package"))
        return sorted(foreign.iterdir())

    @pytest.fixture
    def work(self, tmp_path) -> Path:
        work = tmp_path / "work"
        work.mkdir()
        return work

    def read(self, fmt: PackageFormat, path: Path, work: Path, **kw):
        return fmt.open(path, limits=ArchiveLimits(), display_name=path.name, work=work, strict=False, **kw)

    # registration and detection --------------------------------------------------------------
    def test_it_is_registered_under_its_name(self, package_format):
        registered = registry.get(package_format.name)
        assert type(registered) is type(package_format)
        assert package_format.api_version == API_VERSION

    def test_it_recognises_its_package(self, package_format, valid_package):
        assert package_format.recognises(valid_package)
        assert registry.detect(valid_package).name == package_format.name

    def test_it_recognises_nothing_else(self, package_format, foreign_files):
        for other in foreign_files:
            assert not package_format.recognises(other), other.name

    # reading -----------------------------------------------------------------------------------
    def test_a_valid_package_is_read_and_its_images_described(self, package_format, valid_package, work):
        with self.read(package_format, valid_package, work) as package:
            assert isinstance(package, Package) and package.format == package_format.name
            json.dumps(list(package.identity))
            assert all(isinstance(v, str) and v for v in (package.name, package.version))
            assert package.images, "the kit needs a valid package with an image"
            for request in package.images:
                if request.file:
                    member = package.members.members[request.file]
                    assert member.size >= 0
                    if request.digest:
                        algorithm, expected = request.digest
                        digest = hashlib.new(algorithm)
                        with package.members.open_member(request.file) as stream:
                            while chunk := stream.read(1 << 20):
                                digest.update(chunk)
                        assert digest.hexdigest() == expected, request.file
                assert request.source is None or request.source.ref in (request.file, request.link)
            summary = package_format.summary(package)
            assert summary and all(isinstance(line, str) for line in summary)

    def test_every_finding_of_a_broken_package_comes_at_once(self, package_format, broken_package, work):
        with pytest.raises(ValidationFailed) as refused:
            with self.read(package_format, broken_package, work):
                pass
        errors = [e for e in refused.value.errors if not e.is_warning]
        assert len(errors) >= 2, refused.value.errors
        assert all(e.file for e in errors), errors

    def test_hostile_archives_are_refused_and_write_nothing_outside_work(self, package_format, valid_package,
                                                                         tmp_path):
        for hostile in hostile_variants(valid_package, tmp_path / "hostile"):
            work = tmp_path / f"work-{hostile.name}"
            work.mkdir()
            before = set(os.listdir(tmp_path))
            if package_format.recognises(hostile):
                with pytest.raises(NfvoError) as refused:
                    with self.read(package_format, hostile, work):
                        pass
                assert 400 <= refused.value.status < 500, refused.value.to_problem()
            assert set(os.listdir(tmp_path)) == before
            assert not (tmp_path / "escaped.txt").exists() and not Path("/etc/escaped.txt").exists()

    def test_vnfd_and_record_are_json(self, package_format, valid_package, work):
        with self.read(package_format, valid_package, work) as package:
            names = {r.key: [f"{r.key}-image"] for r in package.images}
            vnfd = package_format.vnfd(package, names)
            record = package_format.record(package)
        assert {"name", "vendor", "version", "vdu"} <= set(vnfd), sorted(vnfd)
        json.dumps(vnfd)
        assert isinstance(record, Record)
        json.dumps(record.meta)

    def test_a_package_read_through_an_opener_is_the_same_package(self, package_format, valid_package, tmp_path):
        """``opens_streams``: the package read from a stream that is no file (as an S3 store's blob
        is), named by a path that does not exist, gives the same identity, members and bytes; a
        format without it may not be handed an opener."""
        if not package_format.opens_streams:
            with pytest.raises(TypeError):
                package_format.open(valid_package, limits=ArchiveLimits(), display_name="p", work=tmp_path,
                                    strict=False, opener=lambda: open(valid_package, "rb"))
            return
        data, opened = valid_package.read_bytes(), []

        def opener():  # a seekable stream with no file descriptor, as a content store's blob is
            opened.append(1)
            return io.BytesIO(data)

        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with self.read(package_format, valid_package, tmp_path / "a") as by_path, \
                self.read(package_format, tmp_path / "absent" / valid_package.name, tmp_path / "b",
                          opener=opener) as by_stream:
            assert by_stream.identity == by_path.identity
            assert by_stream.members.members == by_path.members.members
            for name, member in by_path.members.members.items():
                if member.is_dir:
                    continue
                try:
                    with by_path.members.open_member(name) as a:
                        expected = a.read()
                except KeyError:  # a member the format does not hand out (e.g. one with no declared hash)
                    with pytest.raises(KeyError):
                        by_stream.members.open_member(name).__enter__()
                    continue
                with by_stream.members.open_member(name) as b:
                    assert b.read() == expected, name
        assert opened

    def test_build_round_trips(self, package_format, unpacked_package, tmp_path, work):
        out = tmp_path / f"built{Path(package_format.stored_as).suffix}"
        if unpacked_package is None:
            with pytest.raises(NotImplementedError):
                package_format.build(tmp_path, out)
            return
        assert package_format.recognises_directory(unpacked_package)
        built = package_format.build(unpacked_package, out)
        assert package_format.recognises(built)
        with self.read(package_format, built, work) as package:
            assert package.format == package_format.name

