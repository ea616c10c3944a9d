"""/api/v1/jobs/{id}: how an onboarding is going, and its problem details when it failed."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from nfvo.api.schemas import JobOut
from nfvo.api.security import ctx, project_id
from nfvo.services import packages

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs", description="Onboarding jobs")


@blp.route("/<job_id>", strict_slashes=False)
class JobById(MethodView):
    @blp.response(200, JobOut)
    def get(self, job_id):
        return packages.get_job(ctx(), project_id(), job_id)
