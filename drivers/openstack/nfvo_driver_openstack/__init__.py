"""nfvo VIM driver for OpenStack: Keystone v3 auth, images on Glance v2."""

from .driver import OpenStackDriver
from .errors import ImageImportFailed, ImageImportTimedOut, ImageNotActive, VimTlsFailed

__all__ = ["ImageImportFailed", "ImageImportTimedOut", "ImageNotActive", "OpenStackDriver", "VimTlsFailed"]
