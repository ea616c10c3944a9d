"""/api/v1/projects: list, show, create, rename, delete (when empty)."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from nfvo.api.schemas import ProjectOut, json_document
from nfvo.api.security import ctx
from nfvo.services import projects

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="Projects")


class ProjectIn(Schema):
    name = fields.String(metadata={"description": "unique; required to create"})
    description = fields.String()


_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": ProjectIn}}}}


@blp.route("/", strict_slashes=False)
class Projects(MethodView):
    @blp.response(200, ProjectOut(many=True), description="The projects the caller has a role in (system "
                  "administrators: all), by name")
    def get(self):
        return projects.list_projects(ctx(), g.principal)

    @blp.doc(**_BODY)
    @blp.response(201, ProjectOut, description="The new project (system administrators only)")
    def post(self):
        return projects.create_project(ctx(), g.principal, json_document())


@blp.route("/<project_ref>", strict_slashes=False)
class ProjectById(MethodView):
    @blp.response(200, ProjectOut, description="The project, by id or name")
    def get(self, project_ref):
        return projects.get_project(ctx(), g.principal, project_ref)

    @blp.doc(**_BODY)
    @blp.response(200, ProjectOut, description="The changed project (its ADMINs and system administrators)")
    def put(self, project_ref):
        return projects.update_project(ctx(), g.principal, project_ref, json_document())

    @blp.response(204, description="Deleted, with every role in it (system administrators only; the project "
                  "must be empty)")
    def delete(self, project_ref):
        projects.delete_project(ctx(), g.principal, project_ref)
