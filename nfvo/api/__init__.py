"""The Flask application: create_app() wires settings, problem+json errors and the resources."""

from __future__ import annotations

import flask_smorest
from flask import Flask, g, request
from flask_smorest import Api

from nfvo import config
from nfvo.api.openapi import (
    STORABLE_JSON,
    StorableObjects,
    nsd_components,
    storable_text_property,
    vnfd_components,
)
from nfvo.api.schemas import JsonBodyParser, ProblemOut

# Every @blp.arguments(Schema) of every resource reads its JSON body with nfvo's reader (one cap,
# one set of limits, problems naming the pointer). The decorators take the parser when they run,
# so it is set here, before any resource module below is imported.
flask_smorest.Blueprint.ARGUMENTS_PARSER = JsonBodyParser()

from nfvo.api import (  # noqa: E402
    datacenters,
    drivers,
    images,
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
from nfvo.api.security import (  # noqa: E402
    API_SECURITY,
    OPTIONAL_PROJECT_HEADER,
    PROJECT_HEADER,
    SECURITY_SCHEMES,
    authenticate_account_request,
    authenticate_request,
)
from nfvo.api.uploads import StreamingRequest  # noqa: E402
from nfvo.services.context import Context  # noqa: E402


class NfvoFlask(Flask):
    """Flask, answering OPTIONS with the methods of the route the path matched. Werkzeug would list
    those of every route the path could match: GET and DELETE of /vnf-packages/{id} for
    /vnf-packages/marketdownload, whose only method is POST."""

    def make_default_options_response(self):
        rule = request.url_rule
        if rule is None or not rule.methods:
            return super().make_default_options_response()
        answer = self.response_class()
        answer.allow.update(rule.methods)
        return answer


class NfvoApi(Api):
    """flask-smorest's Api, documenting every error response as application/problem+json, and
    what the text of a JSON request body may not hold (see nfvo.api.schemas.Text)."""

    ERROR_SCHEMA = ProblemOut

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), StorableObjects()], **kwargs)
        self.ma_plugin.converter.add_attribute_function(storable_text_property)
        for name, schema in {"StorableJson": STORABLE_JSON, **vnfd_components(), **nsd_components()}.items():
            self.spec.components.schema(name, schema)

    def _register_responses(self):
        default = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


#: /api/v1 resources inside one project (the ``project-id`` header names it)
V1_BLUEPRINTS = (vnf_packages.blp, vnf_descriptors.blp, ns_descriptors.blp, datacenters.blp, jobs.blp, images.blp)
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

    app = NfvoFlask("nfvo")
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
        API_SPEC_OPTIONS={"security": API_SECURITY},
        JSON_SORT_KEYS=False,
    )
    app.extensions["nfvo"] = ctx = Context(settings)
    ctx.check()
    app.extensions["nfvo.enqueue"] = enqueue

    api = NfvoApi(app, spec_kwargs={"info": {"description": "NFV orchestrator onboarding service"}})
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    api.register_blueprint(oauth.blp)
    for blp in V1_BLUEPRINTS:
        blp.before_request(authenticate_request)
        api.register_blueprint(blp, parameters=[PROJECT_HEADER])
    # the drivers are the same in every project: a project-id header is checked, never needed
    drivers.blp.before_request(authenticate_request)
    api.register_blueprint(drivers.blp, parameters=[OPTIONAL_PROJECT_HEADER])
    for blp in ACCOUNT_BLUEPRINTS:
        blp.before_request(authenticate_account_request)
        api.register_blueprint(blp, parameters=[OPTIONAL_PROJECT_HEADER])
    vnfpkgm.blp.before_request(vnfpkgm.authenticate)
    api.register_blueprint(vnfpkgm.blp, parameters=[OPTIONAL_PROJECT_HEADER])
    problems.register(app)

    @app.teardown_request
    def _drop_unused_uploads(_exc):
        request.discard_uploads(keep=g.get("kept_upload"))

    @app.get("/health")
    def health():
        return {"status": "ok", "mode": "embedded" if settings.embedded else "external"}

    return app
