"""nfvo VIM driver for a local filesystem image store."""

from .driver import LocalDriver

__all__ = ["LocalDriver"]
