"""nfvo VIM driver for a Docker Engine: images are Docker images."""

from .driver import DockerDriver, ImportFailed
from .tarball import NotAnImage

__all__ = ["DockerDriver", "ImportFailed", "NotAnImage"]
