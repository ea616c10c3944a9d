"""/vnfpkgm/v1/vnf_packages: ETSI SOL005 VNF package management (the API python-tackerclient speaks).

Callers authenticate with ``Authorization: Bearer <token>``, ``X-Auth-Token: <token>`` (a token
from POST /oauth/token) or HTTP Basic with an nfvo user's name and password. The project is the
``project-id`` header (id or name) if given, else the user's default project (see docs/etsi.md).
"""

from __future__ import annotations

import mimetypes
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import urlencode

from flask import Response, current_app, g, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.http import parse_options_header

from nfvo.api.downloads import BINARY, RANGE_ANSWER, ranged
from nfvo.api.openapi import LINK_NEXT, STORABLE_TEXT, JsonValue, Text
from nfvo.api.problems import PROBLEM_JSON
from nfvo.api.schemas import ProblemOut, ValidationQuery
from nfvo.api.security import READ_METHODS, VNFPKGM_SECURITY, authenticate_basic, ctx
from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.csar_zip import CsarArchive
from nfvo.domain.sol013 import parse_filter, parse_selection
from nfvo.errors import BadRequest, Forbidden, NotAcceptable, Unauthenticated
from nfvo.services import auth, etsi_packages
from nfvo.store import Blob, ContentStore
from nfvo.streams import CHUNK

blp = Blueprint("vnfpkgm", __name__, url_prefix="/vnfpkgm/v1/vnf_packages",
                description="ETSI SOL005 VNF package management")


