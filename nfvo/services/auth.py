"""Users, projects and tokens: password grant, refresh, project roles."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from nfvo.config import Settings
from nfvo.db.models import Project, Role, User
from nfvo.errors import Forbidden, InvalidCredentials, ProjectNotFound, Unauthenticated

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


def issue_tokens(settings: Settings, user: User) -> dict:
    """The Open Baton token answer: the access token as both ``access_token`` and ``value``."""
    access = _serializer(settings, "access").dumps({"u": user.id})
    refresh = _serializer(settings, "refresh").dumps({"u": user.id})
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
    if user is None or not user.enabled or not check_password_hash(user.password_hash, password):
        raise InvalidCredentials("Bad username or password")
    return issue_tokens(settings, user)


def refresh_grant(session: Session, settings: Settings, refresh_token: str) -> dict:
    user_id = _load(settings, "refresh", refresh_token, REFRESH_TTL)
    user = session.get(User, user_id)
    if user is None or not user.enabled:
        raise InvalidCredentials("The refresh token's user no longer exists")
    return issue_tokens(settings, user)


def _load(settings: Settings, kind: str, token: str, max_age: int) -> str:
    try:
        return _serializer(settings, kind).loads(token, max_age=max_age)["u"]
    except SignatureExpired:
        raise Unauthenticated("The token has expired; get a new one from /oauth/token") from None
    except (BadSignature, KeyError, TypeError):
        raise Unauthenticated("The token is not valid") from None


def authenticate(session: Session, settings: Settings, token: str, project_ref: str | None) -> Principal:
    """The caller of a bearer token, scoped to ``project_ref`` (a project id or name) if given.

    Raises Unauthenticated for a bad or expired token, ProjectNotFound for an unknown
    project, Forbidden when the user has no role in it.
    """
    user = session.get(User, _load(settings, "access", token, settings.token_ttl))
    if user is None or not user.enabled:
        raise Unauthenticated("The token's user no longer exists")
    if not project_ref:
        return Principal(user.id, user.username, user.is_admin)
    project = session.get(Project, project_ref) or session.scalar(select(Project).where(Project.name == project_ref))
    if project is None:
        raise ProjectNotFound(f"No project {project_ref!r}")
    role = next((r.role for r in user.roles if r.project_id == project.id), None)
    if role is None and not user.is_admin:
        raise Forbidden(f"User {user.username!r} has no role in project {project.name!r}")
    return Principal(user.id, user.username, user.is_admin, project.id, role or "ADMIN")


def visible_projects(session: Session, principal: Principal) -> list[Project]:
    query = select(Project).order_by(Project.name)
    if not principal.is_admin:
        query = query.join(Role, Role.project_id == Project.id).where(Role.user_id == principal.user_id)
    return list(session.scalars(query))
