"""Request and response shapes (marshmallow), in Open Baton's field names."""

from __future__ import annotations

from flask import g, request
from marshmallow import EXCLUDE, Schema, fields, post_load, validate
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from nfvo.api.openapi import Text
from nfvo.config import VALIDATION_MODES
from nfvo.domain.sources import SourceDoc, load_json, load_yaml
from nfvo.errors import BadRequest, TooLarge
from nfvo.services.packages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MASK = "**********"

class LocationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = Text()
    latitude = Text()
    longitude = Text()


class VimInstanceIn(Schema):
    class Meta:
        unknown = EXCLUDE

    name = Text(required=True, validate=validate.Length(1, 255))
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9_.-]{0,63}$"))
    authUrl = Text(load_default="", validate=validate.Length(max=1024))
    tenant = Text(allow_none=True)
    username = Text(allow_none=True)
    password = Text(allow_none=True, load_only=True)
    keyPair = Text(allow_none=True)
    securityGroups = fields.List(Text(), load_default=list)
    location = fields.Nested(LocationSchema, allow_none=True)
    properties = fields.Dict(keys=Text(), values=Text(), load_default=dict,
                             metadata={"description": "driver settings (each driver documents its keys)"})
    secrets = fields.Dict(keys=Text(), values=Text(), load_default=dict, load_only=True,
                          metadata={"description": "driver secrets: write-only, encrypted at rest"})


class VimInstanceOut(Schema):
    id = fields.String()
    name = fields.String()
    type = fields.String()
    authUrl = fields.String(attribute="auth_url")
    tenant = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    password = fields.Function(lambda v: MASK if v.password_enc else None)
    keyPair = fields.Function(lambda v: (v.fields or {}).get("keyPair"))
    securityGroups = fields.Function(lambda v: (v.fields or {}).get("securityGroups", []))
    location = fields.Function(lambda v: (v.fields or {}).get("location"))
    properties = fields.Function(lambda v: (v.fields or {}).get("properties", {}))
    secrets = fields.Function(lambda v: {k: MASK for k in (v.fields or {}).get("secret_keys", [])})
    projectId = fields.String(attribute="project_id")
    createdAt = fields.DateTime(attribute="created_at")


class ImageOut(Schema):
    id = fields.String()
    name = fields.String()
    diskFormat = fields.String(attribute="disk_format")
    containerFormat = fields.String(attribute="container_format")
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    minCPU = fields.Integer(attribute="min_cpu")
    minDiskSpace = fields.Integer(attribute="min_disk")
    minRam = fields.Integer(attribute="min_ram")
    isPublic = fields.Boolean(attribute="is_public")
    status = fields.String()


class FlavorOut(Schema):
    id = fields.String()
    flavour_key = fields.String(attribute="name", metadata={"description": "Open Baton's name for the flavour"})
    vcpus = fields.Integer()
    ram = fields.Integer()
    disk = fields.Integer()


class NetworkOut(Schema):
    id = fields.String()
    name = fields.String()
    external = fields.Boolean()


class VimStateOut(VimInstanceOut):
    """A VIM instance with what its driver reported at the last refresh."""

    images = fields.List(fields.Nested(ImageOut))
    flavours = fields.List(fields.Nested(FlavorOut))
    networks = fields.List(fields.Nested(NetworkOut))


class PackageImageOut(Schema):
    id = fields.Function(lambda i: i.image_id, metadata={"description": "the image's id on its VIM (as imageId); "
                         "Open Baton clients list the items of a list by id"})
    vimId = fields.String(attribute="vim_id")
    imageId = fields.String(attribute="image_id")
    name = fields.String(attribute="image_name")
    request = fields.String(attribute="request_key")
    sha256 = fields.String(allow_none=True)
    uploaded = fields.Boolean()
    decision = fields.String()
    source = fields.String(allow_none=True, metadata={"description": "where the bytes came from: "
                           "package:<member> or the link; empty when an image on the VIM was used"})


class ValidationQuery(Schema):
    """``?validation=strict`` on a request that onboards a package: its warnings refuse it too."""

    class Meta:
        unknown = EXCLUDE

    validation = fields.String(load_default="standard", validate=validate.OneOf(VALIDATION_MODES), metadata={
        "description": "strict: every validation warning refuses the package (as NFVO_VALIDATION=strict does "
                       "for every upload); standard: the service's setting"})

    @post_load
    def strict(self, data, **_kwargs) -> bool:
        return data["validation"] == "strict"


class IssueOut(Schema):
    """One validation finding."""

    message = fields.String(required=True)
    severity = fields.String(required=True, metadata={
        "description": "error (refuses the package) or warning (the package onboards; the finding is kept)"})
    file = fields.String()
    line = fields.Integer()
    pointer = fields.String(metadata={"description": "RFC 6901 JSON pointer into the file"})


