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

# --- what the OpenAPI document says of this (see create_app) ------------------------------

#: the OpenAPI security schemes: how each kind of caller proves who it is
SECURITY_SCHEMES = {
    "oauth2": {"type": "oauth2", "description": "Open Baton's OAuth2 password grant: POST /oauth/token (with the "
               "client credentials, scheme 'client') answers an access token, sent as 'Authorization: Bearer "
               "<token>'; the refresh_token grant renews it",
               "flows": {"password": {"tokenUrl": "/oauth/token", "refreshUrl": "/oauth/token", "scopes": {}}}},
    "client": {"type": "http", "scheme": "basic",
               "description": "the OAuth2 client's credentials, openbatonOSClient:secret (only for /oauth/token)"},
    "basic": {"type": "http", "scheme": "basic",
              "description": "an nfvo user's name and password (only /vnfpkgm/v1); failed checks are limited like "
                             "the password grant (429 with Retry-After)"},
    "xAuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token",
                   "description": "a token from POST /oauth/token, as python-tackerclient sends it (only /vnfpkgm/v1)"},
}
#: every operation but the token request and /vnfpkgm/v1 (see SECURITY_SCHEMES)
API_SECURITY = [{"oauth2": []}]
#: /vnfpkgm/v1: a bearer token, an X-Auth-Token or HTTP Basic user credentials
VNFPKGM_SECURITY = [{"oauth2": []}, {"xAuthToken": []}, {"basic": []}]
#: POST /oauth/token: the client's HTTP Basic credentials
CLIENT_SECURITY = [{"client": []}]

_PROJECT_ID = "a project's id or name, among those the caller has a role in (system administrators: any)"
#: the ``project-id`` header of the calls inside a project
PROJECT_HEADER = {"in": "header", "name": "project-id", "required": True, "description": _PROJECT_ID,
                  "schema": {"type": "string", "minLength": 1}}
#: the ``project-id`` header where it may be left out: then the call is outside any project
#: (/api/v1/users, /projects, /drivers) or in the caller's default project (/vnfpkgm/v1); an empty
#: value is the same as none
OPTIONAL_PROJECT_HEADER = {"in": "header", "name": "project-id", "required": False, "schema": {"type": "string"},
                           "description": f"{_PROJECT_ID}; optional"}


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
