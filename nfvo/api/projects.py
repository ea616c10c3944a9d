"""/api/v1/projects: the projects the caller has a role in."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.schemas import ProjectOut
from nfvo.api.security import ctx
from nfvo.services import auth

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="Projects")


@blp.route("/", strict_slashes=False)
class Projects(MethodView):
    @blp.response(200, ProjectOut(many=True))
    def get(self):
        with ctx().session() as session:
            return auth.visible_projects(session, g.principal)
