"""Finding package formats: only through the entry-point group ``nfvo.package_formats`` (the
built-in formats are registered there too), loaded once per process.

A format that cannot be loaded (its import fails, it is not a PackageFormat, it was built for
another API version, or its ``name`` differs from its entry point's) is listed as broken with
the reason, and never used; every other format works on.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from nfvo.errors import Issue, UnsafeArchive
from nfvo.formats.base import API_VERSION, PackageFormat

GROUP = "nfvo.package_formats"


@dataclass(frozen=True)
class Installed:
    """One registered format: its entry point, and either the format or why it is broken."""

    name: str
    target: str
    format: PackageFormat | None
    error: str | None = None


@functools.cache
def installed() -> tuple[Installed, ...]:
    """Every registered format, working ones in detection order (``priority``, then name),
    then the broken ones."""
    found = [_load(ep) for ep in entry_points(group=GROUP)]
    working = sorted((f for f in found if f.format), key=lambda f: (f.format.priority, f.name))
    return (*working, *sorted((f for f in found if not f.format), key=lambda f: f.name))


def _load(ep) -> Installed:
    try:
        cls = ep.load()
    except Exception as exc:  # a plugin's import can fail in any way
        return Installed(ep.name, ep.value, None, f"cannot be imported: {exc!r}")
    if not (isinstance(cls, type) and issubclass(cls, PackageFormat)):
        return Installed(ep.name, ep.value, None, "is not a nfvo.formats.PackageFormat subclass")
    if getattr(cls, "api_version", None) != API_VERSION:
        return Installed(ep.name, ep.value, None, f"speaks format API {getattr(cls, 'api_version', None)}, "
                                                  f"this nfvo speaks {API_VERSION}")
    if getattr(cls, "name", None) != ep.name:
        return Installed(ep.name, ep.value, None, f"is named {getattr(cls, 'name', None)!r}, not {ep.name!r}")
    try:
        return Installed(ep.name, ep.value, cls())
    except Exception as exc:
        return Installed(ep.name, ep.value, None, f"cannot be created: {exc!r}")


def formats() -> list[PackageFormat]:
    """The working formats, in detection order."""
    return [f.format for f in installed() if f.format]


def get(name: str) -> PackageFormat:
    """The working format registered as ``name``; KeyError when there is none."""
    for found in installed():
        if found.name == name and found.format:
            return found.format
    raise KeyError(name)


def detect(path: Path, display_name: str | None = None) -> PackageFormat:
    """The format of the package file at ``path``: the first, in detection order, that recognises
    it. UnsafeArchive when none does."""
    for candidate in formats():
        if candidate.recognises(path):
            return candidate
    name = display_name or path.name
    known = ", ".join(f.title for f in formats()) or "none is installed"
    raise UnsafeArchive(f"{name} is a package of no known format ({known})",
                        errors=[Issue("not a package of any installed format", file=name)])


def detect_directory(path: Path) -> PackageFormat:
    """The format whose unpacked layout the directory ``path`` has (see ``recognises_directory``).
    UnsafeArchive when none has it."""
    for candidate in formats():
        if candidate.recognises_directory(path):
            return candidate
    raise UnsafeArchive(f"{path.name} is laid out as no known package format",
                        errors=[Issue("not an unpacked package of any installed format", file=path.name)])
