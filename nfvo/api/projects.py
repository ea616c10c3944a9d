"""/api/v1/projects: list, show, create, rename, delete (when empty)."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from nfvo.api.openapi import Text, json_body_doc
from nfvo.api.schemas import ProjectOut, json_document
from nfvo.api.security import ctx
from nfvo.services import projects

blp = Blueprint("projects", __name__, url_prefix="/api/v1/projects", description="Projects")


#: what nfvo.services.projects accepts as a name: 1 to 255 characters, no white space at either end,
#: not '*' (every project, in roles), not shaped like an id, no NUL (\x1c-\x1f: Python's white space)
NAME_PATTERN = (r"^(?!\*$)(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"
                r"[^\s\x00\x1c-\x1f](?:[^\x00]{0,253}[^\s\x00\x1c-\x1f])?$")


class ProjectIn(Schema):
    """A project body as PUT reads it: fields left out stay; unknown keys (``id``) are ignored."""

    class Meta:
        unknown = EXCLUDE

    name = fields.String(allow_none=True, validate=validate.Regexp(NAME_PATTERN),
                         metadata={"description": "unique; null leaves it as it is"})
    description = Text(allow_none=True, metadata={"description": "null leaves it as it is (none, on create)"})


class NewProject(ProjectIn):
    name = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN), metadata={"description": "unique"})


@blp.route("/", strict_slashes=False)
class Projects(MethodView):
    @blp.response(200, ProjectOut(many=True), description="The projects the caller has a role in (system "
                  "administrators: all), by name")
    def get(self):
        return projects.list_projects(ctx(), g.principal)

    @blp.doc(**json_body_doc(NewProject))
    @blp.response(201, ProjectOut, description="The new project (system administrators only)")
    def post(self):
        return projects.create_project(ctx(), g.principal, json_document())


@blp.route("/<project_ref>", strict_slashes=False)
class ProjectById(MethodView):
    @blp.response(200, ProjectOut, description="The project, by id or name")
    def get(self, project_ref):
        return projects.get_project(ctx(), g.principal, project_ref)

    @blp.doc(**json_body_doc(ProjectIn))
    @blp.response(200, ProjectOut, description="The changed project (its ADMINs and system administrators)")
    def put(self, project_ref):
        return projects.update_project(ctx(), g.principal, project_ref, json_document())

    @blp.response(204, description="Deleted, with every role in it (system administrators only; the project "
                  "must be empty)")
    def delete(self, project_ref):
        projects.delete_project(ctx(), g.principal, project_ref)
