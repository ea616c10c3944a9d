"""/api/v1/datacenters: VIM instances, checked and refreshed through their driver."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.schemas import ImageOut, VimInstanceIn, VimInstanceOut, VimStateOut
from nfvo.api.security import ctx, project_id
from nfvo.services import vims

blp = Blueprint("datacenters", __name__, url_prefix="/api/v1/datacenters", description="VIM instances")


class _WithState:
    """A VIM instance row plus the images, flavours and networks of a refresh, for VimStateOut."""

    def __init__(self, vim, state: dict):
        self._vim, self.images, self.flavours, self.networks = vim, state["images"], state["flavours"], state["networks"]

    def __getattr__(self, name):
        return getattr(self._vim, name)


@blp.route("/", strict_slashes=False)
class Datacenters(MethodView):
    @blp.response(200, VimInstanceOut(many=True))
    def get(self):
        return vims.list_(ctx(), project_id())

    @blp.arguments(VimInstanceIn)
    @blp.response(201, VimStateOut, description="The VIM instance, with the images, flavours and networks its "
                  "driver reported")
    def post(self, data):
        vim, state = vims.register(ctx(), project_id(), data, system_admin=g.principal.is_admin)
        return _WithState(vim, state)


@blp.route("/<vim_id>", strict_slashes=False)
class DatacenterById(MethodView):
    @blp.response(200, VimInstanceOut)
    def get(self, vim_id):
        return vims.get(ctx(), project_id(), vim_id)

    @blp.response(204)
    def delete(self, vim_id):
        vims.delete(ctx(), project_id(), vim_id)


@blp.route("/<vim_id>/refresh", strict_slashes=False)
class DatacenterRefresh(MethodView):
    @blp.response(200, VimStateOut, description="The VIM instance with fresh images, flavours and networks")
    def get(self, vim_id):
        vim = vims.get(ctx(), project_id(), vim_id)
        return _WithState(vim, vims.refresh(ctx(), vim))


@blp.route("/<vim_id>/images", strict_slashes=False)
class DatacenterImages(MethodView):
    @blp.response(200, ImageOut(many=True))
    def get(self, vim_id):
        return vims.images(ctx(), project_id(), vim_id)
