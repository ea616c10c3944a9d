"""Day-0 files of a deployment of an onboarded package: the payload checked against the package's
contract, the bootstrap files rendered, optionally as a config drive. Nothing rendered is kept
or logged: the answer lives only in the request that asked for it."""

from __future__ import annotations

import dataclasses
import io
import tempfile
from pathlib import Path

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.nfvis.iso import write_iso
from nfvo.domain.sources import SourceDoc
from nfvo.errors import NoDay0Files, ValidationFailed
from nfvo.formats import registry
from nfvo.formats.base import Day0, PackageFormat
from nfvo.services import blobs, packages
from nfvo.services.context import Context


def render(ctx: Context, project_id: str, package_id: str, body: SourceDoc) -> Day0:
    """The day-0 files of one deployment of the package ``package_id`` of the project.

    PackageNotFound outside the project; NoDay0Files (409) when its format has no day-0 files or
    the package has none; ValidationFailed (422) with every problem of the payload ``body.data``,
    each at its JSON pointer and the line of ``body`` it names (or its nearest parent's).

    The stored package is read again (a gzip tar is decompressed up to its last member)."""
    row = packages.get_package(ctx, project_id, package_id)
    fmt = registry.get(row.format)
    if not renders_day0(fmt):
        raise NoDay0Files(f"VNF package {package_id} is a {fmt.title}, which has no day-0 files")
    with tempfile.TemporaryDirectory(prefix="day0-", dir=ctx.settings.work_dir) as work, \
            blobs.local_file(ctx, row.sha256, Path(work), f"stored-{fmt.stored_as}") as stored, \
            fmt.open(stored, limits=ArchiveLimits.from_settings(ctx.settings),
                     display_name=row.filename or fmt.stored_as, work=Path(work), strict=False) as package:
        try:
            rendered = fmt.day0(package, body.data)
        except ValidationFailed as exc:
            raise _placed_in(exc, body) from None
    if rendered is None or not rendered.files:
        raise NoDay0Files(f"VNF package {package_id} has no day-0 files")
    return rendered


def renders_day0(fmt: PackageFormat) -> bool:
    """Whether ``fmt`` implements :meth:`PackageFormat.day0` at all."""
    return type(fmt).day0 is not PackageFormat.day0


def config_drive(rendered: Day0) -> bytes:
    """The rendered files as an ISO 9660 config drive (OpenStack ``config-2``, or NoCloud ``cidata``
    when the package says so). Built in memory: day-0 files are small, and secrets in them must not
    reach a disk."""
    out = io.BytesIO()
    write_iso(rendered.files, out, nocloud=rendered.nocloud)
    return out.getvalue()


def _placed_in(exc: ValidationFailed, body: SourceDoc) -> ValidationFailed:
    """``exc`` with each payload problem (one naming no file) placed in ``body`` at its pointer's line."""
    def placed(issue):
        if issue.file:
            return issue
        line = body.line_of(issue.pointer) if issue.pointer is not None else None
        return dataclasses.replace(issue, file=body.file, line=line)

    return ValidationFailed(exc.detail, errors=[placed(issue) for issue in exc.errors])
