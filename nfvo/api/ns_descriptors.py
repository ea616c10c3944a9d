"""/api/v1/ns-descriptors: network service descriptors that reference VNFDs of the project."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema

from nfvo.api.openapi import DOCUMENT, DOCUMENTS, Text, json_body_doc
from nfvo.api.schemas import json_document
from nfvo.api.security import ctx, project_id
from nfvo.services import nsds

SONATA_NSD = ("a SONATA / 5GTANGO service descriptor (also accepted as JSON): its network_functions name VNFDs "
              "of the project by vnf_vendor, vnf_name and vnf_version (see docs/sonata.md)")

blp = Blueprint("ns-descriptors", __name__, url_prefix="/api/v1/ns-descriptors", description="NS descriptors")


@blp.route("/", strict_slashes=False)
class NsDescriptors(MethodView):
    @blp.response(200, DOCUMENTS, description="NSD JSON documents, oldest first")
    def get(self):
        return jsonify([n.body for n in nsds.list_nsds(ctx(), project_id())])

    @blp.doc(**json_body_doc({"$ref": "#/components/schemas/NsdIn"}, yaml=SONATA_NSD))
    @blp.response(201, DOCUMENT, description="The stored NSD JSON: its id, each vnfd entry as a reference")
    def post(self):
        return jsonify(nsds.create_nsd(ctx(), project_id(), json_document(yaml=True)).body), 201


class NsdMarketDownload(Schema):
    link = Text(required=True, metadata={"description": "http(s) URL of an NSD JSON document"})


@blp.route("/marketdownload", strict_slashes=False)
class NsDescriptorMarketDownload(MethodView):
    @blp.arguments(NsdMarketDownload)
    @blp.response(201, DOCUMENT, description="The stored NSD JSON, as for POST /api/v1/ns-descriptors")
    def post(self, body):
        return jsonify(nsds.download_nsd(ctx(), project_id(), body["link"]).body), 201


@blp.route("/<nsd_id>", strict_slashes=False)
class NsDescriptorById(MethodView):
    @blp.response(200, DOCUMENT, description="The NSD JSON")
    def get(self, nsd_id):
        return jsonify(nsds.get_nsd(ctx(), project_id(), nsd_id).body)

    @blp.doc(**json_body_doc({"$ref": "#/components/schemas/NsdIn"}, yaml=SONATA_NSD))
    @blp.response(200, DOCUMENT, description="The replaced NSD JSON (same id)")
    def put(self, nsd_id):
        return jsonify(nsds.replace_nsd(ctx(), project_id(), nsd_id, json_document(yaml=True)).body)

    @blp.response(204)
    def delete(self, nsd_id):
        nsds.delete_nsd(ctx(), project_id(), nsd_id)
