"""/api/v1/vnf-packages: onboard (multipart field ``file``), list, show, delete, serve scripts, render day-0
files."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import PurePosixPath

from flask import Response, current_app, g, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema

from nfvo.api.openapi import DOCUMENT, STORABLE_TEXT, Text, json_body_doc
from nfvo.api.problems import PROBLEM_JSON, problem_response
from nfvo.api.schemas import ProblemOut, ValidationQuery, VnfPackageOut, json_document
from nfvo.api.security import ctx, project_id
from nfvo.errors import JobTimeout, NotAcceptable
from nfvo.services import day0, packages, receiving

blp = Blueprint("vnf-packages", __name__, url_prefix="/api/v1/vnf-packages", description="VNF packages")

POLL_INTERVAL = 0.1


class PackageUpload(Schema):
    file = Upload(required=True, metadata={"description": "The package, of any installed format (Open Baton tar, "
                                                          "ETSI SOL004 CSAR, NFVIS tar.gz, SONATA .son, 5GTANGO "
                                                          ".tgo, a SONATA VNFD, a ConVirt image template...; told "
                                                          "apart by content)"})


def _submit_upload(project: str, strict: bool):
    """Creates the job for the streamed file of field ``file`` (the schema made sure it is there).
    Only a file that a job now owns outlives the request; every other part's file is dropped."""
    storage = request.files["file"]
    name = PurePosixPath((storage.filename or "package.tar").replace("\\", "/")).name[:255] or "package.tar"
    job = packages.submit(ctx(), project, storage.stream.received(name), current_app.extensions["nfvo.enqueue"],
                          strict=strict)
    g.kept_upload = storage.stream
    return job


class PackageMarketDownload(Schema):
    link = Text(required=True, metadata={"description": "http(s) URL of an Open Baton .tar or .tar.gz"})


#: the 202 answer of 'Prefer: respond-async'
ACCEPTED = {"type": "object", "required": ["id", "state", "location"],
            "properties": {"id": {"type": "string"}, "state": {"type": "string"}, "location": {"type": "string"}}}
ACCEPTED_HEADERS = {"Location": {"description": "the job, /api/v1/jobs/{id}", "schema": {"type": "string"}},
                    "Preference-Applied": {"description": "respond-async", "schema": {"type": "string"}}}


def _accepted(job):
    """The 202 answer of 'Prefer: respond-async': the job and where to follow it."""
    location = url_for("jobs.JobById", job_id=job.id)
    response = jsonify({"id": job.id, "state": job.state, "location": location})
    response.status_code, response.headers["Location"] = 202, location
    response.headers["Preference-Applied"] = "respond-async"
    return response


def _answer(job, onboarded: Callable[[object], dict]):
    """The answer of an onboarding request: 202 and the job with 'Prefer: respond-async'; else,
    once the job is done, ``onboarded(job)`` as JSON or the job's problem."""
    if "respond-async" in request.headers.get("Prefer", ""):
        return _accepted(job)
    job = _wait(job.id)
    if job.state == "failed":
        return problem_response(job.problem)
    return jsonify(onboarded(job))


def _with_warnings(answer: dict, job) -> dict:
    """``answer`` with the job's validation warnings as ``warnings``, when it has any."""
    return {**answer, "warnings": job.warnings} if job.warnings else answer


def _onboarded_vnfd(job) -> dict:
    return _with_warnings(packages.vnfd_of_package(ctx(), job.package_id).body, job)


def _wait(job_id: str):
    deadline = time.monotonic() + ctx().settings.onboarding_wait
    while time.monotonic() < deadline:
        job = packages.get_job(ctx(), project_id(), job_id)
        if job.state in ("succeeded", "failed"):
            return job
        time.sleep(POLL_INTERVAL)
    raise JobTimeout(f"Onboarding is still running; follow it at /api/v1/jobs/{job_id}")


@blp.route("/", strict_slashes=False)
class VnfPackages(MethodView):
    @blp.response(200, VnfPackageOut(many=True))
    def get(self):
        return packages.list_packages(ctx(), project_id())

    @blp.arguments(PackageUpload, location="files")
    @blp.arguments(ValidationQuery, location="query")
    @blp.response(200, DOCUMENT, description="The onboarded VNFD (Open Baton behaviour), plus 'warnings' (the "
                  "validation warnings, each with severity, message, file, line, pointer) when there are any; with "
                  "'Prefer: respond-async', 202 and a Location header to follow the job")
    @blp.alt_response(202, schema=ACCEPTED, headers=ACCEPTED_HEADERS, success=True,
                      description="Accepted; see Location")
    def post(self, _files, strict):
        return _answer(_submit_upload(project_id(), strict), _onboarded_vnfd)


