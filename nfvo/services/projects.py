"""Projects: list, show, create, rename, delete when empty; which caller may do which.

A caller sees a project when it has a role in it; a system administrator (``is_admin``)
sees every project. A project the caller does not see answers as missing
(ProjectNotFound), never as forbidden, so that other projects stay invisible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nfvo.db.models import EtsiPackage, Job, Nsd, Project, Role, VimInstance, Vnfd, VnfPackage
from nfvo.domain.sources import SourceDoc
from nfvo.errors import DefaultProject, DuplicateProject, Forbidden, InUse, Issue, ProjectNotFound, ValidationFailed
from nfvo.services.auth import Principal, visible_projects
from nfvo.services.bootstrap import DEFAULT_PROJECT
from nfvo.services.context import Context

#: the project "name" Open Baton roles use for "every project"; no project may take it
ALL_PROJECTS = "*"
#: at most this many items of a project are listed in an ``in-use`` refusal
MAX_LISTED = 50
#: the shape of the ids nfvo gives; a name of that shape would be hidden by lookups by id
ID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def lookup(session: Session, ref: str) -> Project | None:
    """The project whose id, or else name, is ``ref``; None when there is none."""
    return session.get(Project, ref) or session.scalar(select(Project).where(Project.name == ref))


def role_in(session: Session, principal: Principal, project_id: str) -> str | None:
    """The caller's role in the project (GUEST, USER or ADMIN); ADMIN for a system administrator."""
    if principal.is_admin:
        return "ADMIN"
    return session.scalar(select(Role.role).where(Role.user_id == principal.user_id, Role.project_id == project_id))


def find(session: Session, principal: Principal, ref: str) -> Project:
    """The project ``ref`` (id or name) when the caller sees it; ProjectNotFound otherwise."""
    project = lookup(session, ref)
    if project is None or role_in(session, principal, project.id) is None:
        raise ProjectNotFound(f"No project {ref!r}")
    return project


def list_projects(ctx: Context, principal: Principal) -> list[Project]:
    """The projects the caller sees, by name."""
    with ctx.session() as session:
        return visible_projects(session, principal)


def get_project(ctx: Context, principal: Principal, ref: str) -> Project:
    with ctx.session() as session:
        return find(session, principal, ref)


@dataclass(frozen=True)
class _Fields:
    name: str | None
    description: str | None


def _fields(document: SourceDoc, *, creating: bool) -> _Fields:
    """``name`` and ``description`` of a project body (Open Baton's project JSON; ``id`` and
    unknown keys are ignored). ValidationFailed lists every problem at once."""
    data = document.data
    if not isinstance(data, dict):
        raise ValidationFailed("The request body is not valid",
                               errors=[document.issue("", "must be a JSON object (a project)")])
    issues: list[Issue] = []
    name = data.get("name")
    if name is None:
        if creating:
            issues.append(document.issue("/name", "a project needs a name"))
    elif not isinstance(name, str):
        issues.append(document.issue("/name", "must be a string"))
        name = None
    elif not name.strip() or name != name.strip():
        issues.append(document.issue("/name", "must not be empty nor start or end with white space"))
    elif len(name) > 255:
        issues.append(document.issue("/name", "may be at most 255 characters long"))
    elif name == ALL_PROJECTS:
        issues.append(document.issue("/name", "'*' means every project in roles; choose another name"))
    elif ID_SHAPE.match(name):
        issues.append(document.issue("/name", "must not look like an id (a UUID)"))
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        issues.append(document.issue("/description", "must be a string"))
    if issues:
        raise ValidationFailed(f"{len(issues)} problem(s) in the project", errors=issues)
    return _Fields(name, description)


def create_project(ctx: Context, principal: Principal, document: SourceDoc) -> Project:
    """A new project (system administrators only: Forbidden for anyone else); DuplicateProject
    when the name is taken. Its creator gets no role in it: a system administrator works in
    every project anyway; give others roles with the users API."""
    if not principal.is_admin:
        raise Forbidden("Only a system administrator may create projects")
    fields = _fields(document, creating=True)
    try:
        with ctx.transaction() as session:
            _check_name_free(session, fields.name)
            project = Project(name=fields.name, description=fields.description or "")
            session.add(project)
    except IntegrityError:  # created by a concurrent call since the check
        raise DuplicateProject(f"A project named {fields.name!r} already exists") from None
    return project


