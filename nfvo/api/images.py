"""/api/v1/images: the gold-image catalogue (images on their own, put on VIMs when needed)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from flask import Response, current_app, g, jsonify, request, stream_with_context, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from nfvo.api.downloads import BINARY, RANGE_ANSWER, ranged
from nfvo.api.openapi import Text, json_body_doc
from nfvo.api.schemas import ProblemOut, json_document
from nfvo.api.security import ctx, project_id
from nfvo.errors import BadRequest, Issue
from nfvo.errors import ValidationFailed as Invalid
from nfvo.services import catalogue, ova_import

blp = Blueprint("images", __name__, url_prefix="/api/v1/images", description="The gold-image catalogue")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$", error="letters, digits, '.', '_', '+', '-' only "
                        "(at most 128, starting with a letter or digit)")
_FORMAT = validate.OneOf(["raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx", "iso", "ploop", "aki", "ari", "ami"])
_CONTAINER = validate.OneOf(["bare", "ovf", "ova", "docker", "aki", "ari", "ami", "compressed"])


class ImageFields(Schema):
    """What a caller says of an image (all optional on PATCH)."""

    class Meta:
        unknown = EXCLUDE

    description = Text(validate=validate.Length(max=4096))
    diskFormat = Text(attribute="disk_format", validate=_FORMAT)
    containerFormat = Text(attribute="container_format", validate=_CONTAINER)
    minCpu = fields.Integer(attribute="min_cpu", validate=validate.Range(0, 4096))
    minRam = fields.Integer(attribute="min_ram", validate=validate.Range(0, 2**31 - 1),
                            metadata={"description": "MB"})
    minDisk = fields.Integer(attribute="min_disk", validate=validate.Range(0, 2**31 - 1),
                             metadata={"description": "GB"})
    osDistro = Text(attribute="os_distro", validate=validate.Length(max=64), allow_none=True)
    osVersion = Text(attribute="os_version", validate=validate.Length(max=64), allow_none=True)
    architecture = Text(validate=validate.Length(max=32), allow_none=True)
    tags = fields.List(Text(validate=validate.Length(1, 64)), validate=validate.Length(max=64))

    @pre_load
    def _form_tags(self, data, **_kwargs):
        """A form gives ``tags`` as one comma-separated field."""
        if isinstance(data, dict) and isinstance(data.get("tags"), str):
            data = {**data, "tags": [t.strip() for t in data["tags"].split(",") if t.strip()]}
        return data


class NewImage(ImageFields):
    name = Text(validate=_NAME)
    version = Text(validate=validate.Length(1, 64),
                   metadata={"description": "default 1.0 (an OVA's: its product version, if it has one)"})
    link = Text(metadata={"description": "http(s) URL of the image (a JSON body instead of a multipart file)"})


#: the form fields of a multipart POST, as OpenAPI says them (a form's values are text)
FORM_FIELDS = {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$"},
    "version": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[^\u0000]*$"},
    "description": {"type": "string", "maxLength": 4096, "pattern": "^[^\u0000]*$"},
    "diskFormat": {"enum": _FORMAT.choices}, "containerFormat": {"enum": _CONTAINER.choices},
    "minCpu": {"type": "integer", "minimum": 0, "maximum": 4096},
    "minRam": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "minDisk": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "osDistro": {"type": "string", "maxLength": 64, "pattern": "^[^\u0000]*$"},
    "osVersion": {"type": "string", "maxLength": 64, "pattern": "^[^\u0000]*$"},
    "architecture": {"type": "string", "maxLength": 32, "pattern": "^[^\u0000]*$"},
    "tags": {"type": "string", "pattern": "^[^\u0000]*$",
             "description": "comma-separated, each tag 1 to 64 characters, at most 64"},
}


class ImageChanges(ImageFields):
    public = fields.Boolean(metadata={"description": "every project may use it; a system administrator's to set"})


class PlacementOut(Schema):
    vimId = fields.String(attribute="vim_id")
    imageId = fields.String(attribute="vim_image_id", metadata={"description": "the image's id on that VIM"})
    name = fields.String(attribute="vim_image_name")
    uploaded = fields.Boolean(metadata={"description": "nfvo put it there (else an image with its bytes was there)"})
    decision = fields.String()


class ImageOut(Schema):
    id = fields.String()
    name = fields.String()
    version = fields.String()
    description = fields.String()
    diskFormat = fields.String(attribute="disk_format")
    containerFormat = fields.String(attribute="container_format")
    size = fields.Integer()
    sha256 = fields.String(metadata={"description": "of the bytes, taken while they arrived"})
    minCpu = fields.Integer(attribute="min_cpu")
    minRam = fields.Integer(attribute="min_ram")
    minDisk = fields.Integer(attribute="min_disk")
    osDistro = fields.String(attribute="os_distro", allow_none=True)
    osVersion = fields.String(attribute="os_version", allow_none=True)
    architecture = fields.String(allow_none=True)
    tags = fields.List(fields.String())
    public = fields.Boolean()
    projectId = fields.Function(lambda i: i.project_id if i.project_id == project_id() else None, metadata={
        "description": "the project it belongs to; null for another project's public image"})
    source = fields.String(metadata={"description": "upload:<file>, ova:<file>, or the link it came from"})
    origin = fields.Dict(metadata={"description": "what an imported OVF said of it"})
    previousId = fields.String(attribute="previous_id", allow_none=True,
                               metadata={"description": "the version this one follows"})
    placements = fields.List(fields.Nested(PlacementOut), attribute="shown_placements",
                             metadata={"description": "where it is, on which VIMs of this project"})
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


class ImageDetailOut(ImageOut):
    usedBy = fields.List(fields.Dict(), attribute="used_by", metadata={
        "description": "the packages of this project whose images have these bytes, with their VNFDs"})
    versions = fields.List(fields.Dict(), metadata={"description": "every version of this name the project sees, "
                                                               "newest first: id, version, createdAt"})


class ListQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String()
    version = fields.String()
    os = fields.String(metadata={"description": "the OS distribution (osDistro)"})
    architecture = fields.String()
    tag = fields.String()


class Distribution(Schema):
    vimInstances = fields.List(Text(), load_default=list, metadata={
        "description": "VIM instances (names or ids) of the project; empty: every VIM of the project"})


def _fields(schema: Schema, data) -> dict:
    """``data`` loaded with ``schema``; every problem at once as a 422 at its pointer. Form fields
    are text as a JSON body's are: no NUL, no lone surrogate."""
    if isinstance(data, dict):
        unstorable = [Issue("must not hold NUL or a lone surrogate", file="request body", pointer=f"/{key}")
                      for key, value in sorted(data.items()) if isinstance(value, str) and _UNSTORABLE.search(value)]
        if unstorable:
            raise Invalid(f"{len(unstorable)} problem{'s' if len(unstorable) != 1 else ''} in the image's fields",
                          errors=unstorable)
    try:
        return schema.load(data)
    except ValidationError as exc:
        issues = [Issue("; ".join(map(str, messages)) if isinstance(messages, list) else str(messages),
                        file="request body", pointer=f"/{key}")
                  for key, messages in sorted(exc.normalized_messages().items())]
        raise Invalid(f"{len(issues)} problem{'s' if len(issues) != 1 else ''} in the image's fields",
                      errors=issues) from None


