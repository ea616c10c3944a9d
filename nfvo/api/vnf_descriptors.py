"""/api/v1/vnf-descriptors: the onboarded VNFDs."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.security import ctx, project_id
from nfvo.services import packages

blp = Blueprint("vnf-descriptors", __name__, url_prefix="/api/v1/vnf-descriptors", description="VNF descriptors")


@blp.route("/", strict_slashes=False)
class VnfDescriptors(MethodView):
    @blp.response(200, description="VNFD JSON documents")
    def get(self):
        return jsonify([v.body for v in packages.list_vnfds(ctx(), project_id())])


@blp.route("/<vnfd_id>", strict_slashes=False)
class VnfDescriptorById(MethodView):
    @blp.response(200, description="The VNFD JSON")
    def get(self, vnfd_id):
        return jsonify(packages.get_vnfd(ctx(), project_id(), vnfd_id).body)

    @blp.response(204)
    def delete(self, vnfd_id):
        packages.delete_vnfd(ctx(), project_id(), vnfd_id)
