"""/api/v1/drivers: the VIM driver plugins installed, and whether each loads."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo import drivers
from nfvo.api.schemas import DriverOut
from nfvo.errors import NfvoError

blp = Blueprint("drivers", __name__, url_prefix="/api/v1/drivers", description="VIM driver plugins")


def _describe(name, ep) -> dict:
    info = {"type": name, "entryPoint": ep.value, "distribution": ep.dist.name if ep.dist else None}
    try:
        cls = drivers.load(name)
    except NfvoError as exc:
        return {**info, "status": "broken", "error": exc.detail, "capabilities": []}
    return {**info, "status": "ok", "error": None, "capabilities": sorted(cls.capabilities)}


@blp.route("/", strict_slashes=False)
class Drivers(MethodView):
    @blp.response(200, DriverOut(many=True))
    def get(self):
        return [_describe(name, ep) for name, ep in sorted(drivers.installed().items())]
