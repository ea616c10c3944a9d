"""The contract between nfvo and its VIM driver plugins."""

from .driver import CREATE_FLAVOR, IMPORT_URL, UPLOAD_FILE, UPLOAD_STREAM, VimDriver, copy_range
from .errors import (
    ChecksumMismatch,
    DriverConflict,
    DriverError,
    ImageNotFound,
    InvalidVimSpec,
    Unsupported,
    VimAuthFailed,
    VimUnavailable,
)
from .types import API_VERSION, Flavor, Image, ImageSpec, Network, VimSpec

#: The entry-point group drivers register in: ``<type name> = <module>:<VimDriver subclass>``.
ENTRY_POINT_GROUP = "nfvo.vim_drivers"

__all__ = [
    "API_VERSION",
    "ENTRY_POINT_GROUP",
    "CREATE_FLAVOR",
    "IMPORT_URL",
    "UPLOAD_FILE",
    "UPLOAD_STREAM",
    "ChecksumMismatch",
    "DriverConflict",
    "DriverError",
    "Flavor",
    "Image",
    "ImageNotFound",
    "ImageSpec",
    "InvalidVimSpec",
    "Network",
    "Unsupported",
    "VimAuthFailed",
    "VimDriver",
    "VimSpec",
    "VimUnavailable",
    "copy_range",
]
