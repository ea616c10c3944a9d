"""A small HTTP client for a running nfvo, used by the ``nfvo`` client commands."""

from __future__ import annotations

import os
import time
from pathlib import Path

import requests
from requests_toolbelt import MultipartEncoder

from nfvo.config import ClientSettings


class ClientError(Exception):
    """The service answered with a problem (``problem`` holds it), or could not be reached;
    ``package_id`` names the package a failed onboarding left behind, if any."""

    def __init__(self, message: str, problem: dict | None = None, package_id: str | None = None):
        super().__init__(message)
        self.problem = problem or {}
        self.package_id = package_id


def problem_text(problem: dict) -> str:
    """A problem document as lines: title and detail, then each error with file:line and pointer."""
    lines = [f"{problem.get('title')}: {problem.get('detail')}"]
    for e in problem.get("errors", []):
        where = ":".join(str(e[k]) for k in ("file", "line") if e.get(k) is not None)
        lines.append(f"  {where} {e.get('pointer', '')} {e['message']}".rstrip())
    return "\n".join(lines)


def _validation(strict: bool) -> dict:
    return {"validation": "strict"} if strict else {}


class Client:
    def __init__(self, settings: ClientSettings, timeout: float = 3600):
        self.settings = settings
        self.timeout = timeout
        self._http = requests.Session()
        self._token: str | None = None

    def wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if self._http.get(f"{self.settings.url}/health", timeout=2).ok:
                    return
            except (requests.ConnectionError, requests.Timeout):  # accepting, but still loading the app
                pass
            if time.monotonic() > deadline:
                raise ClientError(f"nfvo did not answer at {self.settings.url} within {seconds:.0f} s")
            time.sleep(0.2)

    def _headers(self) -> dict:
        if self._token is None:
            answer = self._http.post(
                f"{self.settings.url}/oauth/token", auth=("openbatonOSClient", "secret"), timeout=30,
                data={"grant_type": "password", "username": self.settings.username, "password": self.settings.password},
            )
            self._token = self._check(answer)["access_token"]
        return {"Authorization": f"Bearer {self._token}", "project-id": self.settings.project}

    @staticmethod
    def _check(answer: requests.Response):
        if answer.status_code >= 400:
            try:
                problem = answer.json()
            except ValueError:
                raise ClientError(f"HTTP {answer.status_code}: {answer.text[:500]}") from None
            raise ClientError(problem_text(problem), problem)
        return answer.json() if answer.content else None

    def get(self, path: str):
        return self._check(self._http.get(f"{self.settings.url}{path}", headers=self._headers(), timeout=60))

    def upload_package(self, path: Path, *, strict: bool = False) -> dict:
        """Onboards the tar at ``path`` and returns the VNFD (with ``warnings`` when there are any);
        the file is streamed, not read into memory. ``strict``: warnings refuse the package."""
        with open(path, "rb") as f:
            body = MultipartEncoder({"file": (os.path.basename(path), f, "application/x-tar")})
            answer = self._http.post(f"{self.settings.url}/api/v1/vnf-packages", data=body, timeout=self.timeout,
                                     params=_validation(strict),
                                     headers={**self._headers(), "Content-Type": body.content_type})
        return self._check(answer)

    def onboard_csar(self, path: Path, poll: float = 0.2, *, strict: bool = False) -> dict:
        """Onboards the CSAR zip at ``path`` through /vnfpkgm/v1 (create, stream the content, wait)
        and returns its VnfPkgInfo (with its ``warnings``). ClientError when it fails after the
        package was created: it then names the package (``package_id``), which stays (in ERROR once
        onboarding failed). ``strict``: warnings refuse the package."""
        base = f"{self.settings.url}/vnfpkgm/v1/vnf_packages"
        package = self._check(self._http.post(base, json={"userDefinedData": {}}, headers=self._headers(), timeout=60))
        try:
            with open(path, "rb") as f:
                disposition = f'attachment; filename="{os.path.basename(path)}"'
                self._check(self._http.put(f"{base}/{package['id']}/package_content", data=f, timeout=self.timeout,
                                           params=_validation(strict),
                                           headers={**self._headers(), "Content-Type": "application/zip",
                                                    "Content-Disposition": disposition}))
        except ClientError as exc:
            exc.package_id = package["id"]
            raise
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            info = self._check(self._http.get(f"{base}/{package['id']}", params={"all_fields": ""},
                                              headers=self._headers(), timeout=60))
            if info["onboardingState"] == "ONBOARDED":
                return info
            if info["onboardingState"] == "ERROR":
                problem = info.get("onboardingFailureDetails") or {}
                raise ClientError(problem_text(problem), problem, package_id=package["id"])
            time.sleep(poll)
        raise ClientError(f"package {package['id']} is still onboarding after {self.timeout:.0f} s")

    def day0(self, package_id: str, payload: dict, *, iso: bool = False) -> dict | bytes:
        """The day-0 files of one deployment of an onboarded package: the answer of POST
        /api/v1/vnf-packages/{id}/day0 (``{"profile", "files"}``), or with ``iso`` the config drive's bytes."""
        accept = "application/x-iso9660-image" if iso else "application/json"
        answer = self._http.post(f"{self.settings.url}/api/v1/vnf-packages/{package_id}/day0", json=payload,
                                 headers={**self._headers(), "Accept": accept}, timeout=120)
        if iso and answer.status_code == 200:
            return answer.content
        return self._check(answer)

    def add_image(self, path: Path, fields: dict) -> dict:
        """Adds the image (or OVA) at ``path`` to the catalogue with ``fields`` (form fields of
        POST /api/v1/images); the file is streamed, not read into memory."""
        with open(path, "rb") as f:
            body = MultipartEncoder({"file": (os.path.basename(path), f, "application/octet-stream"),
                                     **{k: str(v) for k, v in fields.items()}})
            answer = self._http.post(f"{self.settings.url}/api/v1/images", data=body, timeout=self.timeout,
                                     headers={**self._headers(), "Content-Type": body.content_type})
        return self._check(answer)

    def post_json(self, path: str, body):
        return self._check(self._http.post(f"{self.settings.url}{path}", json=body, headers=self._headers(),
                                           timeout=self.timeout))

    def wait_job(self, job_id: str, poll: float = 0.2) -> dict:
        """The job once it succeeded or failed (ClientError when it is still running after the timeout)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            job = self.get(f"/api/v1/jobs/{job_id}")
            if job["state"] in ("succeeded", "failed"):
                return job
            time.sleep(poll)
        raise ClientError(f"job {job_id} is still running after {self.timeout:.0f} s")

    def download(self, path: str, out: Path, params: dict | None = None) -> int:
        """Streams the answer of GET ``path`` into the file ``out``; returns its size."""
        with self._http.get(f"{self.settings.url}{path}", headers=self._headers(), params=params, stream=True,
                            timeout=self.timeout) as answer:
            if answer.status_code >= 400:
                self._check(answer)
            size = 0
            with open(out, "wb") as f:
                for chunk in answer.iter_content(1 << 20):
                    f.write(chunk)
                    size += len(chunk)
        return size

    def delete(self, path: str) -> None:
        self._check(self._http.delete(f"{self.settings.url}{path}", headers=self._headers(), timeout=60))

