"""/api/v1/vnf-descriptors: the VNFD catalogue (onboarded with packages, or posted as JSON)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.openapi import DOCUMENT, DOCUMENTS, LINK_NEXT, json_body_doc
from nfvo.api.schemas import VnfdQuery, json_document
from nfvo.api.security import ctx, project_id
from nfvo.services import packages

blp = Blueprint("vnf-descriptors", __name__, url_prefix="/api/v1/vnf-descriptors", description="VNF descriptors")


@blp.route("/", strict_slashes=False)
class VnfDescriptors(MethodView):
    @blp.arguments(VnfdQuery, location="query", as_kwargs=True)
    @blp.response(200, DOCUMENTS, headers=LINK_NEXT, description="VNFD JSON documents, oldest first: all of them "
                  "(Open Baton behaviour), or one page when page or size is given, with a Link rel=next header when "
                  "more follow")
    def get(self, page=None, size=None, **filters):
        if page is None and size is None:
            return jsonify([v.body for v in packages.list_vnfds(ctx(), project_id(), **filters)[0]])
        page, size = page or 0, size or packages.DEFAULT_PAGE_SIZE
        rows, more = packages.list_vnfds(ctx(), project_id(), page=page, size=size, **filters)
        answer = jsonify([v.body for v in rows])
        if more:
            args = {**request.args.to_dict(), "page": str(page + 1), "size": str(size)}
            answer.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
        return answer

    @blp.doc(**json_body_doc({"$ref": "#/components/schemas/VnfdIn"}))
    @blp.response(201, DOCUMENT, description="The stored VNFD JSON, with its id")
    def post(self):
        return jsonify(packages.create_vnfd(ctx(), project_id(), json_document()).body), 201


@blp.route("/<vnfd_id>", strict_slashes=False)
class VnfDescriptorById(MethodView):
    @blp.response(200, DOCUMENT, description="The VNFD JSON")
    def get(self, vnfd_id):
        return jsonify(packages.get_vnfd(ctx(), project_id(), vnfd_id).body)

    @blp.doc(**json_body_doc({"$ref": "#/components/schemas/VnfdIn"}))
    @blp.response(200, DOCUMENT, description="The replaced VNFD JSON (same id)")
    def put(self, vnfd_id):
        return jsonify(packages.replace_vnfd(ctx(), project_id(), vnfd_id, json_document()).body)

    @blp.response(204)
    def delete(self, vnfd_id):
        packages.delete_vnfd(ctx(), project_id(), vnfd_id)
