"""POST /oauth/token: Open Baton's OAuth2 password and refresh-token grants."""

from __future__ import annotations

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from nfvo.api.problems import PROBLEM_JSON, problem_response
from nfvo.api.schemas import ProblemOut
from nfvo.api.security import CLIENT_SECURITY, client_address, ctx, too_many_failures
from nfvo.errors import BadRequest, InvalidCredentials, Issue, NfvoError, TooManyLoginFailures, Unauthenticated
from nfvo.services import auth

blp = Blueprint("oauth", __name__, url_prefix="/oauth", description="Tokens (Open Baton compatible)")

CLIENTS = {"openbatonOSClient": "secret", "nfvo": "secret"}
#: the token request's parameters: read from the form body only, refused in the query string
#: (a URL, and so a password in it, ends up in access logs, proxies and shell histories)
GRANT_PARAMETERS = ("grant_type", "username", "password", "refresh_token", "client_id", "client_secret", "scope")


class TokenRequest(Schema):
    """The form body of a token request (application/x-www-form-urlencoded)."""

    grant_type = fields.String(load_default="password", validate=validate.OneOf(("password", "refresh_token")))
    username = fields.String(metadata={"description": "the user, for grant_type password"})
    password = fields.String(metadata={"description": "the user's password, for grant_type password"})
    refresh_token = fields.String(metadata={"description": "for grant_type refresh_token"})
    scope = fields.String(metadata={"description": "ignored: a token may do what its user may"})


class TokenOut(Schema):
    """Open Baton's token answer."""

    access_token = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "the access token again (Open Baton clients read "
                                                                  "it here)"})
    token_type = fields.String(required=True, metadata={"description": "bearer"})
    refresh_token = fields.String(required=True, metadata={"description": "valid 7 days"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token is valid "
                                                                        "(NFVO_TOKEN_TTL)"})
    scope = fields.String(required=True)


class OAuthProblemOut(ProblemOut):
    """A refused token request: the problem details, plus RFC 6749's ``error`` and
    ``error_description`` and Open Baton's ``detailMessage``."""

    error = fields.String(required=True, metadata={"description": "invalid_request, invalid_client, invalid_grant, "
                                                                  "unsupported_grant_type or temporarily_unavailable"})
    error_description = fields.String(required=True)
    detailMessage = fields.String(required=True)


RETRY_AFTER = {"Retry-After": {"description": "seconds until the limit lets this user name and address try again",
                               "schema": {"type": "integer", "minimum": 1}}}


def _oauth_fields(error: NfvoError, oauth_error: str) -> dict:
    """RFC 6749's ``error`` and ``error_description`` and Open Baton's ``detailMessage``
    (openbaton-cli reports bad credentials only when the answer has it)."""
    return {"error": oauth_error, "error_description": error.detail, "detailMessage": error.detail}


def _refused(error: NfvoError, oauth_error: str):
    """The problem answer of a refused token request, plus :func:`_oauth_fields`."""
    return problem_response({**error.to_problem(), **_oauth_fields(error, oauth_error)})


def _parameters_in_query() -> BadRequest | None:
    """BadRequest naming every grant parameter sent in the query string, or None."""
    found = [name for name in GRANT_PARAMETERS if name in request.args]
    if not found:
        return None
    names = ", ".join(repr(name) for name in found)
    return BadRequest(f"Send {names} in the form body (application/x-www-form-urlencoded), not in the query "
                      "string", errors=[Issue("must be sent in the form body, not in the query string",
                                              pointer=f"/{name}") for name in found])


@blp.route("/token", strict_slashes=False)
class Token(MethodView):
    @blp.doc(description="HTTP Basic client credentials (openbatonOSClient:secret); form body fields grant_type "
             "(password | refresh_token), username, password, refresh_token (400 when any of them is in the query "
             "string). Failed password grants are limited per user name and client address (429 with Retry-After).",
             security=CLIENT_SECURITY,
             requestBody={"content": {"application/x-www-form-urlencoded": {"schema": TokenRequest}}})
    @blp.response(200, TokenOut, description="The tokens")
    @blp.alt_response(400, schema=OAuthProblemOut, content_type=PROBLEM_JSON,
                      description="invalid_request (a parameter in the query string) or unsupported_grant_type")
    @blp.alt_response(401, schema=OAuthProblemOut, content_type=PROBLEM_JSON,
                      description="invalid_client (bad client credentials) or invalid_grant (bad user name or "
                                  "password, bad or expired refresh token)")
    @blp.alt_response(429, schema=OAuthProblemOut, content_type=PROBLEM_JSON, headers=RETRY_AFTER,
                      description="temporarily_unavailable: too many failed logins for this user name or address")
    def post(self):
        misplaced = _parameters_in_query()
        if misplaced is not None:
            return _refused(misplaced, "invalid_request")
        client = request.authorization
        if client is None or CLIENTS.get(client.username or "") != client.password:
            return _refused(InvalidCredentials("Bad or missing client credentials (HTTP Basic "
                                               "openbatonOSClient:secret)"), "invalid_client")
        form = request.form
        grant = form.get("grant_type", "password")
        try:
            with ctx().session() as session:
                if grant == "password":
                    return jsonify(auth.password_grant(session, ctx().settings, form.get("username", ""),
                                                       form.get("password", ""), client_address()))
                if grant == "refresh_token":
                    return jsonify(auth.refresh_grant(session, ctx().settings, form.get("refresh_token", "")))
        except Unauthenticated as error:  # bad password, bad or expired refresh token
            return _refused(error, "invalid_grant")
        except TooManyLoginFailures as error:
            return too_many_failures(error, _oauth_fields(error, "temporarily_unavailable"))
        return _refused(BadRequest(f"Unsupported grant_type {grant!r} (use password or refresh_token)"),
                        "unsupported_grant_type")
