"""Offline package validation for ``nfvo package validate``: detect the format, read it, summarise it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from nfvo.domain.archive import ArchiveLimits
from nfvo.errors import Issue
from nfvo.formats import registry
from nfvo.formats.base import PackageFormat


@dataclass(frozen=True)
class Validated:
    """What validating a package found: a summary of what was read and checked, and its warnings."""

    summary: list[str]
    warnings: tuple[Issue, ...]


def packed(path: Path, work: Path) -> tuple[PackageFormat, Path]:
    """The format of the package at ``path`` and its package file: ``path`` itself, or for a
    directory the package its format builds from it into ``work``."""
    path = Path(path)
    if path.is_dir():
        fmt = registry.detect_directory(path)
        return fmt, fmt.build(path, work / f"{path.name}{Path(fmt.stored_as).suffix}")
    return registry.detect(path), path


def validate_path(path: Path, limits: ArchiveLimits = ArchiveLimits(), *, strict: bool = False) -> Validated:
    """Validate the package at ``path`` (file or directory, any installed format); needs no service.

    ``limits`` bound the archive: members, total size and each kind of member, as the service's
    NFVO_MAX_* settings do (a member over its limit is UnsafeArchive).

    Raises the NfvoError of the format's reader (ValidationFailed, UnsafeArchive) listing
    every finding when one is an error (or, under ``strict``, when there is any).
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nfvo-validate-") as tmp:
        work = Path(tmp)
        fmt, file = packed(path, work)
        (work / "format").mkdir()
        with fmt.open(file, limits=limits, display_name=path.name, work=work / "format", strict=strict) as package:
            return Validated(fmt.summary(package), package.warnings)


__all__ = ["Validated", "packed", "validate_path"]
