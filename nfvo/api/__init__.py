"""The Flask application: create_app() wires settings, problem+json errors and the resources."""

from __future__ import annotations

import flask_smorest
from flask import Flask, g, request
from flask_smorest import Api

from nfvo import config
from nfvo.api.schemas import JsonBodyParser, ProblemOut

# Every @blp.arguments(Schema) of every resource reads its JSON body with nfvo's reader (one cap,
# one set of limits, problems naming the pointer). The decorators take the parser when they run,
# so it is set here, before any resource module below is imported.
flask_smorest.Blueprint.ARGUMENTS_PARSER = JsonBodyParser()

from nfvo.api import (  # noqa: E402
    datacenters,
    drivers,
    jobs,
    ns_descriptors,
    oauth,
    problems,
    projects,
    users,
    vnf_descriptors,
    vnf_packages,
    vnfpkgm,
)
from nfvo.api.security import authenticate_account_request, authenticate_request  # noqa: E402
from nfvo.api.uploads import StreamingRequest  # noqa: E402
from nfvo.services.context import Context  # noqa: E402


class NfvoApi(Api):
    """flask-smorest's Api, documenting every error response as application/problem+json."""

    ERROR_SCHEMA = ProblemOut

    def _register_responses(self):
        default = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


V1_BLUEPRINTS = (vnf_packages.blp, vnf_descriptors.blp, ns_descriptors.blp, datacenters.blp, jobs.blp, drivers.blp)
#: /api/v1 resources outside any one project; their services decide who may write
ACCOUNT_BLUEPRINTS = (projects.blp, users.blp)


def create_app(settings: config.Settings | None = None) -> Flask:
    """The WSGI app. It enqueues onboarding jobs on the Celery app configured for ``settings``;
    who runs them (an embedded worker thread or ``nfvo worker``) is the caller's choice."""
    from nfvo.worker.app import configure
    from nfvo.worker.tasks import enqueue

    settings = settings or config.load()
    settings.ensure_dirs()
    configure(settings)

    app = Flask("nfvo")
    app.request_class = StreamingRequest
    app.config.update(
        NFVO_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_package_size,
        API_TITLE="nfvo",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/ui",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        JSON_SORT_KEYS=False,
    )
    app.extensions["nfvo"] = ctx = Context(settings)
    ctx.check()
    app.extensions["nfvo.enqueue"] = enqueue

    api = NfvoApi(app, spec_kwargs={"info": {"description": "NFV orchestrator onboarding service"}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(oauth.blp)
    for blp in V1_BLUEPRINTS:
        blp.before_request(authenticate_request)
        api.register_blueprint(blp)
    for blp in ACCOUNT_BLUEPRINTS:
        blp.before_request(authenticate_account_request)
        api.register_blueprint(blp)
    vnfpkgm.blp.before_request(vnfpkgm.authenticate)
    api.register_blueprint(vnfpkgm.blp)
    problems.register(app)

    @app.teardown_request
    def _drop_unused_uploads(_exc):
        request.discard_uploads(keep=g.get("kept_upload"))

    @app.get("/health")
    def health():
        return {"status": "ok", "mode": "embedded" if settings.embedded else "external"}

    return app