class VnfPackageOut(Schema):
    id = fields.String()
    format = fields.String(metadata={"description": "the format it was read as (openbaton, etsi-sol004, nfvis, "
                                                    "sonata, sonata-vnfd, or a plugin's)"})
    name = fields.String()
    vendor = fields.String()
    version = fields.String()
    nfvo_version = fields.String(allow_none=True)
    vimTypes = fields.List(fields.String(), attribute="vim_types")
    scriptsLink = fields.String(attribute="scripts_link", allow_none=True)
    scriptsCommit = fields.String(attribute="scripts_commit", allow_none=True)
    scripts = fields.Function(lambda p: [{"id": s, "name": s} for s in p.scripts],
                              metadata={"description": "each script's id is its file name (unique in the package)"})
    images = fields.List(fields.Nested(PackageImageOut))
    sha256 = fields.String()
    size = fields.Integer()
    filename = fields.String()
    warnings = fields.List(fields.Nested(IssueOut),
                           metadata={"description": "the validation warnings the package was onboarded with"})
    metadata = fields.Dict(attribute="meta", metadata={
        "description": "what the package's format records of it (Open Baton: its Metadata.yaml; the other formats "
                       "say it under 'format', see docs/formats.md)"})
    projectId = fields.String(attribute="project_id")
    createdAt = fields.DateTime(attribute="created_at")


def _worker_for_admins(job) -> str | None:
    """Which host and process ran a job is the operators' business, not every user's."""
    principal = getattr(g, "principal", None)
    return job.worker if principal is not None and principal.is_admin else None


class JobOut(Schema):
    id = fields.String()
    kind = fields.String()
    state = fields.String()
    step = fields.String()
    progress = fields.Integer()
    attempts = fields.Integer()
    worker = fields.Function(_worker_for_admins, allow_none=True, metadata={
        "description": "host:pid of the worker that ran it last; shown to system administrators only"})
    filename = fields.String()
    sha256 = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    packageId = fields.Function(lambda j: j.package_id if j.state == "succeeded" else None)
    imageId = fields.String(attribute="image_id", allow_none=True,
                            metadata={"description": "the catalogue image a distribute-image job puts on VIMs"})
    vimInstances = fields.List(fields.String(), attribute="vim_ids",
                               metadata={"description": "the VIMs a distribute-image job puts the image on"})
    problem = fields.Dict(allow_none=True)
    strict = fields.Boolean(metadata={"description": "validation warnings refuse the package"})
    warnings = fields.List(fields.Nested(IssueOut), metadata={"description": "of a succeeded job's package"})
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


class ProjectOut(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()


class DriverOut(Schema):
    type = fields.String()
    distribution = fields.String(allow_none=True)
    entryPoint = fields.String()
    status = fields.String()
    error = fields.String(allow_none=True)
    capabilities = fields.List(fields.String())


class ProblemOut(Schema):
    """RFC 9457 problem details, plus Open Baton's ``code`` and ``message``."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    instance = fields.String()
    code = fields.Integer(metadata={"description": "Open Baton: the HTTP status"})
    message = fields.String(metadata={"description": "Open Baton: the same as detail"})
    errors = fields.List(fields.Nested(IssueOut), metadata={"description": "every validation finding"})


class VnfdQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    vendor = fields.String()
    name = fields.String()
    version = fields.String()
    page = fields.Integer(validate=validate.Range(0, 10**9),
                          metadata={"description": "0-based page; without page and size the whole list"})
    size = fields.Integer(validate=validate.Range(1, MAX_PAGE_SIZE),
                          metadata={"description": f"page size, default {DEFAULT_PAGE_SIZE} when page is given"})


#: the largest JSON request body nfvo reads (every one goes through ``json_document``)
MAX_JSON_BODY = 16 * 2**20


#: the media types of a YAML request body (:func:`json_document` with ``yaml=True``)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def json_document(*, yaml: bool = False) -> SourceDoc:
    """The request's JSON body (any JSON value; the service checks its shape), parsed once per
    request with :func:`nfvo.domain.sources.load_json` and the line of every field, so that problems
    can name it; its file name is ``request body``. With ``yaml``, a body of a YAML media type
    (YAML_TYPES) is read with :func:`nfvo.domain.sources.load_yaml` (no aliases, bounded depth).

    BadRequest unless the Content-Type is JSON (or YAML, when allowed) and the body UTF-8; TooLarge
    (413) over MAX_JSON_BODY, refused by its Content-Length before anything is read;
    ValidationFailed, with line and pointer, for a syntax error, too deep nesting, an integer of
    too many digits, a number out of range, NaN/Infinity, NUL or a lone surrogate in text, a
    duplicate key.
    """
    cached = g.get("nfvo_json_body")
    if cached is not None:
        return cached
    is_yaml = yaml and request.mimetype in YAML_TYPES
    if not request.is_json and not is_yaml:
        raise BadRequest("The request body must be a JSON document (Content-Type: application/json)"
                         + (" or YAML (application/yaml)" if yaml else ""))
    too_large = TooLarge(f"A JSON request body may be at most {MAX_JSON_BODY} bytes")
    if (request.content_length or 0) > MAX_JSON_BODY:
        raise too_large
    raw = request.stream.read(MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise too_large
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8") from None
    g.nfvo_json_body = (load_yaml if is_yaml else load_json)(text, "request body")
    return g.nfvo_json_body


def read_json_body() -> SourceDoc | None:
    """The body :func:`json_document` has read in this request, if it has."""
    return g.get("nfvo_json_body")


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser with one change: a JSON body is read by :func:`json_document`, so
    ``@blp.arguments(Schema)`` bodies have the same cap, limits and errors as every other JSON
    body nfvo reads. As in webargs, a body that is not JSON, or is empty, is missing."""

    def load_json(self, req, schema):
        if not is_json_request(req) or req.content_length == 0:
            return missing
        return json_document().data