@blp.route("/marketdownload", strict_slashes=False)
class VnfPackageMarketDownload(MethodView):
    @blp.arguments(PackageMarketDownload)
    @blp.arguments(ValidationQuery, location="query")
    @blp.response(200, {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/IssueOut"}}}},
        description="{\"id\": package id} once onboarded (Open Baton behaviour), plus 'warnings' when there are any; "
        "with 'Prefer: respond-async', 202 and a Location header to follow the job")
    @blp.alt_response(202, schema=ACCEPTED, headers=ACCEPTED_HEADERS, success=True,
                      description="Accepted; see Location")
    def post(self, body, strict):
        project = project_id()
        job = packages.submit(ctx(), project, receiving.download(ctx(), body["link"]),
                              current_app.extensions["nfvo.enqueue"], strict=strict)
        return _answer(job, lambda job: _with_warnings({"id": job.package_id}, job))


@blp.route("/<package_id>", strict_slashes=False)
class VnfPackageById(MethodView):
    @blp.response(200, VnfPackageOut)
    def get(self, package_id):
        return packages.get_package(ctx(), project_id(), package_id)

    @blp.response(204)
    def delete(self, package_id):
        packages.delete_package(ctx(), project_id(), package_id)


@blp.route("/<package_id>/scripts/<path:script_id>", strict_slashes=False)
class VnfPackageScript(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/plain", description="The script, as in the package")
    @blp.alt_response(404, schema=ProblemOut, content_type=PROBLEM_JSON,
                      description="artifact-not-found: the package has no such script")
    def get(self, package_id, script_id):
        """One lifecycle script of the package (an id of its ``scripts``), as Open Baton serves it."""
        blob, store = packages.script(ctx(), project_id(), package_id, script_id), ctx().store
        return Response(store.chunks(blob.sha256), content_type="text/plain; charset=utf-8",
                        headers={"Content-Length": str(blob.size)})


ISO_MEDIA_TYPE = "application/x-iso9660-image"
_NIC_VALUE = {"anyOf": [STORABLE_TEXT, {"type": "integer"}]}
#: the day-0 payload of a Cisco NFVIS package (docs/nfvis.md); the package decides which names and values fit
NFVIS_DAY0 = {"type": "object", "additionalProperties": False, "properties": {
    "profile": {**STORABLE_TEXT, "description": "a profile of the package (default: its default_profile)"},
    "properties": {"type": "object", "propertyNames": STORABLE_TEXT, "additionalProperties": _NIC_VALUE,
                   "description": "a value per custom property of the package"},
    "nics": {"type": "array", "description": "per vNIC, in order", "items": {
        "type": "object", "additionalProperties": False,
        "properties": {"ip": STORABLE_TEXT, "netmask": _NIC_VALUE, "gateway": STORABLE_TEXT}}},
    "vm": {"enum": [0, 1, 2], "description": "which VM of an HA pair"}}}
#: the render payload of a ConVirt image template (docs/convirt.md)
CONVIRT_DAY0 = {"type": "object", "required": ["vmName"], "additionalProperties": False, "properties": {
    "vmName": {**STORABLE_TEXT, "description": "the VM's name ($VM_NAME)"},
    "properties": {"type": "object", "propertyNames": STORABLE_TEXT,
                   "description": "a value per customizable option, of the option's kind"}}}
DAY0_REQUEST = {"anyOf": [NFVIS_DAY0, CONVIRT_DAY0],
                "description": "what the package's format takes: an NFVIS package's tokens, profile and vNICs, or a "
                               "ConVirt template's vmName and options"}
DAY0_ANSWER = {"type": "object", "required": ["profile", "files"], "properties": {
    "profile": {"type": ["object", "null"], "description": "the profile deployed"},
    "files": {"type": "array", "items": {"type": "object", "required": ["mountPoint", "name", "content"],
                                         "properties": {"mountPoint": {"type": "string"}, "name": {"type": "string"},
                                                        "content": {"type": "string"}}}}}}
NO_STORE = {"Cache-Control": {"description": "no-store: the answer may hold secrets", "schema": {"type": "string"}}}


@blp.route("/<package_id>/day0", strict_slashes=False)
class VnfPackageDay0(MethodView):
    @blp.doc(**json_body_doc(DAY0_REQUEST))
    @blp.response(200, DAY0_ANSWER, headers=NO_STORE, description="The chosen profile and each rendered file")
    @blp.alt_response(200, schema={"type": "string", "format": "binary"}, content_type=ISO_MEDIA_TYPE,
                      headers=NO_STORE, success=True,
                      description="Accept: application/x-iso9660-image: the files on a config drive (ISO 9660, "
                      "volume config-2, or cidata for a NoCloud package)")
    @blp.alt_response(406, schema=ProblemOut, content_type=PROBLEM_JSON,
                      description="Accept names neither application/json nor application/x-iso9660-image")
    @blp.alt_response(409, schema=ProblemOut, content_type=PROBLEM_JSON,
                      description="no-day0-files: the package has no day-0 files")
    @blp.alt_response(422, schema=ProblemOut, content_type=PROBLEM_JSON,
                      description="validation-failed: every problem of the payload, each at its pointer and line")
    def post(self, package_id):
        """Render the day-0 files of one deployment of the package (see docs/nfvis.md). Neither the
        payload nor the answer is stored or logged."""
        wanted = request.accept_mimetypes.best_match(["application/json", ISO_MEDIA_TYPE]) \
            if request.headers.get("Accept", "").strip() else "application/json"
        if wanted is None:
            raise NotAcceptable(f"Accept application/json or {ISO_MEDIA_TYPE}")
        rendered = day0.render(ctx(), project_id(), package_id, json_document())
        if wanted == ISO_MEDIA_TYPE:
            answer = Response(day0.config_drive(rendered), content_type=ISO_MEDIA_TYPE)
            answer.headers["Content-Disposition"] = 'attachment; filename="day0.iso"'
        else:
            answer = jsonify({"profile": rendered.profile, "files": rendered.files})
        answer.headers["Cache-Control"] = "no-store"
        return answer
