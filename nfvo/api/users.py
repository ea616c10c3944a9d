"""/api/v1/users: users and their project roles, in Open Baton's user JSON; passwords via changepwd."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from nfvo.api.schemas import json_document
from nfvo.api.security import ctx
from nfvo.services import users

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users and their roles in projects "
                "(Open Baton compatible)")


class RoleSchema(Schema):
    id = fields.String(dump_only=True, metadata={"description": "ROLE:project, e.g. USER:default (read-only)"})
    role = fields.String(required=True, metadata={"description": "GUEST, USER or ADMIN; OB_ADMIN (or ADMIN with "
                                                  "project '*') makes a system administrator"})
    project = fields.String(required=True, metadata={"description": "a project name or id; '*' for every project"})
    projectId = fields.String(dump_only=True, allow_none=True)


class UserSchema(Schema):
    id = fields.String(dump_only=True)
    username = fields.String(required=True)
    password = fields.String(load_only=True, metadata={"description": "at least 8 characters; only on create "
                                                       "(ignored by PUT: use changepwd)"})
    email = fields.String(allow_none=True)
    enabled = fields.Boolean(load_default=True)
    roles = fields.List(fields.Nested(RoleSchema), metadata={"description": "one role per project"})


class OwnPasswordSchema(Schema):
    old_pwd = fields.String(required=True)
    new_pwd = fields.String(required=True, metadata={"description": "at least 8 characters"})


class NewPasswordSchema(Schema):
    new_pwd = fields.String(required=True, metadata={"description": "at least 8 characters"})


def _body(schema: type[Schema]) -> dict:
    """Documents a JSON request body that the service reads (with json_document) and checks."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@blp.route("/", strict_slashes=False)
class Users(MethodView):
    @blp.response(200, UserSchema(many=True), description="The users the caller sees, by username")
    def get(self):
        return users.list_users(ctx(), g.principal)

    @blp.doc(**_body(UserSchema))
    @blp.response(201, UserSchema, description="The new user (system administrators only)")
    def post(self):
        return users.create_user(ctx(), g.principal, json_document())


@blp.route("/current", strict_slashes=False)
class CurrentUser(MethodView):
    @blp.response(200, UserSchema, description="The caller")
    def get(self):
        return users.current_user(ctx(), g.principal)


@blp.route("/changepwd", strict_slashes=False)
class OwnPassword(MethodView):
    @blp.doc(**_body(OwnPasswordSchema))
    @blp.response(204, description="Changed; every token issued before ends")
    def put(self):
        users.change_own_password(ctx(), g.principal, json_document())


@blp.route("/changepwd/<username>", strict_slashes=False)
class PasswordOf(MethodView):
    @blp.doc(**_body(NewPasswordSchema))
    @blp.response(204, description="Changed (system administrators only); the user's earlier tokens end")
    def put(self, username):
        users.set_password(ctx(), g.principal, username, json_document())


@blp.route("/<user_ref>", strict_slashes=False)
class UserById(MethodView):
    @blp.response(200, UserSchema, description="The user, by id or username")
    def get(self, user_ref):
        return users.get_user(ctx(), g.principal, user_ref)

    @blp.doc(**_body(UserSchema))
    @blp.response(200, UserSchema, description="The updated user; fields left out stay as they are")
    def put(self, user_ref):
        return users.update_user(ctx(), g.principal, user_ref, json_document())

    @blp.response(204)
    def delete(self, user_ref):
        users.delete_user(ctx(), g.principal, user_ref)
