"""The VimDriver base class: the one interface nfvo uses to talk to a VIM."""

from __future__ import annotations

import abc
import errno
import io
import os
from typing import BinaryIO, ClassVar

from .errors import ChecksumMismatch, ImageNotFound, Unsupported
from .types import API_VERSION, Flavor, Image, ImageSpec, Network, VimSpec

#: Capability: ``upload_image`` takes a byte stream (every driver must offer it).
UPLOAD_STREAM = "upload_stream"
#: Capability: ``import_image`` makes the VIM fetch an URL itself.
IMPORT_URL = "import_url"
#: Capability: ``create_flavor`` adds VM sizes to the VIM.
CREATE_FLAVOR = "create_flavor"
#: Capability: ``upload_image_file`` copies a local file's bytes without reading them in Python.
UPLOAD_FILE = "upload_file"


class VimDriver(abc.ABC):
    """A driver for one kind of VIM, registered under a short name in ``nfvo.vim_drivers``.

    One entry-point name maps to one subclass (``local = nfvo_driver_local:LocalDriver``).
    nfvo builds an instance for each piece of work on a VIM instance (so construction must
    be cheap and do no I/O), calls its methods from one thread at a time, and calls
    :meth:`close` when done.  Every error a driver
    raises on purpose is a :class:`~nfvo_plugin_sdk.errors.DriverError`; nfvo retries a
    call only when the error's ``retryable`` flag is true.
    """

    api_version: ClassVar[int] = API_VERSION
    capabilities: ClassVar[frozenset[str]] = frozenset({UPLOAD_STREAM})
    #: With ``import_url``: the link schemes the VIM fetches itself (``{"http", "https"}``, ``{"docker"}``);
    #: nfvo streams an http(s) link through ``upload_image`` when its scheme is not listed.
    import_schemes: ClassVar[frozenset[str]] = frozenset()
    #: Disk formats the VIM accepts (lower case); ``None`` means any.
    disk_formats: ClassVar[frozenset[str] | None] = None

    def __init__(self, vim: VimSpec) -> None:
        """Keep the VIM spec; validate its fields.  Does no network I/O.

        Raises :class:`~nfvo_plugin_sdk.errors.InvalidVimSpec` for a missing or
        malformed field.  Subclasses call ``super().__init__(vim)`` first.
        """
        self.vim = vim

    # -- connection ---------------------------------------------------------------------
    @abc.abstractmethod
    def check_connection(self) -> None:
        """Prove the VIM is reachable and the credentials work.  Idempotent, read-only.

        Raises ``VimUnavailable`` (retryable) or ``VimAuthFailed``.
        """

    def close(self) -> None:
        """Release connections and other resources.  Idempotent; never raises."""

    def drop_abandoned_uploads(self, older_than: float) -> int:
        """Remove the partial uploads nfvo left on this VIM that nobody has written to for
        ``older_than`` seconds (their writer was killed); an upload in progress keeps writing,
        so it stays.  Returns how many were removed.  Idempotent.  nfvo's periodic sweep calls
        it, with ``older_than`` = NFVO_JOB_STALE_SECONDS, only on drivers that override it.

        Default: the VIM keeps no partial uploads of nfvo's; returns 0.  Raises ``VimUnavailable``.
        """
        return 0

    # -- images -------------------------------------------------------------------------
    @abc.abstractmethod
    def list_images(self) -> list[Image]:
        """Every image visible to this VIM instance.  Idempotent, read-only.

        Raises ``VimUnavailable`` or ``VimAuthFailed``.
        """

    def find_images(
        self, *, id: str | None = None, name: str | None = None, sha256: str | None = None
    ) -> list[Image]:
        """The images matching every given criterion (all images when none is given).

        Idempotent, read-only; no match is an empty list, never an error.  The default
        filters :meth:`list_images`; drivers may override it with server-side queries.
        Raises ``VimUnavailable`` or ``VimAuthFailed``.
        """
        return [
            image
            for image in self.list_images()
            if (id is None or image.id == id)
            and (name is None or image.name == name)
            and (sha256 is None or image.sha256 == sha256)
        ]

    def get_image(self, image_id: str) -> Image:
        """The image with this id.  Idempotent, read-only.

        Raises ``ImageNotFound`` when there is none, ``VimUnavailable``, ``VimAuthFailed``.
        """
        found = self.find_images(id=image_id)
        if not found:
            raise ImageNotFound(image_id=image_id)
        return found[0]

    @abc.abstractmethod
    def upload_image(
        self, spec: ImageSpec, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None
    ) -> Image:
        """Create an image from ``stream`` and return it once the VIM holds the bytes.

        Reads ``stream`` in bounded chunks until EOF - never all at once, never seeks -
        so memory stays flat whatever the image size.  ``size`` and ``sha256`` are what
        the caller expects; when ``sha256`` is given and differs from what the VIM
        stored, raises ``ChecksumMismatch`` and leaves no image behind.  The returned
        image's ``sha256`` is that of the bytes read (the driver sees them all), so that
        nfvo can verify the upload and later find identical content.

        Idempotent: when an image with the same name and the same content already
        exists, that image is returned and no second copy is made.  Images with the same
        name and different content may coexist (the VIM decides; nfvo reports the
        ambiguity).  Raises ``ChecksumMismatch``, ``Unsupported`` (disk format refused),
        ``DriverConflict``, ``VimUnavailable``, ``VimAuthFailed``.
        """

    def upload_image_file(self, spec: ImageSpec, path: str, *, offset: int = 0, size: int, sha256: str) -> Image:
        """Create an image from the ``size`` bytes at ``offset`` of the local file ``path``, whose
        sha256 nfvo computed from that very file (``sha256``); same rules as :meth:`upload_image`.

        nfvo calls it for an image that lies unchanged in a file on this host (a member of an
        uncompressed package in the content store).  A driver with the ``upload_file``
        capability may copy the bytes without reading them (in the kernel, or as a reflink) and
        take ``sha256`` as their digest; it checks that it copied ``size`` bytes.  The default
        streams exactly those bytes to :meth:`upload_image` with ``size`` and ``sha256`` expected.
        Raises what :meth:`upload_image` raises, and ``ChecksumMismatch`` when the file holds
        fewer than ``offset + size`` bytes.
        """
        with open(path, "rb") as raw:
            held = os.fstat(raw.fileno()).st_size
            if held < offset + size:
                raise ChecksumMismatch(f"expected {size} bytes at offset {offset} of {path}, it holds {held} bytes")
            raw.seek(offset)
            with io.BufferedReader(_Window(raw, size)) as stream:
                return self.upload_image(spec, stream, size=size, sha256=sha256)

    def import_image(self, spec: ImageSpec, url: str, *, sha256: str | None = None) -> Image:
        """Make the VIM fetch ``url`` itself (capability ``import_url``).

        Same idempotency and checksum rules as :meth:`upload_image`.  The default raises
        ``Unsupported``; drivers offering it override it and add ``import_url`` to
        ``capabilities``.
        """
        raise Unsupported(f"{type(self).__name__} cannot import images from an URL")

    @abc.abstractmethod
    def delete_image(self, image_id: str) -> None:
        """Delete the image.  Idempotent: an absent image is not an error.

        Raises ``DriverConflict`` (image in use), ``VimUnavailable``, ``VimAuthFailed``.
        """

    # -- other resources ----------------------------------------------------------------
    def list_flavors(self) -> list[Flavor]:
        """The VM sizes the VIM offers (default: none).  Idempotent, read-only.

        Raises ``VimUnavailable`` or ``VimAuthFailed``.
        """
        return []

    def create_flavor(self, name: str, *, vcpus: int, ram: int, disk: int) -> Flavor:
        """Adds a VM size (``ram`` in MB, ``disk`` in GB); drivers declaring ``create_flavor`` override it.

        Idempotent: a flavour of that name with the same sizes is returned as it is; one
        with other sizes raises ``DriverConflict``.  Default: raises ``Unsupported``.
        """
        raise Unsupported(f"{type(self).__name__} cannot create flavours")

    def list_networks(self) -> list[Network]:
        """The networks the VIM offers (default: none).  Idempotent, read-only.

        Raises ``VimUnavailable`` or ``VimAuthFailed``.
        """
        return []


