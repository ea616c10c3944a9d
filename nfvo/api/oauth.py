"""POST /oauth/token: Open Baton's OAuth2 password and refresh-token grants."""

from __future__ import annotations

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.security import ctx
from nfvo.errors import BadRequest, InvalidCredentials
from nfvo.services import auth

blp = Blueprint("oauth", __name__, url_prefix="/oauth", description="Tokens (Open Baton compatible)")

CLIENTS = {"openbatonOSClient": "secret", "nfvo": "secret"}


@blp.route("/token", strict_slashes=False)
class Token(MethodView):
    @blp.doc(description="HTTP Basic client credentials (openbatonOSClient:secret); form fields grant_type "
             "(password | refresh_token), username, password, refresh_token.")
    def post(self):
        client = request.authorization
        if client is None or CLIENTS.get(client.username or "") != client.password:
            raise InvalidCredentials("Bad or missing client credentials (HTTP Basic openbatonOSClient:secret)")
        form = request.form if request.form else request.args
        grant = form.get("grant_type", "password")
        with ctx().session() as session:
            if grant == "password":
                return jsonify(auth.password_grant(session, ctx().settings, form.get("username", ""),
                                                   form.get("password", "")))
            if grant == "refresh_token":
                return jsonify(auth.refresh_grant(session, ctx().settings, form.get("refresh_token", "")))
        raise BadRequest(f"Unsupported grant_type {grant!r} (use password or refresh_token)")