def authenticate() -> None:
    """before_request hook: sets ``g.principal`` from a bearer token, X-Auth-Token or HTTP Basic,
    in the ``project-id`` project or the user's default one; GUESTs may only read."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    project_ref = request.headers.get("project-id") or None
    settings = ctx().settings
    with ctx().session() as session:
        if scheme.lower() == "bearer" and token.strip():
            principal = auth.authenticate(session, settings, token.strip(), project_ref)
        elif scheme.lower() == "basic" and request.authorization:
            credentials = request.authorization
            principal = authenticate_basic(session, credentials.username or "", credentials.password or "",
                                           project_ref)
        elif request.headers.get("X-Auth-Token", "").strip():
            principal = auth.authenticate(session, settings, request.headers["X-Auth-Token"].strip(), project_ref)
        else:
            raise Unauthenticated("Send 'Authorization: Bearer <token>', 'X-Auth-Token: <token>' (a token from "
                                  "POST /oauth/token) or HTTP Basic credentials of an nfvo user")
        if principal.project_id is None:
            principal = auth.with_default_project(session, principal)
            if principal is None:
                raise BadRequest("You have no default project (a project named 'default', or your only project); "
                                 "send the header 'project-id' (a project id or name)")
    g.principal = principal
    if request.method not in READ_METHODS and not principal.can_write:
        raise Forbidden(f"Role {principal.role} may only read in this project")


def _project() -> str:
    return g.principal.project_id


def _links(document: dict) -> dict:
    """``document`` with the ``_links`` of a VnfPkgInfo."""
    package_id = document["id"]
    base = url_for("vnfpkgm.VnfPackageById", package_id=package_id, _external=True)
    return {**document, "_links": {"self": {"href": base}, "vnfd": {"href": f"{base}/vnfd"},
                                   "packageContent": {"href": f"{base}/package_content"}}}


#: the keys of userDefinedData that nfvo reads: each a list of strings, or absent (null, in a patch)
_VIM_SELECTION = {key: {"type": ["array", "null"], "items": STORABLE_TEXT, "description": description}
                  for key, description in (("vimInstances", "the VIM instances (names or ids) its images go to"),
                                           ("vimTypes", "the VIM types its images go to"))}


def _user_defined_data(description: str, **kwargs) -> fields.Dict:
    return fields.Dict(keys=Text(), values=JsonValue(allow_none=True), metadata={
        "description": description, "properties": _VIM_SELECTION}, **kwargs)


class CreateVnfPkgInfoRequest(Schema):
    userDefinedData = _user_defined_data("kept with the package; vimInstances and vimTypes select the VIMs its "
                                         "images go to", load_default=dict)


class VnfPkgInfoModifications(Schema):
    operationalState = fields.String(validate=validate.OneOf(("ENABLED", "DISABLED")))
    userDefinedData = _user_defined_data("merged (RFC 7396): a null removes the key")

    @validates_schema
    def _something(self, data, **_kwargs):
        if not data:
            raise ValidationError("give operationalState or userDefinedData", "operationalState")


class UploadVnfPackageFromUriRequest(Schema):
    addressInformation = Text(required=True, metadata={"description": "http(s) URL of the CSAR"})
    userName = Text(metadata={"description": "HTTP Basic user name for the URL (sent to its origin only)"})
    password = Text(load_only=True, metadata={"description": "HTTP Basic password; never stored"})

    @validates_schema
    def _both_or_neither(self, data, **_kwargs):
        if ("userName" in data) != ("password" in data):
            missing = "password" if "userName" in data else "userName"
            raise ValidationError("give userName and password together", missing)
        if ":" in data.get("userName", ""):
            raise ValidationError("HTTP Basic user names cannot contain ':'", "userName")


#: a VnfPkgInfo (SOL005): its attributes depend on the onboarding state (see docs/etsi.md)
VNF_PKG_INFO = {"type": "object", "required": ["id", "onboardingState", "operationalState", "usageState"],
                "properties": {"id": {"type": "string"},
                               "onboardingState": {"enum": ["CREATED", "UPLOADING", "PROCESSING", "ONBOARDED",
                                                            "ERROR"]},
                               "operationalState": {"enum": ["ENABLED", "DISABLED"]},
                               "usageState": {"enum": ["IN_USE", "NOT_IN_USE"]},
                               "userDefinedData": {"type": "object"},
                               "_links": {"type": "object"}}}
#: a VnfPkgInfo of a list: the attribute selectors (fields, exclude_fields, ...) may leave out any
VNF_PKG_INFO_SELECTED = {k: v for k, v in VNF_PKG_INFO.items() if k != "required"}
#: a package file: an ETSI SOL004 CSAR, or an Open Baton tar
PACKAGE_MEDIA_TYPES = ("application/zip", "application/x-tar")
#: what PUT package_content takes (nfvo tells the formats apart by content, not by Content-Type)
UPLOAD_MEDIA_TYPES = (*PACKAGE_MEDIA_TYPES, "application/octet-stream")
MERGE_PATCH = "application/merge-patch+json"


def _documented(**doc):
    """``@blp.doc`` for every /vnfpkgm/v1 operation: its security alternatives, a 429 (too many
    failed HTTP Basic checks, with Retry-After) and ``doc``."""
    too_many = {"description": "Too many failed HTTP Basic checks for this user name or address",
                "headers": {"Retry-After": {"description": "seconds until the next try",
                                            "schema": {"type": "integer", "minimum": 1}}},
                "content": {PROBLEM_JSON: {"schema": ProblemOut}}}
    return blp.doc(security=VNFPKGM_SECURITY, **{**doc, "responses": {"429": too_many, **doc.get("responses", {})}})


@blp.route("/", strict_slashes=False)
class VnfPackages(MethodView):
    @_documented(description="VnfPkgInfo documents, oldest first, one page at a time (Link rel=\"next\"). Query: "
                 "filter (SOL013, e.g. (eq,onboardingState,ONBOARDED)), all_fields, fields, exclude_fields, "
                 "exclude_default, nextpage_opaque_marker.")
    @blp.response(200, {"type": "array", "items": VNF_PKG_INFO_SELECTED},
                  description="One page of VnfPkgInfo documents", headers=LINK_NEXT)
    def get(self):
        args = request.args.to_dict()
        conditions = parse_filter(args["filter"], etsi_packages.known_attribute) if "filter" in args else []
        selection = parse_selection(args, etsi_packages.known_attribute)
        page = etsi_packages.list_page(ctx(), _project(), conditions, args.get("nextpage_opaque_marker"),
                                       ctx().settings.vnfpkgm_page_size)
        answer = jsonify([selection.apply(_links(d), etsi_packages.COMPLEX_ATTRIBUTES) for d in page.items])
        if page.next_marker:
            query = urlencode({**args, "nextpage_opaque_marker": page.next_marker})
            answer.headers["Link"] = f'<{request.base_url}?{query}>; rel="next"'
        return answer

    @_documented()
    @blp.arguments(CreateVnfPkgInfoRequest, required=False)
    @blp.response(201, VNF_PKG_INFO, description="The new VnfPkgInfo (CREATED, DISABLED, NOT_IN_USE); Location "
                  "names it", headers={"Location": {"description": "its URL", "schema": {"type": "string"}}})
    def post(self, body):
        etsi_packages.check_user_defined_data(body["userDefinedData"])
        document = _links(etsi_packages.create(ctx(), _project(), body["userDefinedData"]))
        answer = jsonify(document)
        answer.status_code, answer.headers["Location"] = 201, document["_links"]["self"]["href"]
        return answer


@blp.route("/<package_id>", strict_slashes=False)
class VnfPackageById(MethodView):
    @_documented()
    @blp.response(200, VNF_PKG_INFO, description="The VnfPkgInfo")
    def get(self, package_id):
        return jsonify(_links(etsi_packages.show(ctx(), _project(), package_id)))

    @_documented(requestBody={"content": {MERGE_PATCH: {"schema": {
        "allOf": [VnfPkgInfoModifications], "minProperties": 1,
        "description": "at least one of operationalState and userDefinedData"}}}})
    @blp.arguments(VnfPkgInfoModifications, content_type=MERGE_PATCH)
    @blp.response(200, VnfPkgInfoModifications, description="The modifications made")
    def patch(self, body, package_id):
        return jsonify(etsi_packages.modify(ctx(), _project(), package_id, body))

    @_documented()
    @blp.response(204)
    def delete(self, package_id):
        etsi_packages.remove(ctx(), _project(), package_id)


def _content_filename() -> str | None:
    """The client's name for the uploaded package: the ``filename`` of a Content-Disposition header."""
    _, options = parse_options_header(request.headers.get("Content-Disposition", ""))
    name = PurePosixPath(options.get("filename", "").replace("\\", "/")).name
    return name[:255] or None


