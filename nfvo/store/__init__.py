"""Content stores: where nfvo keeps blobs, found by URL scheme in the entry-point group
``nfvo.content_stores`` (the built-in ``file`` and ``s3`` are registered there too).

``open_store(url, options)`` makes the store for a URL.  A backend that cannot be loaded (its
import fails, it is not a ContentStore, it speaks another store API, its ``name`` differs
from its entry point's) is listed by :func:`installed` with the reason and never used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from urllib.parse import urlsplit

from nfvo.store.base import API_VERSION, CHUNK, Blob, BlobWriter, ContentStore, StoreOptions, check_digest

GROUP = "nfvo.content_stores"

__all__ = ["API_VERSION", "CHUNK", "GROUP", "Blob", "BlobWriter", "ContentStore", "Installed", "StoreOptions",
           "check_digest", "installed", "open_store"]


@dataclass(frozen=True)
class Installed:
    """One registered backend: its scheme, entry point, and either its class or why it is broken."""

    scheme: str
    target: str
    backend: type[ContentStore] | None
    error: str | None = None


@functools.cache
def installed() -> tuple[Installed, ...]:
    """Every registered backend, by scheme."""
    return tuple(sorted((_load(ep) for ep in entry_points(group=GROUP)), key=lambda b: b.scheme))


def _load(ep) -> Installed:
    try:
        cls = ep.load()
    except Exception as exc:  # a plugin's import can fail in any way
        return Installed(ep.name, ep.value, None, f"cannot be imported: {exc!r}")
    if not (isinstance(cls, type) and issubclass(cls, ContentStore)):
        return Installed(ep.name, ep.value, None, "is not a nfvo.store.ContentStore subclass")
    if getattr(cls, "api_version", None) != API_VERSION:
        return Installed(ep.name, ep.value, None, f"speaks store API {getattr(cls, 'api_version', None)}, "
                                                  f"this nfvo speaks {API_VERSION}")
    if getattr(cls, "name", None) != ep.name:
        return Installed(ep.name, ep.value, None, f"is named {getattr(cls, 'name', None)!r}, not {ep.name!r}")
    return Installed(ep.name, ep.value, cls)


def open_store(url: str, options: StoreOptions | None = None) -> ContentStore:
    """The store at ``url`` (``file:///path``, ``s3://bucket/prefix``, or a plugin's scheme).

    ValueError, with what is installed, when no working backend serves the scheme or the
    backend refuses the URL; the backend's own StoreFailed/StoreUnavailable when it cannot
    reach its storage.
    """
    scheme = urlsplit(url).scheme.lower()
    found = next((b for b in installed() if b.scheme == scheme), None)
    if found is None or found.backend is None:
        working = ", ".join(f"{b.scheme}://" for b in installed() if b.backend) or "none"
        why = f" (its backend {found.target} {found.error})" if found else ""
        what = f"no content store serves {scheme}://{why}" if scheme else f"{url!r} has no scheme"
        raise ValueError(f"{what}; the installed stores serve {working}")
    return found.backend(url, options)