def _shown(images: list) -> list:
    """The images with the placements this project may see (those on its own VIMs)."""
    vims = catalogue.vim_ids(ctx(), project_id())
    for image in images:
        image.shown_placements = [p for p in image.placements if p.vim_id in vims]
    return images


def _detail(image):
    """The image with what ImageDetailOut shows besides its record: its users and versions."""
    _shown([image])
    image.used_by = catalogue.usage(ctx(), project_id(), image)
    image.versions = catalogue.versions(ctx(), project_id(), image)
    return image


@blp.route("/", strict_slashes=False)
class Images(MethodView):
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, ImageOut(many=True), description="The project's images and the public ones")
    def get(self, query):
        return _shown(catalogue.list_images(ctx(), project_id(), catalogue.Filters(**query)))

    @blp.doc(requestBody={"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "the image, or an OVA (a tar with an .ovf and its disks)"},
            **FORM_FIELDS}}},
        "application/json": {"schema": NewImage}}})
    @blp.response(201, ImageDetailOut, description="The new catalogue image")
    def post(self):
        if request.mimetype == "multipart/form-data":
            image = _from_upload()
        else:
            body = _fields(NewImage(), json_document().data)
            if not body.get("link") or not body.get("name"):
                raise Invalid("A JSON body needs link and name", errors=[
                    Issue("required", file="request body", pointer=f"/{k}") for k in ("link", "name")
                    if not body.get(k)])
            image = catalogue.add_from_link(ctx(), project_id(), body.pop("link"), body)
        return _detail(image), 201, {"Location": url_for("images.ImageById", image_id=image.id)}