def _accepted() -> Response:
    answer = Response(status=202)
    answer.headers["Content-Length"] = "0"
    return answer


def _file_responses(media_types, description: str):
    """The documented answers of a download: the whole file (200) or one byte range of it (206)."""
    def decorate(view):
        for media_type in media_types:
            view = blp.alt_response(206, schema=BINARY, content_type=media_type, headers=RANGE_ANSWER,
                                    description="The byte range the Range header asks for", success=True)(view)
            view = blp.alt_response(200, schema=BINARY, content_type=media_type, description=description,
                                    success=True)(view)
        return view
    return decorate


@blp.route("/<package_id>/package_content", strict_slashes=False)
class VnfPackageContent(MethodView):
    @_documented(description="The package file (application/zip; application/x-tar for an Open Baton package). "
                 "Range: one byte range, answered with 206; a range outside the file, 416.")
    @_file_responses(PACKAGE_MEDIA_TYPES, "The package file")
    @blp.alt_response(416, schema=ProblemOut, content_type=PROBLEM_JSON, description="A range outside the file",
                      headers={"Content-Range": {"description": "bytes */SIZE", "schema": {"type": "string"}}})
    def get(self, package_id):
        package, store = etsi_packages.stored(ctx(), _project(), package_id), ctx().store
        return ranged(package.content.size, package.media_type,
                       lambda start: store.chunks(package.content.sha256, start))

    @_documented(description="The package as the body, streamed to disk: an ETSI SOL004 CSAR (application/zip) or "
                 "an Open Baton tar, told apart by content (whatever the Content-Type); a Content-Disposition "
                 "filename names it in findings (else the package id). 202, then onboarding runs (onboardingState "
                 "UPLOADING, PROCESSING, then ONBOARDED or ERROR).",
                 requestBody={"required": True, "content": {t: {"schema": BINARY} for t in UPLOAD_MEDIA_TYPES}})
    @blp.arguments(ValidationQuery, location="query")
    @blp.response(202)
    def put(self, strict, package_id):
        etsi_packages.receive(ctx(), _project(), package_id, request.stream, current_app.extensions["nfvo.enqueue"],
                              strict=strict, filename=_content_filename())
        return _accepted()


@blp.route("/<package_id>/package_content/upload_from_uri", strict_slashes=False)
class VnfPackageContentFromUri(MethodView):
    @_documented()
    @blp.arguments(UploadVnfPackageFromUriRequest)
    @blp.arguments(ValidationQuery, location="query")
    @blp.response(202, description="Fetched; onboarding runs")
    def post(self, body, strict, package_id):
        credentials = (body["userName"], body["password"]) if "userName" in body else None
        etsi_packages.receive_from_uri(ctx(), _project(), package_id, body["addressInformation"],
                                       current_app.extensions["nfvo.enqueue"], basic_auth=credentials,
                                       strict=strict)
        return _accepted()


