"""POST /oauth/token: Open Baton's OAuth2 password and refresh-token grants."""

from __future__ import annotations

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.problems import problem_response
from nfvo.api.security import ctx
from nfvo.errors import BadRequest, InvalidCredentials, NfvoError, Unauthenticated
from nfvo.services import auth

blp = Blueprint("oauth", __name__, url_prefix="/oauth", description="Tokens (Open Baton compatible)")

CLIENTS = {"openbatonOSClient": "secret", "nfvo": "secret"}


def _refused(error: NfvoError, oauth_error: str):
    """The problem answer of a refused token request, plus RFC 6749's ``error`` and
    ``error_description`` and Open Baton's ``detailMessage`` (openbaton-cli reports bad
    credentials only when the answer has it)."""
    extra = {"error": oauth_error, "error_description": error.detail, "detailMessage": error.detail}
    return problem_response({**error.to_problem(), **extra})


@blp.route("/token", strict_slashes=False)
class Token(MethodView):
    @blp.doc(description="HTTP Basic client credentials (openbatonOSClient:secret); form fields grant_type "
             "(password | refresh_token), username, password, refresh_token.")
    def post(self):
        client = request.authorization
        if client is None or CLIENTS.get(client.username or "") != client.password:
            return _refused(InvalidCredentials("Bad or missing client credentials (HTTP Basic "
                                               "openbatonOSClient:secret)"), "invalid_client")
        form = request.form if request.form else request.args
        grant = form.get("grant_type", "password")
        try:
            with ctx().session() as session:
                if grant == "password":
                    return jsonify(auth.password_grant(session, ctx().settings, form.get("username", ""),
                                                       form.get("password", "")))
                if grant == "refresh_token":
                    return jsonify(auth.refresh_grant(session, ctx().settings, form.get("refresh_token", "")))
        except Unauthenticated as error:  # bad password, bad or expired refresh token
            return _refused(error, "invalid_grant")
        return _refused(BadRequest(f"Unsupported grant_type {grant!r} (use password or refresh_token)"),
                        "unsupported_grant_type")
