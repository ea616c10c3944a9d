"""Day-0 files of an onboarded package for one deployment: rendered by the package's format,
answered as JSON or as a config drive (ISO 9660). Nothing of the payload or the answer is kept
or logged (it may hold passwords)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from nfvo.db.models import VnfPackage
from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.nfvis.iso import write_iso
from nfvo.errors import NoDay0, PackageNotFound
from nfvo.formats import registry
from nfvo.formats.base import Day0
from nfvo.services.context import Context, in_project


def render(ctx: Context, project_id: str, package_id: str, payload: Any) -> Day0:
    """The day-0 files of package ``package_id`` for ``payload``. PackageNotFound outside the
    project; NoDay0 when its format has no day-0 files; ValidationFailed listing every problem
    of the payload."""
    with ctx.session() as session:
        row = in_project(session, VnfPackage, package_id, project_id, PackageNotFound, "VNF package")
        filename, fmt_name = row.filename, (row.meta or {}).get("format", "openbaton")
    fmt = registry.get(fmt_name)
    path = ctx.settings.packages_dir / package_id / fmt.stored_as
    with tempfile.TemporaryDirectory(prefix="nfvo-day0-", dir=ctx.settings.work_dir) as work:
        with fmt.open(path, limits=ArchiveLimits.from_settings(ctx.settings), display_name=filename or fmt.stored_as,
                      work=Path(work), strict=False) as package:
            rendered = fmt.day0(package, payload)
    if rendered is None:
        raise NoDay0(f"VNF package {package_id} is a {fmt.title}, which has no day-0 files")
    return rendered


def write_drive(rendered: Day0, out: BinaryIO) -> None:
    """``rendered`` as a config drive: OpenStack config-drive (``config-2``) or NoCloud (``cidata``)."""
    write_iso(rendered.files, out, nocloud=rendered.nocloud)
