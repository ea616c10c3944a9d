"""/api/v1/users: users and their project roles, in Open Baton's user JSON; passwords via changepwd."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from nfvo.api.openapi import JsonValue, Text, json_body_doc
from nfvo.api.schemas import json_document
from nfvo.api.security import ctx
from nfvo.services import users
from nfvo.services.auth import ROLES

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users and their roles in projects "
                "(Open Baton compatible)")


#: what nfvo.services.users accepts as a new username: 1 to 255 characters, no white space, '/' or
#: control character, not a path under /api/v1/users, not shaped like an id
USERNAME_PATTERN = (r"^(?!(?:current|changepwd)$)"
                    r"(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)"
                    r"[^\s/\x00-\x1f\x7f]{1,255}$")
#: an email address (name@domain.tld), or "" for none
EMAIL_PATTERN = r"^$|^[^@\s\x00]+@[^@\s\x00]+\.[A-Za-z]+$"
PASSWORD = validate.Length(min=users.MIN_PASSWORD_LENGTH)


class RoleSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # Open Baton clients send back the role's id and projectId

    id = fields.String(dump_only=True, metadata={"description": "ROLE:project, e.g. USER:default (read-only)"})
    role = fields.String(required=True, validate=validate.OneOf((*ROLES, users.OB_ADMIN)), metadata={
        "description": "GUEST, USER or ADMIN; OB_ADMIN (or ADMIN with project '*') makes a system administrator"})
    project = Text(required=True, validate=validate.Length(min=1),
                   metadata={"description": "a project name or id the caller sees; '*' for every project"})
    projectId = fields.String(dump_only=True, allow_none=True)


class UserSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # Open Baton's user JSON has more fields (id, ...): ignored

    id = fields.String(dump_only=True)
    username = fields.String(required=True, validate=validate.Regexp(USERNAME_PATTERN),
                             metadata={"description": "cannot change once created"})
    password = Text(load_only=True, validate=PASSWORD, metadata={
        "description": "at least 8 characters; required on create, ignored by PUT (use changepwd)"})
    email = Text(allow_none=True, validate=[validate.Length(max=255), validate.Regexp(EMAIL_PATTERN)])
    enabled = fields.Boolean(load_default=True)
    roles = fields.List(fields.Nested(RoleSchema), metadata={"description": "one role per project"})


class UserUpdateSchema(UserSchema):
    """PUT's body: fields left out stay as they are."""

    username = fields.String(allow_none=True, validate=validate.Regexp(USERNAME_PATTERN),
                             metadata={"description": "if given, the user's own (it cannot change)"})
    password = JsonValue(load_only=True, allow_none=True,
                         metadata={"description": "ignored: passwords change through changepwd"})


class OwnPasswordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    old_pwd = Text(required=True)
    new_pwd = Text(required=True, validate=PASSWORD, metadata={"description": "at least 8 characters"})


class NewPasswordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    new_pwd = Text(required=True, validate=PASSWORD, metadata={"description": "at least 8 characters"})


@blp.route("/", strict_slashes=False)
class Users(MethodView):
    @blp.response(200, UserSchema(many=True), description="The users the caller sees, by username")
    def get(self):
        return users.list_users(ctx(), g.principal)

    @blp.doc(**json_body_doc(UserSchema))
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
    @blp.doc(**json_body_doc(OwnPasswordSchema))
    @blp.response(204, description="Changed; every token issued before ends")
    def put(self):
        users.change_own_password(ctx(), g.principal, json_document())


@blp.route("/changepwd/<username>", strict_slashes=False)
class PasswordOf(MethodView):
    @blp.doc(**json_body_doc(NewPasswordSchema))
    @blp.response(204, description="Changed (system administrators only); the user's earlier tokens end")
    def put(self, username):
        users.set_password(ctx(), g.principal, username, json_document())


@blp.route("/<user_ref>", strict_slashes=False)
class UserById(MethodView):
    @blp.response(200, UserSchema, description="The user, by id or username")
    def get(self, user_ref):
        return users.get_user(ctx(), g.principal, user_ref)

    @blp.doc(**json_body_doc(UserUpdateSchema))
    @blp.response(200, UserSchema, description="The updated user; fields left out stay as they are")
    def put(self, user_ref):
        return users.update_user(ctx(), g.principal, user_ref, json_document())

    @blp.response(204)
    def delete(self, user_ref):
        users.delete_user(ctx(), g.principal, user_ref)