def _from_upload():
    storage = request.files.get("file")
    if storage is None:
        raise BadRequest("A multipart upload needs the image in its part 'file'")
    name = PurePosixPath((storage.filename or "image").replace("\\", "/")).name[:255] or "image"
    body = _fields(NewImage(), request.form.to_dict())
    received = storage.stream.received(name)
    g.kept_upload = storage.stream
    return catalogue.add_upload(ctx(), project_id(), received, body)


@blp.route("/<image_id>", strict_slashes=False)
class ImageById(MethodView):
    @blp.response(200, ImageDetailOut)
    def get(self, image_id):
        return _detail(catalogue.get_image(ctx(), project_id(), image_id))

    @blp.doc(**json_body_doc(ImageChanges))
    @blp.response(200, ImageDetailOut, description="The changed image (name, version and bytes never change)")
    def patch(self, image_id):
        changes = _fields(ImageChanges(), json_document().data)
        return _detail(catalogue.update(ctx(), project_id(), image_id, changes, admin=g.principal.is_admin))

    @blp.response(204)
    def delete(self, image_id):
        catalogue.delete(ctx(), project_id(), image_id, admin=g.principal.is_admin)


@blp.route("/<image_id>/content", strict_slashes=False)
class ImageContent(MethodView):
    @blp.response(200, BINARY, content_type="application/octet-stream", description="The image's bytes")
    @blp.alt_response(206, schema=BINARY, content_type="application/octet-stream", headers=RANGE_ANSWER,
                      description="The byte range the Range header asks for", success=True)
    @blp.alt_response(416, schema=ProblemOut, content_type="application/problem+json",
                      description="A range outside the image")
    def get(self, image_id):
        image, store = catalogue.get_image(ctx(), project_id(), image_id), ctx().store
        return ranged(image.size, "application/octet-stream", lambda start: store.chunks(image.sha256, start))


class ExportQuery(Schema):
    format = Text(load_default="ova", validate=validate.OneOf(["ova"]))


@blp.route("/<image_id>/export", strict_slashes=False)
class ImageExport(MethodView):
    @blp.arguments(ExportQuery, location="query")
    @blp.response(200, BINARY, content_type="application/ovf",
                  description="The image as an OVA: an OVF nfvo writes from the record, a manifest with the "
                              "SHA-256 of both, the image as its disk (streamed)")
    def get(self, query, image_id):
        image = catalogue.get_image(ctx(), project_id(), image_id)
        answer = Response(stream_with_context(ova_import.export_chunks(ctx(), image)), content_type="application/ovf")
        answer.headers["Content-Disposition"] = f'attachment; filename="{image.name}-{image.version}.ova"'
        return answer


@blp.route("/<image_id>/distribute", strict_slashes=False)
class ImageDistribution(MethodView):
    @blp.arguments(Distribution)
    @blp.response(202, {"type": "object", "properties": {"id": {"type": "string"}, "state": {"type": "string"},
                                                         "location": {"type": "string"}}},
                  description="The job that puts the image on the VIMs; follow it at Location")
    def post(self, body, image_id):
        job = catalogue.distribute(ctx(), project_id(), image_id, body["vimInstances"],
                                   current_app.extensions["nfvo.enqueue"])
        location = url_for("jobs.JobById", job_id=job.id)
        answer = jsonify({"id": job.id, "state": job.state, "location": location})
        answer.status_code, answer.headers["Location"] = 202, location
        return answer