def _accepts(media_type: str) -> bool:
    header = request.headers.get("Accept", "").strip()
    return not header or request.accept_mimetypes[media_type] > 0


@blp.route("/<package_id>/vnfd", strict_slashes=False)
class VnfPackageVnfd(MethodView):
    @_documented(description="Accept text/plain: the VNFD when it is one YAML file (the VNFD JSON of an Open "
                 "Baton package); application/zip: the VNFD files (and TOSCA.meta) in a zip; 406 otherwise.")
    @blp.response(200, {"type": "string"}, content_type="text/plain", description="The VNFD file")
    @blp.alt_response(200, schema=BINARY, content_type="application/zip", success=True,
                      description="The VNFD files in a zip")
    @blp.alt_response(406, schema=ProblemOut, content_type=PROBLEM_JSON,
                      description="The VNFD is not available in an accepted media type")
    def get(self, package_id):
        package = etsi_packages.stored(ctx(), _project(), package_id)
        text, zipped = _accepts("text/plain"), _accepts("application/zip")
        if package.archive is None:
            if text:
                return Response(current_app.json.dumps(package.vnfd_json, indent=2), content_type="text/plain")
            raise NotAcceptable("The VNFD of an Open Baton package is served only as text/plain (its JSON)")
        if text and len(package.vnfd_files) == 1:
            with _archive(package.archive) as archive, archive.open_member(package.vnfd_files[0]) as member:
                body = member.read()  # a VNFD file, within the archive's text size limit
            return Response(body, content_type="text/plain")
        if zipped:
            return _vnfd_zip(package)
        if text:
            raise NotAcceptable(f"The VNFD is in {len(package.vnfd_files)} files; ask for application/zip")
        raise NotAcceptable("Accept text/plain or application/zip")


def _limits() -> ArchiveLimits:
    return ArchiveLimits.from_settings(ctx().settings)


def _archive(blob: Blob, limits: ArchiveLimits | None = None, store: ContentStore | None = None) -> CsarArchive:
    """The stored CSAR; ``limits`` and ``store`` must be given outside a request (while a response streams)."""
    store = store or ctx().store
    return CsarArchive.open(blob.sha256, limits or _limits(), opener=lambda: store.seekable(blob.sha256, blob.size))


def _vnfd_zip(package: etsi_packages.StoredPackage) -> Response:
    """A zip of the VNFD files, written to a temporary file and streamed from there."""
    spool = tempfile.TemporaryFile(dir=ctx().settings.work_dir)
    try:
        with _archive(package.archive) as archive, zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as out:
            for name in (*package.zip_extras, *package.vnfd_files):
                with archive.open_member(name) as member, out.open(name, "w") as target:
                    while chunk := member.read(CHUNK):
                        target.write(chunk)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(CHUNK):
                yield chunk

    return Response(chunks(), content_type="application/zip", headers={"Content-Length": str(size)})


@blp.route("/<package_id>/artifacts/<path:artifact_path>", strict_slashes=False)
class VnfPackageArtifact(MethodView):
    @_documented(description="One file of the package by its path in the package (any Accept), in the media "
                 "type its name implies (else application/octet-stream). Range: one byte range, 206; outside the "
                 "file, 416. A path that is not a file of the package: 404.")
    @_file_responses(("*/*",), "The file")
    @blp.alt_response(416, schema=ProblemOut, content_type=PROBLEM_JSON, description="A range outside the file",
                      headers={"Content-Range": {"description": "bytes */SIZE", "schema": {"type": "string"}}})
    def get(self, package_id, artifact_path):
        package = etsi_packages.stored(ctx(), _project(), package_id)
        name = etsi_packages.artifact_member(package, artifact_path)
        with _archive(package.archive) as archive:
            size = archive.size_of(name)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        limits, store = _limits(), ctx().store
        return ranged(size, media_type, lambda start: _member_chunks(package.archive, name, start, limits, store))


def _member_chunks(blob: Blob, name: str, start: int, limits: ArchiveLimits, store: ContentStore) -> Iterator[bytes]:
    with _archive(blob, limits, store) as archive, archive.open_member(name) as member:
        skip = start
        while skip > 0:
            skipped = len(member.read(min(CHUNK, skip)))
            if not skipped:
                return
            skip -= skipped
        while chunk := member.read(CHUNK):
            yield chunk
