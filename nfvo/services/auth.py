"""Users, projects and tokens: password grant, refresh, project roles, and the limits on failed
password checks."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from nfvo.config import Settings
from nfvo.db.models import LoginFailures, Project, Role, User
from nfvo.db.session import transaction
from nfvo.errors import InvalidCredentials, ProjectNotFound, TooManyLoginFailures, Unauthenticated

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
    """Changes whenever the user's password or ``token_generation`` does: a new password, and
    every disable (which bumps the generation, see nfvo.services.users), end every earlier token
    for good. Generation 0 gives the stamp of the releases before it, so that an upgrade keeps
    the tokens of users never disabled since."""
    material = user.password_hash if not user.token_generation else f"{user.password_hash}\x00{user.token_generation}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


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


def password_grant(session: Session, settings: Settings, username: str, password: str, address: str) -> dict:
    """Tokens for ``username`` calling from ``address``; InvalidCredentials for a wrong name or
    password or a disabled user, TooManyLoginFailures over the limits (see :func:`check_password`)."""
    return issue_tokens(settings, check_password(session, settings, username, password, address))


def refresh_grant(session: Session, settings: Settings, refresh_token: str) -> dict:
    claims = _load(settings, "refresh", refresh_token, REFRESH_TTL)
    user = session.get(User, claims["u"])
    if user is None or not user.enabled:
        raise InvalidCredentials("The refresh token's user no longer exists")
    if claims.get("p") != _stamp(user):
        raise InvalidCredentials("The password changed, or the user was disabled, after this refresh token "
                                 "was issued; log in again")
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
        raise Unauthenticated("The password changed, or the user was disabled, after this token was issued; "
                              "get a new one from /oauth/token")
    return _scoped(session, user, project_ref)


def authenticate_password(session: Session, username: str, password: str, project_ref: str | None, *,
                          settings: Settings | None = None, address: str = "") -> Principal:
    """The caller of HTTP Basic credentials, scoped like :func:`authenticate`; InvalidCredentials
    for an unknown user, a wrong password or a disabled user. With ``settings`` the check is
    limited like the password grant (:func:`check_password`, TooManyLoginFailures); every caller
    that faces the network must pass them (nfvo.api.security.authenticate_basic does)."""
    if settings is not None:
        return _scoped(session, check_password(session, settings, username, password, address), project_ref)
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


# --- limits on failed password checks ---------------------------------------------------
#
# Three counters per check, each a row of login_failures (the database every API process shares,
# so the limits hold across processes) counting within a fixed window of NFVO_LOGIN_WINDOW_SECONDS
# that starts at its first count:
#   pair     (user name, client address)  at most NFVO_LOGIN_MAX_FAILURES
#   address  client address, any name     at most NFVO_LOGIN_MAX_ADDRESS_FAILURES
#   user     user name, any address       beyond NFVO_LOGIN_MAX_USER_FAILURES only slows: each
#            address then gets one try per window for that name (its pair count must be 0).
# An address with no failure of its own for a name is thus never refused because of other
# addresses, and every refusal ends with its window. An attempt is counted *before* the password
# is checked (one atomic upsert), so concurrent guesses cannot slip past the limit; a correct
# password takes its count back and clears the pair.


def _limit_keys(username: str, address: str) -> dict[str, str]:
    """kind -> row key (a SHA-256 digest: bounded size, no user name stored in the clear)."""
    def digest(*parts: str) -> str:
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()

    client = _client_network(address)
    return {"pair": digest("pair", username, client), "address": digest("address", client),
            "user": digest("user", username)}


def _client_network(address: str) -> str:
    """What counts as one client: an IPv4 address, or the /64 of an IPv6 one (a single host
    commonly holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ip.ipv4_mapped) if ip.ipv4_mapped else str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _upsert(session: Session):
    dialects = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    name = session.get_bind().dialect.name
    if name not in dialects:  # pragma: no cover - nfvo supports PostgreSQL and SQLite
        raise RuntimeError(f"login limits need PostgreSQL or SQLite, not {name}")
    return dialects[name](LoginFailures.__table__)


def _count_attempt(settings: Settings, keys: dict[str, str], now: float) -> dict[str, tuple[int, float]]:
    """Counts one attempt on each key in one committed statement; kind -> (count, window end)."""
    table = LoginFailures.__table__
    with transaction(settings.database_url) as session:
        insert = _upsert(session).values([{"key": k, "failures": 1, "window_end": now + settings.login_window}
                                          for k in sorted(keys.values())])  # one lock order for all
        expired = table.c.window_end <= now
        insert = insert.on_conflict_do_update(index_elements=[table.c.key], set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_end": case((expired, insert.excluded.window_end), else_=table.c.window_end),
        }).returning(table.c.key, table.c.failures, table.c.window_end)
        rows = {key: (failures, end) for key, failures, end in session.execute(insert)}
    return {kind: rows[key] for kind, key in keys.items()}


def _refusal(settings: Settings, counts: dict[str, tuple[int, float]], now: float) -> TooManyLoginFailures | None:
    """The TooManyLoginFailures the counts (this attempt included) call for, or None."""
    (pair, pair_end), (address, address_end), (user, user_end) = (counts[k] for k in ("pair", "address", "user"))
    waits = []
    if pair > settings.login_max_failures:
        waits.append(pair_end)
    if address > settings.login_max_address_failures:
        waits.append(address_end)
    if user > settings.login_max_user_failures and pair > 1:
        waits.append(min(pair_end, user_end))
    if not waits:
        return None
    retry_after = max(1, math.ceil(max(waits) - now))
    return TooManyLoginFailures(f"Too many failed logins for this user name or from this address; try again in "
                                f"{retry_after} s", retry_after=retry_after)


def _take_back(settings: Settings, keys: dict[str, str]) -> None:
    """After a correct password: the attempt was no failure, and the pair starts clean."""
    table = LoginFailures.__table__
    with transaction(settings.database_url) as session:
        session.execute(delete(table).where(table.c.key == keys["pair"]))
        session.execute(update(table).where(table.c.key.in_([keys["address"], keys["user"]]))
                        .values(failures=case((table.c.failures > 0, table.c.failures - 1), else_=0)))


def _forget_expired(settings: Settings, now: float) -> None:
    """Drops rows whose window has ended, skipping rows other checks hold (never waits on them)."""
    table = LoginFailures.__table__
    with transaction(settings.database_url) as session:
        stale = select(table.c.key).where(table.c.window_end <= now).limit(1000).with_for_update(skip_locked=True)
        session.execute(delete(table).where(table.c.key.in_(stale)))


def check_password(session: Session, settings: Settings, username: str, password: str, address: str) -> User:
    """The enabled user ``username`` if ``password`` is theirs, for a caller at ``address``.

    TooManyLoginFailures (with ``retry_after``) when the limits above refuse the attempt: the
    password is then not checked at all. InvalidCredentials for an unknown name, a wrong password
    or a disabled user; each such failure counts.
    """
    now = time.time()
    keys = _limit_keys(username, address)
    refusal = _refusal(settings, _count_attempt(settings, keys, now), now)
    if refusal is not None:
        raise refusal
    user = session.scalar(select(User).where(User.username == username))
    if not _password_matches(user, password):
        _forget_expired(settings, now)
        raise InvalidCredentials("Bad username or password")
    _take_back(settings, keys)
    return user
