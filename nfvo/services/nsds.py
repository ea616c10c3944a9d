"""Network service descriptors: create, list, show, replace, delete; VNFD references resolved per project."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nfvo.db.models import Nsd, Vnfd, new_id, nsd_vnfds
from nfvo.domain import nsd as nsd_domain
from nfvo.domain.entity_ids import with_entity_ids
from nfvo.domain.sonata.services import read_service
from nfvo.domain.sources import SourceDoc, load_json
from nfvo.errors import InUse, Issue, NsdNotFound, ValidationFailed
from nfvo.fetch import open_http, redact
from nfvo.formats.base import NsdRequest
from nfvo.services.context import Context, in_project


def create_nsd(ctx: Context, project_id: str, document: SourceDoc) -> Nsd:
    """Stores the NSD ``document.data``; inline VNFDs become VNFDs of the project.
    ValidationFailed lists every problem, at its line in ``document``."""
    with ctx.transaction() as session:
        nsd = Nsd(id=new_id(), project_id=project_id)
        _fill(session, nsd, document)
        session.add(nsd)
    return nsd


#: the largest NSD document ``download_nsd`` accepts
MAX_NSD_BYTES = 16 * 2**20


def download_nsd(ctx: Context, project_id: str, link: str) -> Nsd:
    """Creates the NSD that ``link`` serves as JSON, as ``create_nsd`` does; its problems name the
    link and the line. nfvo's link policy applies (NFVO_FETCH_ALLOW, no private addresses,
    timeouts) and the document may be at most MAX_NSD_BYTES (TooLarge)."""
    with open_http(link, dataclasses.replace(ctx.fetch_policy, max_bytes=MAX_NSD_BYTES)) as stream:
        raw = stream.read()
    name = redact(link)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(f"{name} is not UTF-8 text",
                               errors=[Issue(f"not UTF-8 (byte {exc.start})", name)]) from None
    return create_nsd(ctx, project_id, load_json(text, name))


def replace_nsd(ctx: Context, project_id: str, nsd_id: str, document: SourceDoc) -> Nsd:
    """PUT: the NSD gets the new body (same id); its references are resolved again."""
    with ctx.transaction() as session:
        nsd = in_project(session, Nsd, nsd_id, project_id, NsdNotFound, "NS descriptor")
        _fill(session, nsd, document)
    return nsd


def list_nsds(ctx: Context, project_id: str) -> list[Nsd]:
    with ctx.session() as session:
        return list(session.scalars(select(Nsd).where(Nsd.project_id == project_id).order_by(Nsd.created_at, Nsd.id)))


def get_nsd(ctx: Context, project_id: str, nsd_id: str) -> Nsd:
    with ctx.session() as session:
        return in_project(session, Nsd, nsd_id, project_id, NsdNotFound, "NS descriptor")


def delete_nsd(ctx: Context, project_id: str, nsd_id: str) -> None:
    """The VNFDs it used stay (inline ones too: they are catalogue VNFDs now)."""
    with ctx.transaction() as session:
        session.delete(in_project(session, Nsd, nsd_id, project_id, NsdNotFound, "NS descriptor"))


def refuse_if_used(session: Session, vnfd_ids: Iterable[str], what: str, *, package_id: str | None = None) -> None:
    """InUse naming every NSD that uses one of ``vnfd_ids``; call it before deleting anything. The
    NSDs of ``package_id`` (which go with that package) do not count."""
    ids = list(vnfd_ids)
    if not ids:
        return
    query = (select(Nsd.id, Nsd.name, nsd_vnfds.c.vnfd_id).join(nsd_vnfds, nsd_vnfds.c.nsd_id == Nsd.id)
             .where(nsd_vnfds.c.vnfd_id.in_(ids)).order_by(Nsd.created_at, Nsd.id))
    if package_id is not None:
        query = query.where(or_(Nsd.package_id.is_(None), Nsd.package_id != package_id))
    users = session.execute(query).all()
    if users:
        names = sorted({f"{row.name} ({row.id})" for row in users})
        raise InUse(f"{what} is used by NS descriptor{'s' if len(names) > 1 else ''} {', '.join(names)}",
                    errors=[Issue(f"VNFD {row.vnfd_id} is used by NSD {row.id} ({row.name})") for row in users])


def follow_renamed_vnfd(session: Session, vnfd: Vnfd, old_name: str) -> None:
    """After a VNFD's name, vendor or version changed: the NSDs that use it show the new ones, and
    their ``vnf_dependency`` entries that named it by ``old_name`` name it by its new name."""
    users = session.scalars(select(Nsd).join(nsd_vnfds, nsd_vnfds.c.nsd_id == Nsd.id)
                            .where(nsd_vnfds.c.vnfd_id == vnfd.id))
    for nsd in users:
        body = {**nsd.body, "vnfd": [_reference(vnfd) if entry.get("id") == vnfd.id else entry
                                     for entry in nsd.body.get("vnfd", [])]}
        if old_name != vnfd.name and isinstance(body.get("vnf_dependency"), list):
            body["vnf_dependency"] = [_renamed(dep, old_name, vnfd.name) for dep in body["vnf_dependency"]]
        nsd.body = body


def _renamed(dependency, old: str, new: str):
    if not isinstance(dependency, dict):
        return dependency
    result = dict(dependency)
    for end in ("source", "target"):
        value = result.get(end)
        if value == old:
            result[end] = new
        elif isinstance(value, dict) and value.get("name") == old:
            result[end] = {**value, "name": new}
    return result


def _reference(vnfd: Vnfd) -> dict:
    return {"id": vnfd.id, "name": vnfd.name, "vendor": vnfd.vendor, "version": vnfd.version}


def create_for_package(session: Session, project_id: str, package_id: str, requests: Iterable[NsdRequest],
                       own: dict[tuple[str, str, str], Vnfd]) -> list[Issue]:
    """Creates the NSDs a package holds (in the caller's transaction), each function resolved to
    the package's ``own`` VNFDs (by vendor, name, version) or else to one VNFD of the project.
    A request whose functions do not all resolve is not created: a warning at each function that
    does not, and the rest are created."""
    warnings = []
    for request in requests:
        rows, missing = [], []
        for vendor, name, version, at in request.functions:
            row = own.get((vendor, name, version))
            if row is None:
                found = list(session.scalars(select(Vnfd).where(
                    Vnfd.project_id == project_id, Vnfd.vendor == vendor, Vnfd.name == name,
                    Vnfd.version == version).limit(2)))
                row = found[0] if len(found) == 1 else None
                if row is None:
                    how = "several VNFDs of this project" if found else "neither in the package nor in this project"
                    missing.append(dataclasses.replace(at, severity="warning", message=(
                        f"NS descriptor {request.name!r} was not created: function {vendor}/{name}/{version} is "
                        f"{how} (create the NSD with POST /api/v1/ns-descriptors once it is one VNFD)")))
            rows.append(row)
        if missing:
            warnings += missing
            continue
        nsd = Nsd(id=new_id(), project_id=project_id, package_id=package_id, name=request.name,
                  vendor=request.vendor, version=request.version)
        nsd.body = {**request.body, "id": nsd.id, "vnfPackageId": package_id,
                    "vnfd": [_reference(r) for r in dict.fromkeys(rows)]}
        nsd.vnfds = list(dict.fromkeys(rows))
        session.add(nsd)
    return warnings


def _fill(session: Session, nsd: Nsd, document: SourceDoc) -> None:
    """Checks the NSD, resolves its references and sets ``nsd``; ValidationFailed lists every problem.
    A SONATA service descriptor (it has ``network_functions``) is read as one (:func:`_fill_sonata`)."""
    data = document.data
    if isinstance(data, dict) and "network_functions" in data:
        _fill_sonata(session, nsd, document)
        return
    draft, issues = nsd_domain.check_nsd(data)
    rows: list[Vnfd] = []
    if draft is not None:
        rows = _resolve(session, nsd.project_id, draft, issues)
    resolved = draft is not None and draft.complete and len(rows) == len(draft.entries)
    names = {row.name for row in rows} if resolved else None
    issues.extend(nsd_domain.dependency_issues(data if isinstance(data, dict) else {}, names))
    if issues:
        issues = [document.issue(i.pointer or "", i.message) for i in issues]
        count = len(issues)
        raise ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in the NS descriptor", errors=issues)
    for row in rows:
        if row.id is None:  # an inline VNFD, new
            row.id = new_id()
            row.body = {**with_entity_ids(row.body, new_id), "id": row.id, "projectId": row.project_id}
            session.add(row)
    session.flush()
    nsd.name, nsd.vendor, nsd.version = draft.name, draft.vendor, draft.version
    nsd.body = {**with_entity_ids({k: v for k, v in data.items() if k not in ("id", "vnfd")}, new_id), "id": nsd.id,
                "vnfd": [_reference(r) for r in rows]}
    nsd.vnfds = list({r.id: r for r in rows}.values())


def _resolve(session: Session, project_id: str, draft: nsd_domain.NsdDraft, issues: list[Issue]) -> list[Vnfd]:
    """The VNFD row of each entry, in order (inline ones unsaved); an issue for each that fails."""
    rows: list[Vnfd] = []
    for entry in draft.entries:
        if isinstance(entry, nsd_domain.Inline):
            body = entry.body
            rows.append(Vnfd(project_id=project_id, package_id=None, name=body["name"], vendor=body["vendor"],
                             version=str(body["version"]), body=body))
            continue
        if entry.id is not None:
            row = session.get(Vnfd, entry.id)
            if row is None or row.project_id != project_id:
                issues.append(Issue(f"no VNFD with id '{entry.id}' in this project", pointer=f"{entry.pointer}/id"))
            else:
                rows.append(row)
            continue
        found = list(session.scalars(select(Vnfd).where(
            Vnfd.project_id == project_id, Vnfd.vendor == entry.vendor, Vnfd.name == entry.name,
            Vnfd.version == entry.version).order_by(Vnfd.created_at, Vnfd.id)))
        if not found:
            issues.append(Issue(f"no VNFD '{entry.text}' (vendor/name/version) in this project",
                                pointer=f"{entry.pointer}/id"))
        elif len(found) > 1:
            issues.append(Issue(f"'{entry.text}' names {len(found)} VNFDs ({', '.join(r.id for r in found)}); "
                                "refer to one by its id", pointer=f"{entry.pointer}/id"))
        else:
            rows.append(found[0])
    return rows


def _fill_sonata(session: Session, nsd: Nsd, document: SourceDoc) -> None:
    """A SONATA / 5GTANGO service descriptor: checked as a package's would be, each of its
    ``network_functions`` resolved to one VNFD of the project by vendor, name and version."""
    service, issues = read_service(document)
    issues = [i for i in issues if not i.is_warning]
    rows = []
    for function in service.functions if service else ():
        found = list(session.scalars(select(Vnfd).where(
            Vnfd.project_id == nsd.project_id, Vnfd.vendor == function.vendor, Vnfd.name == function.name,
            Vnfd.version == function.version).order_by(Vnfd.created_at, Vnfd.id).limit(2)))
        text = "/".join(function.identity)
        if len(found) != 1:
            issues.append(document.issue(f"{function.pointer}/vnf_name", f"no VNFD '{text}' (vendor/name/version) in "
                                         "this project" if not found else f"'{text}' names several VNFDs"))
        else:
            rows.append(found[0])
    if issues or service is None:
        count = len(issues)
        raise ValidationFailed(f"{count} problem{'s' if count != 1 else ''} in the NS descriptor", errors=issues)
    nsd.name, nsd.vendor, nsd.version = service.name, service.vendor, service.version
    nsd.body = {"name": service.name, "vendor": service.vendor, "version": service.version, "id": nsd.id,
                "sonata": service.data, "vnfd": [_reference(r) for r in dict.fromkeys(rows)]}
    nsd.vnfds = list(dict.fromkeys(rows))
