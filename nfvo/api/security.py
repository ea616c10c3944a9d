"""Who is calling: bearer token and ``project-id`` header, checked before every /api/v1 view."""

from __future__ import annotations

from flask import current_app, g, request

from nfvo.errors import BadRequest, Forbidden, Unauthenticated
from nfvo.services import auth
from nfvo.services.context import Context

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def ctx() -> Context:
    return current_app.extensions["nfvo"]


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
