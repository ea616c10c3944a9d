"""Users and their roles in projects, in Open Baton's user JSON: create, list, show, update,
delete, and passwords.

Who sees whom: a system administrator (``is_admin``) sees every user; anyone else sees
themselves and, as ADMIN of a project, the users with a role in that project. A user the
caller does not see answers as missing (UserNotFound). The roles shown are those in the
projects the caller sees, so nothing of another project leaks; the system administrator
role (``{"role": "ADMIN", "project": "*"}``) shows to system administrators and to its
holder.

Who changes what: a system administrator everything; an ADMIN of a project the roles in
that project; every user their own email and password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from nfvo.db.models import Role, User
from nfvo.domain.sources import SourceDoc
from nfvo.errors import DuplicateUser, Forbidden, Issue, LastAdmin, UserNotFound, ValidationFailed
from nfvo.services import projects
from nfvo.services.auth import ROLES, Principal, hash_password
from nfvo.services.context import Context

ALL_PROJECTS = projects.ALL_PROJECTS
#: Open Baton's older name for the system administrator role (any ``project``, usually "*")
OB_ADMIN = "OB_ADMIN"
#: the key, in a user's role map, of the system administrator role
SYSTEM = ALL_PROJECTS
MIN_PASSWORD_LENGTH = 8
#: names that are paths under /api/v1/users
RESERVED_USERNAMES = ("current", "changepwd")
_USERNAME = re.compile(r"^[^\s/\x00-\x1f\x7f]{1,255}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]+$")


@dataclass(frozen=True)
class RoleView:
    id: str
    role: str
    project: str
    projectId: str | None  # noqa: N815 - Open Baton's JSON spelling


@dataclass(frozen=True)
class UserView:
    """A user as one caller may see it (never the password)."""

    id: str
    username: str
    email: str | None
    enabled: bool
    roles: list[RoleView]


@dataclass(frozen=True)
class _Scope:
    """The projects the caller sees and those it administers; ``None`` means every project."""

    principal: Principal
    seen: frozenset[str] | None
    administered: frozenset[str] | None

    def sees(self, project_id: str) -> bool:
        return self.seen is None or project_id in self.seen

    def administers(self, project_id: str) -> bool:
        return self.administered is None or project_id in self.administered


def _scope(session: Session, principal: Principal) -> _Scope:
    if principal.is_admin:
        return _Scope(principal, None, None)
    rows = session.execute(select(Role.project_id, Role.role).where(Role.user_id == principal.user_id)).all()
    return _Scope(principal, frozenset(p for p, _ in rows), frozenset(p for p, r in rows if r == "ADMIN"))


def _visible(scope: _Scope, user: User | None) -> bool:
    if user is None:
        return False
    if scope.seen is None or user.id == scope.principal.user_id:
        return True
    return any(scope.administers(r.project_id) for r in user.roles)


def _find(session: Session, scope: _Scope, ref: str) -> User:
    """The user whose id, or else username, is ``ref``, if the caller sees it; UserNotFound otherwise."""
    user = session.get(User, ref) or session.scalar(select(User).where(User.username == ref))
    if not _visible(scope, user):
        raise UserNotFound(f"No user {ref!r}")
    return user


def _shows_system_role(scope: _Scope, user: User) -> bool:
    return scope.seen is None or user.id == scope.principal.user_id


def _view(session: Session, scope: _Scope, user: User) -> UserView:
    shown = [r for r in user.roles if scope.sees(r.project_id)]
    names = projects.project_names(session, (r.project_id for r in shown))
    roles = [RoleView("ADMIN:*", "ADMIN", ALL_PROJECTS, None)] if user.is_admin and _shows_system_role(scope, user) else []
    roles += sorted((RoleView(f"{r.role}:{names[r.project_id]}", r.role, names[r.project_id], r.project_id)
                     for r in shown), key=lambda v: v.project)
    return UserView(user.id, user.username, user.email, user.enabled, roles)


# --- reads ------------------------------------------------------------------------------

def list_users(ctx: Context, principal: Principal) -> list[UserView]:
    """The users the caller sees, by username."""
    with ctx.session() as session:
        scope = _scope(session, principal)
        query = select(User).order_by(User.username)
        if scope.seen is not None:
            members = select(Role.user_id).where(Role.project_id.in_(scope.administered))
            query = query.where((User.id == principal.user_id) | User.id.in_(members))
        return [_view(session, scope, u) for u in session.scalars(query)]


def get_user(ctx: Context, principal: Principal, ref: str) -> UserView:
    """The user ``ref`` (id or username); UserNotFound when the caller does not see it."""
    with ctx.session() as session:
        scope = _scope(session, principal)
        return _view(session, scope, _find(session, scope, ref))


def current_user(ctx: Context, principal: Principal) -> UserView:
    return get_user(ctx, principal, principal.user_id)


# --- the user JSON ----------------------------------------------------------------------

@dataclass
class _Body:
    """A parsed user body; ``None`` marks a field the body leaves out."""

    username: str | None = None
    password: str | None = None
    email: str | None = None
    has_email: bool = False
    enabled: bool | None = None
    #: project id (or SYSTEM) -> role, for the entries the body gives
    roles: dict[str, str] | None = None


def _parse(session: Session, scope: _Scope, document: SourceDoc, *, creating: bool) -> _Body:
    """Reads Open Baton's user JSON (unknown keys, ``id`` and role ``id``s are ignored; so is
    ``password`` when updating: passwords change through changepwd). ValidationFailed lists
    every problem at once. A role may name a project by name or id, but only one the caller
    sees; ``{"role": "ADMIN", "project": "*"}`` and ``OB_ADMIN`` make a system administrator."""
    data = document.data
    if not isinstance(data, dict):
        raise ValidationFailed("The request body is not valid",
                               errors=[document.issue("", "must be a JSON object (a user)")])
    issues: list[Issue] = []
    body = _Body()

    username = data.get("username")
    if username is None:
        if creating:
            issues.append(document.issue("/username", "a user needs a username"))
    elif not isinstance(username, str) or not _USERNAME.match(username):
        issues.append(document.issue("/username", "must be 1 to 255 characters, without white space or '/'"))
    elif creating and username in RESERVED_USERNAMES:
        issues.append(document.issue("/username", f"{username!r} is reserved (a path under /api/v1/users)"))
    elif creating and projects.ID_SHAPE.match(username):
        issues.append(document.issue("/username", "must not look like an id (a UUID)"))
    else:
        body.username = username

    if creating:
        body.password = _new_password(document, data.get("password"), "/password", issues)

    if "email" in data:
        email = data["email"]
        body.has_email = True
        if email is None or email == "":
            body.email = None
        elif not isinstance(email, str) or len(email) > 255 or not _EMAIL.match(email):
            issues.append(document.issue("/email", "must be an email address (name@domain.tld) or null"))
        else:
            body.email = email

    if "enabled" in data:
        if isinstance(data["enabled"], bool):
            body.enabled = data["enabled"]
        else:
            issues.append(document.issue("/enabled", "must be true or false"))

    if "roles" in data:
        body.roles = _parse_roles(session, scope, document, data["roles"], issues)
    elif creating:
        body.roles = {}

    if issues:
        raise ValidationFailed(f"{len(issues)} problem(s) in the user", errors=issues)
    return body


def _new_password(document: SourceDoc, value, pointer: str, issues: list[Issue]) -> str | None:
    if value is None:
        issues.append(document.issue(pointer, "a password is needed"))
    elif not isinstance(value, str):
        issues.append(document.issue(pointer, "must be a string"))
    elif len(value) < MIN_PASSWORD_LENGTH:
        issues.append(document.issue(pointer, f"must be at least {MIN_PASSWORD_LENGTH} characters long"))
    else:
        return value
    return None


def _parse_roles(session: Session, scope: _Scope, document: SourceDoc, roles, issues: list[Issue]) -> dict[str, str]:
    if not isinstance(roles, list):
        issues.append(document.issue("/roles", "must be a list of {\"role\", \"project\"}"))
        return {}
    parsed: dict[str, str] = {}
    for n, entry in enumerate(roles):
        at = f"/roles/{n}"
        if not isinstance(entry, dict):
            issues.append(document.issue(at, "must be an object {\"role\", \"project\"}"))
            continue
        role, ref = entry.get("role"), entry.get("project")
        if role not in (*ROLES, OB_ADMIN):
            issues.append(document.issue(f"{at}/role", f"must be one of {', '.join((*ROLES, OB_ADMIN))}"))
            role = None
        if not isinstance(ref, str) or not ref:
            issues.append(document.issue(f"{at}/project", "must name a project (its name or id), or '*'"))
            continue
        if role == OB_ADMIN or (role == "ADMIN" and ref == ALL_PROJECTS):
            key, role = SYSTEM, "ADMIN"
        elif ref == ALL_PROJECTS:
            if role is not None:
                issues.append(document.issue(f"{at}/project", "'*' (every project) goes only with ADMIN, "
                                             "which makes a system administrator"))
            continue
        else:
            project = projects.lookup(session, ref)
            if project is None or not scope.sees(project.id):
                issues.append(document.issue(f"{at}/project", f"no project {ref!r}"))
                continue
            key = project.id
        if key in parsed:
            issues.append(document.issue(f"{at}/project", f"a second role in {ref!r}: one role per project"))
        elif role is not None:
            parsed[key] = role
    return parsed


def _role_map(user: User) -> dict[str, str]:
    roles = {r.project_id: r.role for r in user.roles}
    if user.is_admin:
        roles[SYSTEM] = "ADMIN"
    return roles


def _set_roles(user: User, roles: dict[str, str]) -> None:
    user.is_admin = SYSTEM in roles
    wanted = {p: r for p, r in roles.items() if p != SYSTEM}
    for row in list(user.roles):
        if row.project_id not in wanted:
            user.roles.remove(row)
        else:
            row.role = wanted.pop(row.project_id)
    for project_id, role in wanted.items():
        user.roles.append(Role(project_id=project_id, role=role))


# --- writes -----------------------------------------------------------------------------

def create_user(ctx: Context, principal: Principal, document: SourceDoc) -> UserView:
    """A new user (system administrators only: Forbidden otherwise), its password hashed.
    ValidationFailed for a bad body, DuplicateUser for a username that is taken."""
    if not principal.is_admin:
        raise Forbidden("Only a system administrator may create users")
    try:
        with ctx.transaction() as session:
            scope = _scope(session, principal)
            body = _parse(session, scope, document, creating=True)
            if session.scalar(select(User.id).where(User.username == body.username)) is not None:
                raise DuplicateUser(f"A user named {body.username!r} already exists")
            user = User(username=body.username, password_hash=hash_password(body.password), email=body.email,
                        enabled=True if body.enabled is None else body.enabled, is_admin=False)
            _set_roles(user, body.roles)
            session.add(user)
            session.flush()
            return _view(session, scope, user)
    except IntegrityError:  # created by a concurrent call since the check
        raise DuplicateUser(f"A user named {document.data.get('username')!r} already exists") from None


def update_user(ctx: Context, principal: Principal, ref: str, document: SourceDoc) -> UserView:
    """PUT: fields absent from the body stay; ``roles`` replaces the roles in the projects
    the caller sees (roles elsewhere stay). UserNotFound when the caller does not see the
    user; ValidationFailed for a bad body or another username; Forbidden when the caller
    may not make a change (see the module docstring); LastAdmin when the change would leave
    no enabled system administrator. Disabling a user ends every token issued to it before, for
    good (see nfvo.services.auth._stamp); after it is enabled again it must log in anew."""
    with ctx.transaction() as session:
        scope = _scope(session, principal)
        user = _find(session, scope, ref)
        body = _parse(session, scope, document, creating=False)
        if body.username is not None and body.username != user.username:
            raise ValidationFailed("The username cannot change", errors=[
                document.issue("/username", f"must stay {user.username!r} (create a new user instead)")])
        myself = user.id == principal.user_id
        if body.has_email and body.email != user.email and not (principal.is_admin or myself):
            raise Forbidden(f"Only {user.username!r} or a system administrator may change the email")
        if body.enabled is not None and body.enabled != user.enabled and not principal.is_admin:
            raise Forbidden("Only a system administrator may enable or disable users")
        old = _role_map(user)
        new = old
        if body.roles is not None:
            hidden = {k: v for k, v in old.items() if not _entry_seen(scope, user, k)}
            new = {**hidden, **body.roles}
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key) and not _may_change(scope, key):
                    what = "the system administrator role" if key == SYSTEM else \
                        f"roles in project {projects.project_names(session, [key])[key]!r}"
                    raise Forbidden(f"You may not change {what}")
        was_admin = user.is_admin and user.enabled
        if body.has_email:
            user.email = body.email
        if body.enabled is False and user.enabled:
            # ends every token issued so far, for good: enabling the user again does not revive them
            user.token_generation = User.token_generation + 1
        if body.enabled is not None:
            user.enabled = body.enabled
        _set_roles(user, new)
        if was_admin and not (user.is_admin and user.enabled):
            _keep_an_admin(session, user)
        session.flush()
        return _view(session, scope, user)


def _entry_seen(scope: _Scope, user: User, key: str) -> bool:
    if key == SYSTEM:
        return _shows_system_role(scope, user)
    return scope.sees(key)


def _may_change(scope: _Scope, key: str) -> bool:
    if key == SYSTEM:
        return scope.principal.is_admin
    return scope.administers(key)


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.is_admin.is_(True), User.enabled.is_(True), User.id != user.id))
    if not others:
        raise LastAdmin(f"{user.username!r} is the last enabled system administrator; make another one first")


def delete_user(ctx: Context, principal: Principal, ref: str) -> None:
    """Deletes the user and its roles (system administrators only, and never themselves).
    UserNotFound when the caller does not see the user, Forbidden otherwise."""
    with ctx.transaction() as session:
        scope = _scope(session, principal)
        user = _find(session, scope, ref)
        if not principal.is_admin:
            raise Forbidden("Only a system administrator may delete users")
        if user.id == principal.user_id:
            raise Forbidden("You cannot delete yourself; another system administrator can")
        session.delete(user)


def change_own_password(ctx: Context, principal: Principal, document: SourceDoc) -> None:
    """Open Baton's changepwd: ``{"old_pwd", "new_pwd"}``; ``old_pwd`` must be the current
    password. Every token issued before ends (log in again). ValidationFailed lists every problem."""
    data = document.data if isinstance(document.data, dict) else None
    if data is None:
        raise ValidationFailed("The request body is not valid",
                               errors=[document.issue("", "must be a JSON object {\"old_pwd\", \"new_pwd\"}")])
    with ctx.transaction() as session:
        user = session.get(User, principal.user_id)
        issues: list[Issue] = []
        old = data.get("old_pwd")
        if not isinstance(old, str):
            issues.append(document.issue("/old_pwd", "the current password is needed"))
        elif not check_password_hash(user.password_hash, old):
            issues.append(document.issue("/old_pwd", "is not the current password"))
        new = _new_password(document, data.get("new_pwd"), "/new_pwd", issues)
        if issues:
            raise ValidationFailed(f"{len(issues)} problem(s) in the password change", errors=issues)
        user.password_hash = hash_password(new)


def set_password(ctx: Context, principal: Principal, username: str, document: SourceDoc) -> None:
    """Open Baton's changepwd/{username}: a system administrator sets ``{"new_pwd"}`` for a
    user (Forbidden for anyone else, UserNotFound for an unknown username); that user's
    earlier tokens end."""
    if not principal.is_admin:
        raise Forbidden("Only a system administrator may set another user's password")
    data = document.data if isinstance(document.data, dict) else None
    if data is None:
        raise ValidationFailed("The request body is not valid",
                               errors=[document.issue("", "must be a JSON object {\"new_pwd\"}")])
    with ctx.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise UserNotFound(f"No user {username!r}")
        issues: list[Issue] = []
        new = _new_password(document, data.get("new_pwd"), "/new_pwd", issues)
        if issues:
            raise ValidationFailed("The new password is not valid", errors=issues)
        user.password_hash = hash_password(new)
