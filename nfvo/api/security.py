"""Who is calling: bearer token and ``project-id`` header, checked before every /api/v1 view;
HTTP Basic password checks, limited like the password grant."""

from __future__ import annotations

from flask import Response, abort, current_app, g, request
from sqlalchemy.orm import Session

from nfvo.api.problems import problem_response
from nfvo.errors import BadRequest, Forbidden, TooManyLoginFailures, Unauthenticated
from nfvo.services import auth
from nfvo.services.context import Context

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def ctx() -> Context:
    return current_app.extensions["nfvo"]


def client_address() -> str:
    """The address the request came from, as the limits on failed logins count it: the peer of
    the connection (a proxy in front of nfvo is one client)."""
    return request.remote_addr or ""


def too_many_failures(error: TooManyLoginFailures, extra: dict | None = None) -> Response:
    """The 429 problem answer, with ``Retry-After`` in seconds."""
    answer = problem_response({**error.to_problem(), **(extra or {})})
    answer.headers["Retry-After"] = str(error.retry_after)
    return answer


def authenticate_basic(session: Session, username: str, password: str, project_ref: str | None) -> auth.Principal:
    """The caller of HTTP Basic credentials (see auth.authenticate_password), limited like the
    password grant: over the limits the request ends with 429 and ``Retry-After``."""
    try:
        return auth.authenticate_password(session, username, password, project_ref,
                                          settings=ctx().settings, address=client_address())
    except TooManyLoginFailures as error:
        abort(too_many_failures(error))


def authenticate_request() -> None:
    """before_request hook of the resources inside a project: sets ``g.principal``; GUESTs may only read."""
    authenticate_account_request()
    if g.principal.project_id and request.method not in READ_METHODS and not g.principal.can_write:
        raise Forbidden(f"Role {g.principal.role} may only read in this project")


def authenticate_account_request() -> None:
    """before_request hook of /users and /projects: sets ``g.principal`` (a ``project-id`` header
    must still name a project of the caller); every role may write there, because the users and
    projects services decide who may do what (a GUEST changes its own password)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <token>' (get a token from POST /oauth/token)")
    project_ref = request.headers.get("project-id") or None
    with ctx().session() as session:
        g.principal = auth.authenticate(session, ctx().settings, token.strip(), project_ref)


def project_id() -> str:
    """The project of the call; BadRequest when the ``project-id`` header is missing."""
    principal = g.principal
    if principal.project_id is None:
        raise BadRequest("This call needs the header 'project-id' (a project id or name, e.g. 'default')")
    return principal.project_id