def update_project(ctx: Context, principal: Principal, ref: str, document: SourceDoc) -> Project:
    """Renames the project and/or sets its description (fields absent from the body stay).
    A system administrator or an ADMIN of the project may; ProjectNotFound when the caller
    does not see it, Forbidden for its GUESTs and USERs, DefaultProject for renaming
    ``default``, DuplicateProject for a name that is taken."""
    fields = _fields(document, creating=False)
    try:
        with ctx.transaction() as session:
            project = find(session, principal, ref)
            if role_in(session, principal, project.id) != "ADMIN":
                raise Forbidden(f"Only an ADMIN of project {project.name!r} or a system administrator may change it")
            if fields.name is not None and fields.name != project.name:
                if project.name == DEFAULT_PROJECT:
                    raise DefaultProject(f"The project {DEFAULT_PROJECT!r} keeps its name (nfvo looks it up by name)")
                _check_name_free(session, fields.name)
                project.name = fields.name
            if fields.description is not None:
                project.description = fields.description
    except IntegrityError:
        raise DuplicateProject(f"A project named {fields.name!r} already exists") from None
    return project


def _check_name_free(session: Session, name: str) -> None:
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise DuplicateProject(f"A project named {name!r} already exists")


def delete_project(ctx: Context, principal: Principal, ref: str) -> None:
    """Deletes an empty project and every role in it (system administrators only).

    ProjectNotFound when the caller does not see it, Forbidden for anyone but a system
    administrator, DefaultProject for ``default``, InUse while it holds VNF packages, VNF
    descriptors, NS descriptors, VIM instances or running onboarding jobs (``detail`` counts
    them, ``errors`` names them); nothing is deleted then.
    """
    with ctx.transaction() as session:
        project = find(session, principal, ref)
        if not principal.is_admin:
            raise Forbidden("Only a system administrator may delete projects")
        if project.name == DEFAULT_PROJECT:
            raise DefaultProject(f"The project {DEFAULT_PROJECT!r} cannot be deleted")
        inside = _contents(session, project.id)
        if inside:
            summary = ", ".join(f"{len(items)} {kind}{'s' if len(items) != 1 else ''}" for kind, items in inside)
            issues = [Issue(f"{kind} {item}") for kind, items in inside for item in items][:MAX_LISTED]
            raise InUse(f"Project {project.name!r} still holds {summary}; delete them first", errors=issues)
        session.execute(Role.__table__.delete().where(Role.project_id == project.id))
        session.execute(Job.__table__.delete().where(Job.project_id == project.id))
        session.execute(EtsiPackage.__table__.delete().where(EtsiPackage.project_id == project.id))
        session.delete(project)


def _contents(session: Session, project_id: str) -> list[tuple[str, list[str]]]:
    """What keeps a project from being deleted: (kind, ["<id> (<name>)", ...]) per kind present."""
    def named(model, *where) -> list[str]:
        rows = session.execute(select(model.id, model.name).where(model.project_id == project_id, *where)
                               .order_by(model.name, model.id).limit(MAX_LISTED))
        return [f"{row.id} ({row.name})" for row in rows]

    found = [
        ("VNF package", named(VnfPackage)),
        ("VNF descriptor", named(Vnfd)),
        ("NS descriptor", named(Nsd)),
        ("VIM instance", named(VimInstance)),
        # a SOL005 package not onboarded yet has no vnf_packages row
        ("VNF package being created", [
            row for (row,) in session.execute(
                select(EtsiPackage.id).where(EtsiPackage.project_id == project_id,
                                             EtsiPackage.id.not_in(select(VnfPackage.id))).limit(MAX_LISTED))
        ]),
        ("running onboarding job", [
            row for (row,) in session.execute(
                select(Job.id).where(Job.project_id == project_id, Job.state.in_(("queued", "running")))
                .limit(MAX_LISTED))
        ]),
    ]
    return [(kind, items) for kind, items in found if items]


def project_names(session: Session, ids) -> dict[str, str]:
    """id -> name of the projects ``ids``."""
    ids = set(ids)
    if not ids:
        return {}
    return {pid: name for pid, name in session.execute(select(Project.id, Project.name).where(Project.id.in_(ids)))}
