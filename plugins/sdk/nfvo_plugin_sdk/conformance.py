"""A pytest kit every VIM driver runs against a real backend: subclass, override ``driver``."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterable, Iterator

import pytest

from . import errors as driver_errors
from .driver import CREATE_FLAVOR, IMPORT_URL, UPLOAD_STREAM, VimDriver
from .errors import ChecksumMismatch, DriverConflict, DriverError, ImageNotFound, Unsupported
from .types import API_VERSION, Flavor, Image, ImageSpec, Network

MiB = 1024 * 1024


class GeneratorStream(io.RawIOBase):
    """A read-only, non-seekable binary stream over an iterable of byte chunks.

    It records the size asked for by every ``read`` so tests can check a driver reads
    in bounded chunks (``read()``/``read(-1)`` is recorded as ``-1``).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""
        self.read_sizes: list[int] = []
        self.eof_seen = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        self.read_sizes.append(size)
        buffer = bytearray(size)
        n = self._fill(memoryview(buffer))
        return bytes(buffer[:n])

    def readall(self) -> bytes:
        self.read_sizes.append(-1)
        data = b"".join([self._pending, *self._chunks])
        self._pending, self.eof_seen = b"", True
        return data

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self.read_sizes.append(len(buffer))
        return self._fill(memoryview(buffer).cast("B"))

    def _fill(self, buffer: memoryview) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                self.eof_seen = True
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def chunks_of(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """``data`` cut into pieces of ``size`` bytes (a generator)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class _ConformanceBase:
    """Fixtures shared by the kit.  Only ``driver`` must be overridden."""

    __test__ = False

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Classes of this module stay abstract; a driver's subclass is collected unless
        # it says otherwise itself.
        if cls.__module__ != __name__ and "__test__" not in cls.__dict__:
            cls.__test__ = True

    @pytest.fixture
    def driver(self) -> Iterator[VimDriver]:
        """Override: yield a driver instance connected to a real, working backend."""
        raise NotImplementedError(f"{type(self).__name__} must override the 'driver' fixture")

    @pytest.fixture
    def image_bytes(self) -> bytes:
        """Content the backend accepts as an image; override when it must be a real format."""
        return os.urandom(MiB)

    @pytest.fixture
    def other_image_bytes(self, image_bytes: bytes) -> bytes:
        """Content of the same kind as ``image_bytes`` but different."""
        return image_bytes[:-16] + os.urandom(16)

    @pytest.fixture
    def import_url(self, driver: VimDriver) -> str:
        """An URL the backend can import ``image_bytes`` from; drivers declaring ``import_url`` override it."""
        if IMPORT_URL in driver.capabilities:
            pytest.fail("the driver declares import_url: override the import_url fixture with an URL its "
                        "backend can fetch image_bytes from")
        return "https://example.invalid/image.qcow2"

    @pytest.fixture
    def unknown_image_id(self) -> str:
        """An id no image on the backend has."""
        return str(uuid.uuid4())

    @pytest.fixture
    def image_name(self) -> str:
        """A name unique to this test, so a shared backend never sees collisions."""
        return f"nfvo-conformance-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def spec(self, driver: VimDriver, image_name: str) -> ImageSpec:
        formats = driver.disk_formats
        disk_format = "qcow2" if formats is None or "qcow2" in formats else sorted(formats)[0]
        return ImageSpec(name=image_name, disk_format=disk_format, min_cpu=1, min_disk=2, min_ram=512)

    @pytest.fixture
    def upload(self, driver: VimDriver) -> Iterator[Callable[..., Image]]:
        """``upload(spec, data, **kw)`` through a non-seekable stream; deletes what it made."""
        made: list[str] = []

        def _upload(spec: ImageSpec, data: bytes, **kwargs) -> Image:
            image = driver.upload_image(spec, GeneratorStream(chunks_of(data)), **kwargs)
            made.append(image.id)
            return image

        yield _upload
        for image_id in made:
            driver.delete_image(image_id)


class ConnectionConformance(_ConformanceBase):
    """The driver class is well-formed and reaches its backend."""

    def test_driver_targets_this_api_version(self, driver: VimDriver) -> None:
        assert isinstance(driver, VimDriver)
        assert driver.api_version == API_VERSION

    def test_capabilities_include_upload_stream(self, driver: VimDriver) -> None:
        assert isinstance(driver.capabilities, frozenset)
        assert UPLOAD_STREAM in driver.capabilities
        assert driver.disk_formats is None or isinstance(driver.disk_formats, frozenset)

    def test_check_connection_passes(self, driver: VimDriver) -> None:
        assert driver.check_connection() is None
        assert driver.check_connection() is None  # idempotent

    def test_list_flavors_and_networks_return_value_types(self, driver: VimDriver) -> None:
        flavors, networks = driver.list_flavors(), driver.list_networks()
        assert all(isinstance(f, Flavor) and f.id and f.name for f in flavors)
        assert all(isinstance(n, Network) and n.id and n.name for n in networks)


class ImageConformance(_ConformanceBase):
    """Upload, find, get, delete: the operations image resolution relies on."""

    def test_upload_returns_image_with_spec_fields(self, upload, spec, image_bytes) -> None:
        image = upload(spec, image_bytes, size=len(image_bytes))
        assert isinstance(image, Image) and image.id
        assert image.name == spec.name
        assert image.disk_format.lower() == spec.disk_format
        assert image.container_format.lower() == spec.container_format
        assert (image.min_disk, image.min_ram) == (2, 512)
        assert image.min_cpu in (0, 1)  # not every VIM records a minimum CPU count
        assert image.size in (None, len(image_bytes))
        assert image.sha256 in (None, hashlib.sha256(image_bytes).hexdigest())

    def test_uploaded_image_is_found_by_id(self, driver, upload, spec, image_bytes) -> None:
        image = upload(spec, image_bytes)
        assert [i.id for i in driver.find_images(id=image.id)] == [image.id]
        assert driver.get_image(image.id).id == image.id
        assert image.id in {i.id for i in driver.list_images()}

    def test_uploaded_image_is_found_by_name(self, driver, upload, spec, image_bytes) -> None:
        image = upload(spec, image_bytes)
        found = driver.find_images(name=spec.name)
        assert [(i.id, i.name) for i in found] == [(image.id, spec.name)]

    def test_uploaded_image_is_found_by_sha256(self, driver, upload, spec, image_bytes) -> None:
        image = upload(spec, image_bytes)
        digest = hashlib.sha256(image_bytes).hexdigest()
        assert image.sha256 == digest, "a driver sees every byte it uploads: it must report their sha256"
        assert image.id in {i.id for i in driver.find_images(sha256=digest)}
        assert [i.id for i in driver.find_images(name=spec.name, sha256=digest)] == [image.id]

    def test_find_requires_every_criterion_to_match(self, driver, upload, spec, image_bytes) -> None:
        image = upload(spec, image_bytes)
        assert driver.find_images(id=image.id, name=spec.name + "-other") == []
        assert driver.find_images(name=spec.name, sha256="0" * 64) == []

    def test_find_unknown_returns_empty_list(self, driver, unknown_image_id, image_name) -> None:
        assert driver.find_images(id=unknown_image_id) == []
        assert driver.find_images(name=image_name) == []

    def test_get_unknown_id_raises_image_not_found(self, driver, unknown_image_id) -> None:
        with pytest.raises(ImageNotFound):
            driver.get_image(unknown_image_id)

    def test_upload_same_name_and_content_twice_keeps_one_image(
        self, driver, upload, spec, image_bytes
    ) -> None:
        first = upload(spec, image_bytes)
        second = upload(spec, image_bytes)
        assert second.id == first.id
        assert [i.id for i in driver.find_images(name=spec.name)] == [first.id]

    def test_same_name_different_content_gives_two_images(
        self, driver, upload, spec, image_bytes, other_image_bytes
    ) -> None:
        # the "ambiguous name" case nfvo reports to the user
        first = upload(spec, image_bytes)
        second = upload(spec, other_image_bytes)
        assert first.id != second.id
        assert sorted(i.id for i in driver.find_images(name=spec.name)) == sorted([first.id, second.id])

    def test_matching_sha256_is_accepted(self, upload, spec, image_bytes) -> None:
        digest = hashlib.sha256(image_bytes).hexdigest()
        image = upload(spec, image_bytes, sha256=digest, size=len(image_bytes))
        assert image.sha256 in (None, digest)

    def test_wrong_sha256_raises_checksum_mismatch_and_leaves_nothing(
        self, driver, upload, spec, image_bytes
    ) -> None:
        wrong = hashlib.sha256(image_bytes + b"x").hexdigest()
        with pytest.raises(ChecksumMismatch):
            upload(spec, image_bytes, sha256=wrong)
        assert driver.find_images(name=spec.name) == []

    def test_delete_then_get_raises_image_not_found(self, driver, spec, image_bytes) -> None:
        image = driver.upload_image(spec, GeneratorStream(chunks_of(image_bytes)))
        assert driver.delete_image(image.id) is None
        with pytest.raises(ImageNotFound):
            driver.get_image(image.id)
        assert driver.find_images(name=spec.name) == []

    def test_delete_twice_is_not_an_error(self, driver, spec, image_bytes, unknown_image_id) -> None:
        image = driver.upload_image(spec, GeneratorStream(chunks_of(image_bytes)))
        driver.delete_image(image.id)
        driver.delete_image(image.id)
        driver.delete_image(unknown_image_id)
        assert driver.find_images(id=image.id) == []

    def test_delete_keeps_other_image_with_same_content(self, driver, upload, spec, image_bytes) -> None:
        twin_spec = dataclasses.replace(spec, name=spec.name + "-twin")
        image = driver.upload_image(spec, GeneratorStream(chunks_of(image_bytes)))
        twin = upload(twin_spec, image_bytes)
        assert twin.id != image.id
        driver.delete_image(image.id)
        assert driver.get_image(twin.id).name == twin_spec.name


class StreamingConformance(_ConformanceBase):
    """Uploads stream: non-seekable sources, bounded reads to EOF."""

    def test_upload_from_generator_backed_non_seekable_stream(self, driver, spec, image_bytes) -> None:
        size = len(image_bytes)
        cuts = sorted({0, min(1, size), min(4097, size), min(70_000, size), max(size - 7, 0), size})
        pieces = (image_bytes[a:b] for a, b in zip(cuts, cuts[1:], strict=False))  # uneven, a generator
        stream = GeneratorStream(pieces)
        assert not stream.seekable()
        image = driver.upload_image(spec, stream)
        try:
            assert image.size in (None, len(image_bytes))
            assert image.sha256 in (None, hashlib.sha256(image_bytes).hexdigest())
            assert driver.get_image(image.id).name == spec.name
        finally:
            driver.delete_image(image.id)

    def test_upload_reads_stream_in_bounded_chunks_to_eof(self, driver, spec, image_bytes) -> None:
        stream = GeneratorStream(chunks_of(image_bytes))
        image = driver.upload_image(spec, stream)
        try:
            assert stream.eof_seen, "the driver stopped before EOF"
            assert stream.read_sizes, "the driver never read the stream"
            assert -1 not in stream.read_sizes, "the driver read the whole stream at once"
            assert max(stream.read_sizes) <= 64 * MiB
        finally:
            driver.delete_image(image.id)


class FileConformance(_ConformanceBase):
    """``upload_image_file``: an image from a range of a local file (every driver has it)."""

    @pytest.fixture
    def image_file(self, tmp_path, image_bytes: bytes) -> tuple[str, int]:
        """A file holding ``image_bytes`` between other bytes: its path and the image's offset."""
        path, offset = tmp_path / "package.tar", 1536
        path.write_bytes(os.urandom(offset) + image_bytes + os.urandom(700))
        return str(path), offset

    def test_upload_from_a_file_range_stores_exactly_those_bytes(self, driver, spec, image_bytes, image_file) -> None:
        path, offset = image_file
        digest = hashlib.sha256(image_bytes).hexdigest()
        image = driver.upload_image_file(spec, path, offset=offset, size=len(image_bytes), sha256=digest)
        try:
            assert image.name == spec.name
            assert image.size in (None, len(image_bytes))
            assert image.sha256 in (None, digest)
            # the same name and content streamed is the same image: the file range held those bytes
            again = driver.upload_image(spec, GeneratorStream(chunks_of(image_bytes)), sha256=digest)
            assert again.id == image.id
            assert [i.id for i in driver.find_images(name=spec.name)] == [image.id]
        finally:
            driver.delete_image(image.id)

    def test_a_file_shorter_than_asked_raises_checksum_mismatch_and_leaves_nothing(
        self, driver, spec, image_bytes, image_file
    ) -> None:
        path, _ = image_file
        whole = os.path.getsize(path)
        digest = hashlib.sha256(image_bytes).hexdigest()
        with pytest.raises(ChecksumMismatch):
            driver.upload_image_file(spec, path, offset=whole - 100, size=len(image_bytes), sha256=digest)
        assert driver.find_images(name=spec.name) == []


class ErrorConformance(_ConformanceBase):
    """Every error a driver raises on purpose is a DriverError."""

    def test_sdk_error_classes_all_derive_from_driver_error(self) -> None:
        for name in driver_errors.__all__:
            assert issubclass(getattr(driver_errors, name), DriverError), name
        assert driver_errors.VimUnavailable.retryable is True
        assert driver_errors.ImageNotFound.retryable is False

    def test_errors_raised_are_driver_errors(self, driver, spec, image_bytes, unknown_image_id) -> None:
        raised: list[BaseException] = []
        for call in (
            lambda: driver.get_image(unknown_image_id),
            lambda: driver.upload_image(spec, GeneratorStream(chunks_of(image_bytes)), sha256="0" * 64),
        ):
            with pytest.raises(DriverError) as info:
                call()
            raised.append(info.value)
        assert isinstance(raised[0], ImageNotFound)
        assert isinstance(raised[1], ChecksumMismatch)

    def test_import_image_imports_when_declared_and_is_unsupported_otherwise(
        self, driver, spec, import_url, image_bytes
    ) -> None:
        if IMPORT_URL not in driver.capabilities:
            with pytest.raises(Unsupported):
                driver.import_image(spec, import_url)
            return
        image = driver.import_image(spec, import_url)
        try:
            assert image.name == spec.name and image.status == "active"
            assert image.sha256 in (None, hashlib.sha256(image_bytes).hexdigest())
            assert driver.get_image(image.id).id == image.id
        finally:
            driver.delete_image(image.id)

    def test_create_flavor_is_idempotent_when_declared_and_unsupported_otherwise(self, driver) -> None:
        name = f"nfvo-conformance-{uuid.uuid4().hex[:8]}"
        if CREATE_FLAVOR not in driver.capabilities:
            with pytest.raises(Unsupported):
                driver.create_flavor(name, vcpus=1, ram=512, disk=1)
            return
        flavor = driver.create_flavor(name, vcpus=2, ram=1024, disk=5)
        assert (flavor.name, flavor.vcpus, flavor.ram, flavor.disk) == (name, 2, 1024, 5)
        assert driver.create_flavor(name, vcpus=2, ram=1024, disk=5) == flavor
        assert flavor in driver.list_flavors()
        with pytest.raises(DriverConflict):
            driver.create_flavor(name, vcpus=4, ram=1024, disk=5)


class DriverConformance(ConnectionConformance, ImageConformance, StreamingConformance, FileConformance,
                        ErrorConformance):
    """The whole kit.  A driver's test module does::

        class TestLocal(DriverConformance):
            @pytest.fixture
            def driver(self, tmp_path):
                d = LocalDriver(VimSpec(name="t", type="local", data_dir=str(tmp_path)))
                yield d
                d.close()
    """


__all__ = [
    "ConnectionConformance",
    "DriverConformance",
    "ErrorConformance",
    "GeneratorStream",
    "ImageConformance",
    "StreamingConformance",
    "chunks_of",
]
