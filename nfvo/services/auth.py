"""Users, projects and tokens: password grant, refresh, project roles."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from nfvo.config import Settings
from nfvo.db.models import Project, Role, User
from nfvo.errors import InvalidCredentials, ProjectNotFound, Unauthenticated

ROLES = ("GUEST", "USER", "ADMIN")
REFRESH_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which project with which role."""

    user_id: str
    username: str
    is_admin: bool
    project_id: str | None = None
    role: str | None = None

    @property
    def can_write(self) -> bool:
        return self.is_admin or self.role in ("USER", "ADMIN")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def _serializer(settings: Settings, kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"nfvo-{kind}-token")


@functools.cache
def _unknown_user_hash() -> str:
    return generate_password_hash("no such user")


def _password_matches(user: User | None, password: str) -> bool:
    """Whether ``user`` exists, is enabled and has ``password``. An unknown user costs one hash
    check too, so that the time of an answer does not tell which user names exist."""
    matches = check_password_hash(user.password_hash if user is not None else _unknown_user_hash(), password)
    return user is not None and user.enabled and matches


def _stamp(user: User) -> str:
    """Changes whenever the user's password does: a new password ends every earlier token."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def issue_tokens(settings: Settings, user: User) -> dict:
    """The Open Baton token answer: the access token as both ``access_token`` and ``value``."""
    access = _serializer(settings, "access").dumps({"u": user.id, "p": _stamp(user)})
    refresh = _serializer(settings, "refresh").dumps({"u": user.id, "p": _stamp(user)})
    return {
        "access_token": access,
        "value": access,
        "token_type": "bearer",
        "refresh_token": refresh,
        "expires_in": settings.token_ttl,
        "scope": "read write",
    }


def password_grant(session: Session, settings: Settings, username: str, password: str) -> dict:
    user = session.scalar(select(User).where(User.username == username))
    if not _password_matches(user, password):
        raise InvalidCredentials("Bad username or password")
    return issue_tokens(settings, user)


def refresh_grant(session: Session, settings: Settings, refresh_token: str) -> dict:
    claims = _load(settings, "refresh", refresh_token, REFRESH_TTL)
    user = session.get(User, claims["u"])
    if user is None or not user.enabled:
        raise InvalidCredentials("The refresh token's user no longer exists")
    if claims.get("p") != _stamp(user):
        raise InvalidCredentials("The password changed after this refresh token was issued; log in again")
    return issue_tokens(settings, user)


def _load(settings: Settings, kind: str, token: str, max_age: int) -> dict:
    """The token's claims: ``u`` the user id, ``p`` the password stamp."""
    try:
        claims = _serializer(settings, kind).loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthenticated("The token has expired; get a new one from /oauth/token") from None
    except BadSignature:
        raise Unauthenticated("The token is not valid") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("u"), str):
        raise Unauthenticated("The token is not valid")
    return claims


def authenticate(session: Session, settings: Settings, token: str, project_ref: str | None) -> Principal:
    """The caller of a bearer token, scoped to ``project_ref`` (a project id or name) if given.

    Raises Unauthenticated for a bad or expired token, ProjectNotFound for an unknown
    project, or a project the user has no role in (so that other projects stay invisible).
    """
    claims = _load(settings, "access", token, settings.token_ttl)
    user = session.get(User, claims["u"])
    if user is None or not user.enabled:
        raise Unauthenticated("The token's user no longer exists")
    if claims.get("p") != _stamp(user):
        raise Unauthenticated("The password changed after this token was issued; get a new one from /oauth/token")
    return _scoped(session, user, project_ref)


def authenticate_password(session: Session, username: str, password: str, project_ref: str | None) -> Principal:
    """The caller of HTTP Basic credentials, scoped like :func:`authenticate`; InvalidCredentials
    for an unknown user, a wrong password or a disabled user."""
    user = session.scalar(select(User).where(User.username == username))
    if not _password_matches(user, password):
        raise InvalidCredentials("Bad username or password")
    return _scoped(session, user, project_ref)


def default_project(session: Session, principal: Principal) -> str | None:
    """The project of a call that names none: the project ``default`` when the user may use it,
    else the user's only project; None when that leaves a choice (or nothing)."""
    projects = visible_projects(session, principal)
    named = [p for p in projects if p.name == "default"]
    if named:
        return named[0].id
    return projects[0].id if len(projects) == 1 else None


def with_default_project(session: Session, principal: Principal) -> Principal | None:
    """``principal`` scoped to :func:`default_project`; None when there is no default."""
    project = default_project(session, principal)
    return None if project is None else _scoped(session, session.get(User, principal.user_id), project)


def _scoped(session: Session, user: User, project_ref: str | None) -> Principal:
    if not project_ref:
        return Principal(user.id, user.username, user.is_admin)
    project = session.get(Project, project_ref) or session.scalar(select(Project).where(Project.name == project_ref))
    role = None if project is None else next((r.role for r in user.roles if r.project_id == project.id), None)
    if project is None or (role is None and not user.is_admin):
        raise ProjectNotFound(f"No project {project_ref!r}")
    return Principal(user.id, user.username, user.is_admin, project.id, role or "ADMIN")


def visible_projects(session: Session, principal: Principal) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if not principal.is_admin:
        query = query.join(Role, Role.project_id == Project.id).where(Role.user_id == principal.user_id)
    return list(session.scalars(query))
