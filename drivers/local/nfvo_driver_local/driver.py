"""LocalDriver: a content-addressed image store in a directory, safe across processes."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from nfvo_plugin_sdk import (
    CREATE_FLAVOR,
    UPLOAD_FILE,
    UPLOAD_STREAM,
    ChecksumMismatch,
    DriverConflict,
    DriverError,
    Flavor,
    Image,
    ImageSpec,
    InvalidVimSpec,
    Network,
    VimDriver,
    VimSpec,
    VimUnavailable,
    copy_range,
)

CHUNK = 1024 * 1024
#: An upload part untouched this long (seconds) was abandoned by a killed writer.
ABANDONED_AFTER = 3600
SCHEME = "local://"
STORE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
IMAGE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEFAULT_FLAVORS = (Flavor(id="m1.small", name="m1.small", vcpus=1, ram=2048, disk=20),)
DEFAULT_NETWORKS = (Network(id="local", name="local", external=False),)
_IMAGE_FIELDS = {f.name for f in dataclasses.fields(Image)}


class LocalDriver(VimDriver):
    """Images in ``<vim.data_dir>/local/<store>``, the store named by ``auth_url`` ``local://<store>``,
    or in ``<vim.data_dir>/local/@<project>/<store>`` when ``vim.extra["project"]`` names a project.

    Stores are per project: nfvo sets ``extra["project"]`` to the id of the VIM's project, so two
    projects registering ``local://default`` get two stores (``@`` cannot start a store name, so a
    project's folder never meets a store).  nfvo leaves it empty for a store a system administrator
    registered as shared, and for the project ``default`` (its stores predate the per-project
    layout); the driver used on its own (no ``project``) keeps the top-level layout.

    Layout: ``blobs/<sha256>`` holds content (shared by every record with that content),
    ``images/<id>.json`` one record per image, ``tmp/`` uploads in progress, ``.lock``
    the lock taken (``fcntl.flock``) around every metadata change.  Uploads stream into
    ``tmp/`` unlocked, then a locked step renames the file into ``blobs/`` and writes
    the record; deleting the last record of a blob removes the blob.  Flavors and
    networks come from the optional ``flavors.json``/``networks.json`` in the store
    (JSON lists of objects with the fields of ``Flavor``/``Network``); without them the
    store offers the flavor ``m1.small`` and the network ``local``.
    """

    capabilities = frozenset({UPLOAD_STREAM, UPLOAD_FILE, CREATE_FLAVOR})
    disk_formats = None

    def __init__(self, vim: VimSpec) -> None:
        """Validate ``data_dir`` and ``auth_url``; touches no file.  Raises ``InvalidVimSpec``."""
        super().__init__(vim)
        if not vim.data_dir:
            raise InvalidVimSpec("the local driver needs a data_dir")
        url = vim.auth_url or ""
        if url and not url.startswith(SCHEME):
            raise InvalidVimSpec(f"auth_url must look like local://<store>, not {url!r}")
        store = url[len(SCHEME) :] or "default"
        if not STORE_NAME.fullmatch(store):
            raise InvalidVimSpec(
                f"store name {store!r} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}"
            )
        project = str((vim.extra or {}).get("project") or "")
        if project and not STORE_NAME.fullmatch(project):
            raise InvalidVimSpec(f"project {project!r} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}}")
        self.store = store
        self.root = Path(vim.data_dir) / "local" / (f"@{project}" if project else "") / store
        self._blobs = self.root / "blobs"
        self._images = self.root / "images"
        self._tmp = self.root / "tmp"

    # -- connection ---------------------------------------------------------------------
    def check_connection(self) -> None:
        """Create the store if needed and prove it writable.  Idempotent.

        Raises ``VimUnavailable`` when the directory cannot be created or written.
        """
        self._ensure_store()
        try:
            fd, probe = tempfile.mkstemp(dir=self._tmp, prefix="probe-")
            os.close(fd)
            os.unlink(probe)
            with self._locked():
                pass
        except OSError as exc:
            raise VimUnavailable(f"local store {self.root} is not writable: {exc}") from exc

    # -- images -------------------------------------------------------------------------
    def list_images(self) -> list[Image]:
        """Every image record of the store, oldest first.  Idempotent, read-only.

        Raises ``VimUnavailable`` when the store cannot be read.
        """
        try:
            names = os.listdir(self._images)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise VimUnavailable(f"cannot read local store {self.root}: {exc}") from exc
        images = []
        for name in names:
            if name.endswith(".json") and IMAGE_ID.fullmatch(name[:-5]):
                image = self._read_record(name[:-5])
                if image is not None:  # deleted meanwhile
                    images.append(image)
        return sorted(images, key=lambda i: (i.created_at or "", i.id))

    def find_images(
        self, *, id: str | None = None, name: str | None = None, sha256: str | None = None
    ) -> list[Image]:
        """Images matching every given criterion; an id is a direct record read.

        Idempotent, read-only.  Raises ``VimUnavailable`` when the store cannot be read.
        """
        if id is None:
            return super().find_images(name=name, sha256=sha256)
        image = self._read_record(id) if IMAGE_ID.fullmatch(id) else None
        if image is None:
            return []
        if (name is not None and image.name != name) or (sha256 is not None and image.sha256 != sha256):
            return []
        return [image]

    def _drop_abandoned_parts(self) -> None:
        """Removes upload parts nobody wrote to for ABANDONED_AFTER seconds (their writer was killed);
        a live upload keeps writing, so its part stays."""
        cutoff = time.time() - ABANDONED_AFTER
        for part in self._tmp.glob("upload-*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
            except FileNotFoundError:  # finished or removed by another process meanwhile
                pass

    def drop_abandoned_uploads(self, older_than: float) -> int:
        """Removes the upload parts in ``tmp/`` nobody wrote to for ``older_than`` seconds (the
        SDK hook nfvo's sweep calls); a live upload keeps writing, so its part stays.  Idempotent;
        a store not created yet has none.  Raises ``VimUnavailable`` when ``tmp/`` cannot be read."""
        cutoff, dropped = time.time() - older_than, 0
        try:
            parts = list(self._tmp.glob("upload-*.part")) if self._tmp.is_dir() else []
        except OSError as exc:
            raise VimUnavailable(f"cannot read local store {self.root}: {exc}") from exc
        for part in parts:
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
                    dropped += 1
            except FileNotFoundError:  # finished or removed by another process meanwhile
                pass
        return dropped

    def upload_image(
        self, spec: ImageSpec, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None
    ) -> Image:
        """Stream into ``tmp/`` hashing 1 MiB chunks, then file the blob and the record.

        Idempotent: the same name and content returns the existing record.  Raises
        ``ChecksumMismatch`` (``sha256`` or ``size`` differ from what was read; nothing
        is kept), ``VimUnavailable`` (store not writable, disk full).  Errors raised by
        ``stream.read`` pass through unchanged.
        """
        with self._part() as (fd, tmp):
            digest, length = self._receive(stream, fd)
            if sha256 is not None and sha256.lower() != digest:
                raise ChecksumMismatch(expected=sha256.lower(), actual=digest)
            if size is not None and size != length:
                raise ChecksumMismatch(f"expected {size} bytes, read {length}")
            return self._file(spec, tmp, digest, length)

    def upload_image_file(self, spec: ImageSpec, path: str, *, offset: int = 0, size: int, sha256: str) -> Image:
        """Copies the bytes in the kernel (``copy_file_range``, a reflink where the filesystem
        offers one) into ``tmp/``, checks their count, and files them under ``sha256`` - nfvo's
        digest of that file, not hashed again.  Content the store holds already is not copied;
        a whole file on the store's filesystem becomes the blob as a hard link (no byte copied:
        nfvo never changes a file it hands over, it only removes it).

        Idempotent like :meth:`upload_image`.  Raises ``ChecksumMismatch`` when ``path`` holds
        fewer bytes than asked for, ``VimUnavailable`` when the store cannot be written; an
        OSError opening ``path`` passes through.
        """
        digest = sha256.lower()
        self._ensure_store()
        image = self._file(spec, None, digest, size)
        if image is None and offset == 0 and os.path.getsize(path) == size:
            _fsync(path)  # its bytes are durable before a record points at them
            image = self._file(spec, None, digest, size, link_from=path)
        if image is not None:
            return image
        with open(path, "rb") as source, self._part() as (fd, tmp):
            try:
                copied = copy_range(source.fileno(), fd, offset, size)
                os.fsync(fd)
            except OSError as exc:
                raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc
            if copied != size:
                raise ChecksumMismatch(f"expected {size} bytes at offset {offset} of {path}, found {copied}")
            return self._file(spec, tmp, digest, size)

    @contextlib.contextmanager
    def _part(self) -> Iterator[tuple[int, str]]:
        """A new upload part in ``tmp/`` (descriptor and path), removed afterwards unless filed."""
        self._ensure_store()
        self._drop_abandoned_parts()
        try:
            fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="upload-", suffix=".part")
        except OSError as exc:
            raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc
        try:
            yield fd, tmp
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _file(self, spec: ImageSpec, tmp: str | None, digest: str, length: int, *,
              link_from: str | None = None) -> Image | None:
        """Under the lock: the record of this name and content if there is one, else the part
        ``tmp`` (or a hard link to the file ``link_from``) becomes the blob, unless the store has
        that content, and a new record points at it. Without a part and without the blob (or
        when the file cannot be linked: another filesystem), returns None and changes nothing."""
        try:
            with self._locked():
                for image in self.list_images():
                    if image.name == spec.name and image.sha256 == digest:
                        return image
                blob, new_blob = self._blobs / digest, False
                if not blob.exists():
                    if link_from is not None:
                        try:
                            os.link(link_from, blob)
                        except OSError as exc:
                            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
                                raise
                            return None
                    elif tmp is None:
                        return None
                    else:
                        os.replace(tmp, blob)
                    _fsync(self._blobs)
                    new_blob = True
                image = Image(
                    id=str(uuid.uuid4()),
                    name=spec.name,
                    disk_format=spec.disk_format,
                    container_format=spec.container_format,
                    size=length,
                    sha256=digest,
                    min_cpu=spec.min_cpu,
                    min_disk=spec.min_disk,
                    min_ram=spec.min_ram,
                    is_public=spec.is_public,
                    status="active",
                    created_at=datetime.now(UTC).isoformat(),
                )
                try:
                    self._write_record(image)
                except BaseException:
                    if new_blob:  # no record will ever point at it
                        os.unlink(blob)
                    raise
                return image
        except OSError as exc:
            raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc

    def delete_image(self, image_id: str) -> None:
        """Remove the record, and the blob when no other record uses it.

        Idempotent: an unknown id is not an error.  Raises ``VimUnavailable`` when the
        store cannot be written.
        """
        if not IMAGE_ID.fullmatch(image_id) or not self._images.is_dir():
            return
        try:
            with self._locked():
                image = self._read_record(image_id)
                if image is None:
                    return
                os.unlink(self._images / f"{image_id}.json")
                if image.sha256 and not any(i.sha256 == image.sha256 for i in self.list_images()):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self._blobs / image.sha256)
        except OSError as exc:
            raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc

    def blob_path(self, image: Image) -> Path:
        """Where the content of ``image`` lives (for tests and local consumers)."""
        return self._blobs / str(image.sha256)

    # -- other resources ----------------------------------------------------------------
    def list_flavors(self) -> list[Flavor]:
        """``flavors.json`` of the store, else ``m1.small``.  Idempotent, read-only.

        Raises ``DriverError`` when the file is malformed.
        """
        return self._fixed_list("flavors.json", Flavor, DEFAULT_FLAVORS)

    def create_flavor(self, name: str, *, vcpus: int, ram: int, disk: int) -> Flavor:
        """Adds the flavour to the store's ``flavors.json`` (created from the defaults when absent).

        Idempotent for the same sizes; ``DriverConflict`` for a name taken with other sizes.
        """
        self._ensure_store()
        wanted = Flavor(id=name, name=name, vcpus=vcpus, ram=ram, disk=disk)
        with self._locked():
            flavors = self.list_flavors()
            existing = next((f for f in flavors if f.name == name), None)
            if existing is not None:
                if (existing.vcpus, existing.ram, existing.disk) != (vcpus, ram, disk):
                    raise DriverConflict(f"flavour {name!r} exists with other sizes")
                return existing
            self._write_json(self.root / "flavors.json", [dataclasses.asdict(f) for f in [*flavors, wanted]])
        return wanted

    def list_networks(self) -> list[Network]:
        """``networks.json`` of the store, else ``local``.  Idempotent, read-only.

        Raises ``DriverError`` when the file is malformed.
        """
        return self._fixed_list("networks.json", Network, DEFAULT_NETWORKS)

    # -- internals ----------------------------------------------------------------------
    def _ensure_store(self) -> None:
        try:
            for directory in (self._blobs, self._images, self._tmp):
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VimUnavailable(f"cannot create local store {self.root}: {exc}") from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _receive(self, stream: BinaryIO, fd: int) -> tuple[str, int]:
        # Only the writes are wrapped: an OSError from the caller's stream is theirs.
        hasher, length = hashlib.sha256(), 0
        with os.fdopen(fd, "wb", closefd=False) as out:
            while True:
                chunk = stream.read(CHUNK)
                if chunk is None:
                    raise DriverError("the image stream is non-blocking and had no data")
                if not chunk:
                    break
                hasher.update(chunk)
                length += len(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise VimUnavailable(f"cannot write to local store {self.root}: {exc}") from exc
        return hasher.hexdigest(), length

    def _read_record(self, image_id: str) -> Image | None:
        record = self._load_json(self._images / f"{image_id}.json")
        if record is None:
            return None
        try:
            return Image(**{k: v for k, v in record.items() if k in _IMAGE_FIELDS})
        except TypeError as exc:
            raise DriverError(f"corrupt image record for {image_id}: {exc}") from exc

    def _load_json(self, path: Path) -> Any:
        """The JSON in ``path``, or None when it does not exist; store errors as SDK errors."""
        try:
            with open(path, "rb") as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VimUnavailable(f"cannot read {path}: {exc}") from exc
        except ValueError as exc:
            raise DriverError(f"malformed {path}: {exc}") from exc

    def _write_record(self, image: Image) -> None:
        self._write_json(self._images / f"{image.id}.json", image.to_dict())

    def _write_json(self, path: Path, value: Any) -> None:
        """Writes ``value`` to ``path`` atomically and durably (temp file, fsync, rename)."""
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix="record-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(value, out, indent=2, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
            _fsync(path.parent)
        except OSError as exc:
            raise VimUnavailable(f"cannot write {path}: {exc}") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)

    def _fixed_list(self, filename: str, kind: type, default: tuple) -> list[Any]:
        path = self.root / filename
        entries = self._load_json(path)
        if entries is None:
            return list(default)
        try:
            return [kind(**{"id": e["name"], **e}) for e in entries]
        except (TypeError, KeyError) as exc:
            raise DriverError(f"malformed {path}: {exc}") from exc


def _fsync(path: str | Path) -> None:
    """Makes a file's bytes, or the renames and links into a directory, survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