class _Window(io.RawIOBase):
    """At most ``size`` bytes from the current position of ``raw``."""

    def __init__(self, raw: BinaryIO, size: int):
        self._raw, self._left = raw, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)[: max(0, min(len(buffer), self._left))]
        got = self._raw.readinto(view) if len(view) else 0
        self._left -= got
        return got


def copy_range(source: int, target: int, offset: int, size: int) -> int:
    """Copies ``size`` bytes at ``offset`` of the file descriptor ``source`` to the current position
    of ``target`` in the kernel (``copy_file_range``: a reflink where the filesystem offers one,
    else a copy within the page cache), falling back to ``sendfile`` where the kernel refuses it
    (across filesystems on older kernels, some network filesystems).  Returns the count copied:
    less than ``size`` only when ``source`` ends first.  OSError from either file propagates."""
    done = 0
    while done < size:
        try:
            got = os.copy_file_range(source, target, min(size - done, _MAX_COPY), offset + done)
        except OSError as exc:
            if done or exc.errno not in _NO_KERNEL_COPY:
                raise
            return _sendfile(source, target, offset, size)
        if got == 0:
            break
        done += got
    return done


#: copy_file_range's answers that mean "not between these files": sendfile is tried instead
_NO_KERNEL_COPY = {errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM}
_MAX_COPY = 1 << 30


def _sendfile(source: int, target: int, offset: int, size: int) -> int:
    done = 0
    while done < size:
        got = os.sendfile(target, source, offset + done, min(size - done, _MAX_COPY))
        if got == 0:
            break
        done += got
    return done
