"""Errors a VIM driver raises; nfvo retries only those whose ``retryable`` is true."""

from __future__ import annotations


class DriverError(Exception):
    """Base of every error a driver raises on purpose.

    ``retryable`` tells the service whether trying the same call again later may
    succeed: nfvo retries (with backoff) only retryable errors and reports every other
    one to the user at once.  Drivers translate their backend's exceptions into these
    classes; anything else escaping a driver is treated as a driver bug.
    """

    retryable: bool = False


class VimUnavailable(DriverError):
    """The VIM cannot be reached right now (network, timeout, 5xx, store not writable)."""

    retryable = True


class VimAuthFailed(DriverError):
    """The VIM refused the credentials of the :class:`~nfvo_plugin_sdk.types.VimSpec`."""


class ImageNotFound(DriverError):
    """No image with this id on the VIM."""

    def __init__(self, message: str = "", *, image_id: str | None = None) -> None:
        self.image_id = image_id
        super().__init__(message or f"image {image_id!r} not found")


class DriverConflict(DriverError):
    """The VIM refused the change because of its current state (in use, duplicate)."""


class Unsupported(DriverError):
    """The driver or the VIM cannot do this (capability missing, disk format refused)."""


class ChecksumMismatch(DriverError):
    """The VIM stored other bytes than expected; the driver left no image behind."""

    def __init__(self, message: str = "", *, expected: str | None = None, actual: str | None = None) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(message or f"checksum mismatch: expected {expected}, got {actual}")


class InvalidVimSpec(DriverError):
    """A field of the :class:`~nfvo_plugin_sdk.types.VimSpec` is missing or malformed."""


__all__ = [
    "DriverError",
    "VimUnavailable",
    "VimAuthFailed",
    "ImageNotFound",
    "DriverConflict",
    "Unsupported",
    "ChecksumMismatch",
    "InvalidVimSpec",
]
