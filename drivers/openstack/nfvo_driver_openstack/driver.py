"""OpenStackDriver: Keystone v3 auth, images on Glance v2, flavours from Nova and networks from Neutron when present."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import openstack.connection
import requests
from nfvo_plugin_sdk import (
    IMPORT_URL,
    UPLOAD_STREAM,
    ChecksumMismatch,
    DriverError,
    Flavor,
    Image,
    ImageNotFound,
    ImageSpec,
    InvalidVimSpec,
    Network,
    Unsupported,
    VimDriver,
    VimSpec,
)

from .errors import (
    ImageImportFailed,
    ImageImportTimedOut,
    ImageNotActive,
    _StreamFailed,
    error_for_status,
    mapped,
    response_message,
)

__version__ = "0.1.0"

CHUNK = 1024 * 1024  # the upload reads, and the download of an imported image, go 1 MiB at a time
PAGE = 500  # images per listing request (Glance's api_limit_max defaults to 1000)

#: Image properties the driver writes.  ``nfvo_sha256`` is the sha256 of the image's bytes;
#: it counts only while ``nfvo_hash_of`` still names Glance's own hash of those bytes.
PROP_SHA256 = "nfvo_sha256"
PROP_HASH_OF = "nfvo_hash_of"
PROP_MIN_CPU = "nfvo_min_cpu"
PROP_CREATED = "nfvo_created_ns"

#: Glance's default ``disk_formats``; a cloud may enable fewer (then Glance answers 400 -> Unsupported).
GLANCE_DISK_FORMATS = frozenset({"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"})
INTERFACES = ("public", "internal", "admin")
IMAGE_ID = re.compile(r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}")
PROJECT_ID = re.compile(r"[0-9a-f]{32}")
JSON_PATCH = "application/openstack-images-v2.1-json-patch"
GONE = ("killed", "deleted", "pending_delete")
#: Requests that may be sent again (the driver's PATCHes set fixed values): up to 3 retries
#: after 0.5, 1 and 2 s on a refused connection or a 500/502/503/504 answer.
IDEMPOTENT = frozenset({"GET", "HEAD", "PATCH", "DELETE"})
RETRIES = {"connect_retries": 3, "connect_retry_delay": 0.5, "status_code_retries": 3,
           "retriable_status_codes": [500, 502, 503, 504], "status_code_retry_delay": 0.5}


class _Capabilities:
    """``capabilities``: on the class, all the driver can offer; on an instance, what this VIM offers.

    ``import_url`` needs a Glance that allows ``web-download``, which only the VIM can say, so
    reading an instance's capabilities asks Glance once (``GET /v2/info/import``) and may raise
    ``VimUnavailable``/``VimAuthFailed`` like any other call.
    """

    def __init__(self, most: frozenset[str]) -> None:
        self.most = most

    def __get__(self, driver: OpenStackDriver | None, owner: type | None = None) -> frozenset[str]:
        if driver is None:
            return self.most
        if "web-download" in driver.import_methods():
            return self.most
        return self.most - {IMPORT_URL}


@dataclass(frozen=True)
class _Settings:
    """What ``__init__`` reads from the VimSpec (see README.md, "VIM registration")."""

    auth_type: str
    auth: dict[str, str]
    region: str | None
    interface: str
    verify: bool | str
    timeout: float
    active_timeout: float
    import_timeout: float


class OpenStackDriver(VimDriver):
    """Images on the Glance v2 of an OpenStack cloud, reached with Keystone v3 credentials.

    Uploads stream 1 MiB chunks straight into ``PUT /v2/images/{id}/file`` while hashing them
    (sha256 for nfvo, and Glance's own ``os_hash_algo``, sha512 by default, plus md5); the
    image counts only once Glance's ``os_hash_value`` equals ours.  The sha256 is stored as
    the image property ``nfvo_sha256`` so ``find_images(sha256=...)`` is a server-side query.
    ``import_image`` uses Glance's interoperable import (``web-download``) when the cloud
    allows it.  Flavours and networks come from Nova and Neutron when the catalog has them.
    """

    capabilities = _Capabilities(frozenset({UPLOAD_STREAM, IMPORT_URL}))  # type: ignore[assignment]
    #: Links Glance's web-download fetches itself (with ``import_url``); others nfvo streams.
    import_schemes = frozenset({"http", "https"})
    disk_formats = GLANCE_DISK_FORMATS

    def __init__(self, vim: VimSpec) -> None:
        """Read and check the spec; no network I/O (the connection is made on first use).

        Raises ``InvalidVimSpec`` for a missing or malformed field.
        """
        super().__init__(vim)
        self._settings = _settings(vim)
        self.where = f"OpenStack at {vim.auth_url}"
        self._connection: openstack.connection.Connection | None = None
        self._import_methods: frozenset[str] | None = None

    # -- connection ---------------------------------------------------------------------
    def check_connection(self) -> None:
        """Log in to Keystone and list one image on Glance.  Idempotent, read-only.

        Raises ``VimUnavailable``, ``VimAuthFailed``, ``InvalidVimSpec`` (no image service
        for the region/interface, or the auth URL is no Keystone v3).
        """
        with mapped(self.where):
            self._conn().authorize()
        self._call("GET", "/images", params={"limit": 1}, what="listing images")

    def close(self) -> None:
        """Close the HTTP session.  Idempotent; never raises."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def import_methods(self) -> frozenset[str]:
        """Glance's enabled import methods (``GET /v2/info/import``), asked once per instance."""
        if self._import_methods is None:
            response = self._call("GET", "/info/import", ok=(200, 404), what="reading the import methods")
            methods: Any = []
            if response.status_code == 200:
                methods = ((response.json() or {}).get("import-methods") or {}).get("value") or []
            self._import_methods = frozenset(str(m) for m in methods)
        return self._import_methods

    # -- images: reading ----------------------------------------------------------------
    def list_images(self) -> list[Image]:
        """Every image the project sees (Glance's default listing), oldest first.  Idempotent, read-only."""
        return self._to_images(self._list({}))

    def find_images(
        self, *, id: str | None = None, name: str | None = None, sha256: str | None = None
    ) -> list[Image]:
        """Images matching every criterion, queried on Glance; several images may share a name.

        An id is one ``GET /v2/images/{id}``; a sha256 is a property filter on ``nfvo_sha256``
        (plus ``os_hash_value`` for a Glance that hashes with sha256).  Idempotent, read-only.
        """
        return [self._to_image(r) for r in self._find_raw(id=id, name=name, sha256=sha256)]

    def get_image(self, image_id: str) -> Image:
        """The image with this id.  Raises ``ImageNotFound``.  Idempotent, read-only."""
        raw = self._get_raw(image_id)
        if raw is None:
            raise ImageNotFound(f"{self.where}: no image {image_id!r}", image_id=image_id)
        return self._to_image(raw)

    # -- images: writing ----------------------------------------------------------------
    def upload_image(
        self, spec: ImageSpec, stream: BinaryIO, *, size: int | None = None, sha256: str | None = None
    ) -> Image:
        """Create the image record, then stream ``stream`` into it, hashing on the way.

        Reads 1 MiB at a time until EOF and hands each chunk to the HTTP connection, so
        memory stays flat.  The image is kept only when Glance's ``os_hash_value`` (or its
        md5 ``checksum`` for an unusual ``os_hash_algo``) equals ours, when ``size`` and
        ``sha256`` match what was read, and when it is ``active``; otherwise it is deleted
        and ``ChecksumMismatch``/``ImageNotActive`` raised.  Idempotent: when an active
        image with this name and sha256 exists, it is returned - without reading the stream
        when ``sha256`` is given, after deleting the new copy otherwise.  Errors raised by
        ``stream.read`` pass through unchanged.  Raises ``Unsupported`` (format refused or
        data not of that format), ``DriverConflict`` (quota), ``VimUnavailable``,
        ``VimAuthFailed``.
        """
        if sha256 is not None:
            existing = self._same_content(spec.name, sha256.lower())
            if existing is not None:
                return self._to_image(existing)
        image_id = self._create_record(spec)
        try:
            body = _HashingBody.of(stream, size)
            try:
                with mapped(self.where):
                    response = self._glance().put(
                        f"/images/{image_id}/file", data=body, raise_exc=False, connect_retries=0,
                        headers={"Content-Type": "application/octet-stream", "Accept": "application/json"},
                    )
            except _StreamFailed:
                raise body.error from None  # the caller's stream, or a size mismatch
            if body.error is not None:  # the server answered before the whole stream was read
                raise body.error
            if response.status_code not in (201, 204):
                raise error_for_status(response.status_code, response_message(response),
                                       what=f"{self.where}: uploading image {spec.name!r}", image_id=None)
            raw = self._wait_active(image_id, self._settings.active_timeout, what="upload")
            return self._finish(raw, body.hashes, expected_sha256=sha256, source="the uploaded bytes")
        except BaseException:
            self._discard(image_id)
            raise

    def import_image(self, spec: ImageSpec, url: str, *, sha256: str | None = None) -> Image:
        """Make Glance fetch ``url`` itself (interoperable import, method ``web-download``).

        Needs a Glance offering ``web-download`` (see ``capabilities``), else ``Unsupported``.
        Polls the image (and its import task) until it is ``active``, for at most the
        ``importTimeout`` property; then streams the image back once to compute its sha256,
        checked against Glance's own hash.  A refused or failed import raises
        ``ImageImportFailed``, a slow one ``ImageImportTimedOut`` (retryable); neither leaves
        an image behind.  Same idempotency and checksum rules as :meth:`upload_image`.
        """
        if "web-download" not in self.import_methods():
            offered = ", ".join(sorted(self.import_methods())) or "none"
            raise Unsupported(f"{self.where}: Glance does not allow web-download imports (import methods: {offered})")
        if sha256 is not None:
            existing = self._same_content(spec.name, sha256.lower())
            if existing is not None:
                return self._to_image(existing)
        image_id = self._create_record(spec)
        try:
            response = self._call(
                "POST", f"/images/{image_id}/import", ok=(202, 400, 409, 415),
                json={"method": {"name": "web-download", "uri": url}}, what=f"importing {url}",
            )
            if response.status_code != 202:
                raise ImageImportFailed(f"{self.where}: Glance refused to import {url}: "
                                        f"HTTP {response.status_code} {response_message(response)}")
            raw = self._wait_imported(image_id, url)
            hashes = self._read_back(image_id)
            return self._finish(raw, hashes, expected_sha256=sha256, source=f"the image imported from {url}")
        except BaseException:
            self._discard(image_id)
            raise

    def delete_image(self, image_id: str) -> None:
        """Delete the image.  Idempotent: an unknown or malformed id is not an error.

        Raises ``DriverConflict`` (a protected image), ``VimUnavailable``, ``VimAuthFailed``.
        """
        if not IMAGE_ID.fullmatch(image_id):
            return
        self._call("DELETE", f"/images/{image_id}", ok=(204, 404), what=f"deleting image {image_id}")

    # -- other resources ----------------------------------------------------------------
    def list_flavors(self) -> list[Flavor]:
        """Nova's flavours; ``[]`` when the catalog has no compute service.  Idempotent, read-only."""
        if not self._has_service("compute"):
            return []
        with mapped(self.where):
            return [Flavor(id=str(f.id), name=str(f.name), vcpus=int(f.vcpus or 0), ram=int(f.ram or 0),
                           disk=int(f.disk or 0))
                    for f in self._conn().compute.flavors(details=True)]

    def list_networks(self) -> list[Network]:
        """Neutron's networks; ``[]`` when the catalog has no network service.  Idempotent, read-only."""
        if not self._has_service("network"):
            return []
        with mapped(self.where):
            return [Network(id=str(n.id), name=str(n.name or n.id), external=bool(n.is_router_external))
                    for n in self._conn().network.networks()]

    # -- internals: connection ----------------------------------------------------------
    def _conn(self) -> openstack.connection.Connection:
        if self._connection is None:
            s = self._settings
            with mapped(self.where):
                self._connection = openstack.connection.Connection(
                    auth_type=s.auth_type, auth=dict(s.auth), region_name=s.region, interface=s.interface,
                    verify=s.verify, api_timeout=s.timeout, identity_api_version="3", image_api_version="2",
                    app_name="nfvo", app_version=__version__,
                )
        return self._connection

    def _glance(self):
        with mapped(self.where):
            return self._conn().image

    def _has_service(self, service_type: str) -> bool:
        with mapped(self.where):
            return bool(self._conn().endpoint_for(service_type))

    def _call(self, method: str, path: str, *, what: str, ok: tuple[int, ...] = (200,),
              image_id: str | None = None, headers: Mapping[str, str] | None = None,
              **kwargs: Any) -> requests.Response:
        """One Glance request; an answer not in ``ok`` raises the matching SDK error."""
        glance = self._glance()
        if method in IDEMPOTENT:  # a transient failure of the cloud is worth a few bounded retries
            kwargs = {**RETRIES, **kwargs}
        with mapped(self.where):
            response = glance.request(path, method, raise_exc=False,
                                      headers={"Accept": "application/json", **(headers or {})}, **kwargs)
        if response.status_code not in ok:
            raise error_for_status(response.status_code, response_message(response), what=f"{self.where}: {what}",
                                   image_id=image_id)
        return response

    # -- internals: images --------------------------------------------------------------
    def _get_raw(self, image_id: str) -> dict | None:
        if not IMAGE_ID.fullmatch(image_id):
            return None
        response = self._call("GET", f"/images/{image_id}", ok=(200, 404), what=f"reading image {image_id}")
        return response.json() if response.status_code == 200 else None

    def _list(self, query: Mapping[str, str]) -> list[dict]:
        """Every image matching ``query``, following Glance's pages (by marker)."""
        images: list[dict] = []
        params: dict[str, Any] = {**query, "limit": PAGE, "sort": "created_at:asc,id:asc"}
        while True:
            body = self._call("GET", "/images", params=params, what="listing images").json()
            page = body.get("images") or []
            images.extend(page)
            if not page or not body.get("next"):
                return images
            params["marker"] = page[-1]["id"]

    def _find_raw(self, *, id: str | None, name: str | None, sha256: str | None) -> list[dict]:
        """Glance's records matching every criterion, oldest first (see ``_age``)."""
        if id is not None:
            raw = self._get_raw(id)
            found = [raw] if raw is not None else []
        else:
            query: dict[str, str] = {}
            if name is not None and not name.startswith("in:"):  # "in:" is Glance's list operator
                query["name"] = name
            if sha256 is not None:
                sha256 = sha256.lower()
                found = self._list({**query, PROP_SHA256: sha256})
                known = {r["id"] for r in found}
                found += [r for r in self._list({**query, "os_hash_value": sha256}) if r["id"] not in known]
            else:
                found = self._list(query)
        return sorted((r for r in found
                       if (name is None or r.get("name") == name) and (sha256 is None or _sha256_of(r) == sha256)),
                      key=_age)

    def _to_images(self, raws: list[dict]) -> list[Image]:
        return [self._to_image(r) for r in sorted(raws, key=_age)]

    @staticmethod
    def _to_image(raw: dict) -> Image:
        return Image(
            id=raw["id"],
            name=raw.get("name") or "",
            disk_format=raw.get("disk_format") or "",
            container_format=raw.get("container_format") or "",
            size=raw.get("size"),
            sha256=_sha256_of(raw),
            min_cpu=_int(raw.get(PROP_MIN_CPU)),
            min_disk=_int(raw.get("min_disk")),
            min_ram=_int(raw.get("min_ram")),
            is_public=raw.get("visibility") == "public",
            status=raw.get("status") or "",
            created_at=raw.get("created_at"),
        )

    def _same_content(self, name: str, sha256: str) -> dict | None:
        """The oldest active image with this name and sha256, if any (Glance's record)."""
        same = [r for r in self._find_raw(id=None, name=name, sha256=sha256) if r.get("status") == "active"]
        return same[0] if same else None

    def _create_record(self, spec: ImageSpec) -> str:
        body = {
            "name": spec.name,
            "disk_format": spec.disk_format.lower(),
            "container_format": spec.container_format.lower(),
            "min_disk": int(spec.min_disk),
            "min_ram": int(spec.min_ram),
            "visibility": "public" if spec.is_public else "private",
            PROP_MIN_CPU: str(int(spec.min_cpu)),
            PROP_CREATED: str(time.time_ns()),  # Glance's created_at has whole seconds only
        }
        response = self._call("POST", "/images", json=body, ok=(201, 400), what=f"creating image {spec.name!r}")
        if response.status_code == 400:  # the schema refused a field: almost always the formats
            raise Unsupported(f"{self.where}: Glance refused image {spec.name!r} "
                              f"({spec.disk_format}/{spec.container_format}): {response_message(response)}")
        return response.json()["id"]

    def _discard(self, image_id: str) -> None:
        """Best-effort removal of an image this call created and will not hand out."""
        with contextlib.suppress(DriverError):
            self.delete_image(image_id)

    def _wait_active(self, image_id: str, timeout: float, *, what: str) -> dict:
        deadline, pause = time.monotonic() + timeout, 0.05
        while True:
            raw = self._get_raw(image_id)
            if raw is None or raw.get("status") in GONE:
                state = raw.get("status") if raw else "gone"
                raise ImageNotActive(f"{self.where}: image {image_id} is {state} after the {what}")
            if raw.get("status") == "active":
                return raw
            if time.monotonic() > deadline:
                raise ImageNotActive(f"{self.where}: image {image_id} is still {raw.get('status')} "
                                     f"{timeout:.0f} s after the {what}")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _wait_imported(self, image_id: str, url: str) -> dict:
        """Polls until the import is active, failed, or out of time (openstacksdk would not tell)."""
        timeout = self._settings.import_timeout
        deadline, pause = time.monotonic() + timeout, 0.1
        while True:
            raw = self._get_raw(image_id)
            status = raw.get("status") if raw else "gone"
            if status == "active":
                return raw
            if status in GONE:
                raise ImageImportFailed(f"{self.where}: the import of {url} ended with image {image_id} {status}")
            task = self._import_task(image_id, (raw or {}).get("os_glance_import_task"))
            if task and task.get("status") == "failure":
                raise ImageImportFailed(f"{self.where}: Glance could not import {url}: "
                                        f"{task.get('message') or 'the import task failed'} (task {task.get('id')})")
            failed_stores = (raw or {}).get("os_glance_failed_import")
            if failed_stores:
                raise ImageImportFailed(f"{self.where}: Glance could not import {url} into store(s) {failed_stores}")
            if time.monotonic() > deadline:
                raise ImageImportTimedOut(f"{self.where}: the import of {url} did not finish in {timeout:.0f} s "
                                          f"(image {image_id} still {status}); see the property 'importTimeout'")
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)

    def _import_task(self, image_id: str, task_id: str | None) -> dict | None:
        """The image's import task (``GET /v2/images/{id}/tasks``, Glance >= Ussuri), newest if unnamed."""
        response = self._call("GET", f"/images/{image_id}/tasks", ok=(200, 403, 404), what="reading import tasks")
        if response.status_code != 200:
            return None
        tasks = response.json().get("tasks") or []
        if task_id:
            tasks = [t for t in tasks if t.get("id") == task_id]
        return max(tasks, key=lambda t: t.get("created_at") or "", default=None)

    def _read_back(self, image_id: str) -> _Hashes:
        """Streams an image's data from Glance, hashing it (to learn the sha256 of an import)."""
        glance = self._glance()
        hashes = _Hashes()
        with mapped(self.where):
            response = glance.get(f"/images/{image_id}/file", stream=True, raise_exc=False, **RETRIES)
            try:
                if response.status_code != 200:
                    raise error_for_status(response.status_code, response_message(response),
                                           what=f"{self.where}: reading image {image_id}", image_id=image_id)
                for chunk in response.iter_content(CHUNK):
                    hashes.update(chunk)
            finally:
                response.close()
        return hashes

    def _finish(self, raw: dict, hashes: _Hashes, *, expected_sha256: str | None, source: str) -> Image:
        """Checks Glance's hash against ours, records the sha256, and keeps one image per name and content."""
        image_id = raw["id"]
        mismatch = hashes.compare(raw)
        if mismatch is not None:
            kind, theirs, ours = mismatch
            raise ChecksumMismatch(f"{self.where}: Glance stored other bytes than {source}: its {kind} is "
                                   f"{theirs}, ours {ours}", expected=ours, actual=theirs)
        digest = hashes.sha256.hexdigest()
        if expected_sha256 is not None and expected_sha256.lower() != digest:
            raise ChecksumMismatch(expected=expected_sha256.lower(), actual=digest)
        patch = [{"op": "add", "path": f"/{PROP_SHA256}", "value": digest},
                 {"op": "add", "path": f"/{PROP_HASH_OF}", "value": _glance_hash(raw)}]
        response = self._call("PATCH", f"/images/{image_id}", json=patch, headers={"Content-Type": JSON_PATCH},
                              what=f"recording the sha256 of image {image_id}", image_id=image_id)
        image = self._to_image(response.json())
        if image.sha256 is None:  # Glance reports no hash at all: our hash of what it accepted is all there is
            image = Image(**{**image.to_dict(), "sha256": digest})
        # One image per name and content: the oldest wins.  Every upload orders the same set the same
        # way (_age), so concurrent uploads of the same image never all delete their copies.
        same = self._same_content(image.name, digest)
        if same is not None and same["id"] != image_id:
            self._discard(image_id)
            return self._to_image(same)
        return image


# --- hashing while streaming ------------------------------------------------------------


class _Hashes:
    """sha256 (for nfvo), sha512 (Glance's default ``os_hash_algo``) and md5 (Glance's ``checksum``)."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.sha512 = hashlib.sha512()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.length = 0

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        self.sha512.update(chunk)
        self.md5.update(chunk)
        self.length += len(chunk)

    def compare(self, raw: dict) -> tuple[str, str, str] | None:
        """None when Glance's hash of the image equals ours, else (what, Glance's value, ours).

        Glance's ``os_hash_value`` when we computed its ``os_hash_algo``; else its md5
        ``checksum``; else (a Glance that hashes nothing) the size.
        """
        algo, value = (raw.get("os_hash_algo") or "").lower(), (raw.get("os_hash_value") or "").lower()
        ours = {"sha256": self.sha256, "sha512": self.sha512, "md5": self.md5}.get(algo)
        if ours is not None and value:
            return None if ours.hexdigest() == value else (algo, value, ours.hexdigest())
        if raw.get("checksum"):
            checksum = str(raw["checksum"]).lower()
            return None if self.md5.hexdigest() == checksum else ("md5", checksum, self.md5.hexdigest())
        size = raw.get("size")
        return None if size in (None, self.length) else ("size", str(size), str(self.length))


class _HashingBody:
    """The upload body: iterates the caller's stream in 1 MiB reads, hashing and counting.

    requests sends an iterable body chunk by chunk; with a known ``size`` it also has
    ``__len__`` so the request carries a Content-Length instead of chunked encoding.  A
    failing stream (or one longer/shorter than ``size``) stops the request: the error is
    kept in ``error`` and ``_StreamFailed`` raised through the HTTP stack.
    """

    def __init__(self, stream: BinaryIO, size: int | None) -> None:
        self._stream, self._size = stream, size
        self.hashes = _Hashes()
        self.error: BaseException | None = None

    @staticmethod
    def of(stream: BinaryIO, size: int | None) -> _HashingBody:
        return _HashingBody(stream, None) if size is None else _SizedHashingBody(stream, size)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._stream.read(CHUNK)
            except BaseException as exc:  # the caller's stream: its errors are the caller's
                self.error = exc
                raise _StreamFailed() from exc
            if chunk is None:
                self.error = DriverError("the image stream is non-blocking and had no data")
                raise _StreamFailed()
            if not chunk:
                break
            self.hashes.update(chunk)
            if self._size is not None and self.hashes.length > self._size:
                self._fail_size()
            yield bytes(chunk)
        if self._size is not None and self.hashes.length != self._size:
            self._fail_size()

    def _fail_size(self) -> None:
        self.error = ChecksumMismatch(f"expected {self._size} bytes, the stream has "
                                      f"{'more' if self.hashes.length > (self._size or 0) else self.hashes.length}")
        raise _StreamFailed()


class _SizedHashingBody(_HashingBody):
    def __len__(self) -> int:
        return int(self._size or 0)


# --- reading the VimSpec ----------------------------------------------------------------


def _settings(vim: VimSpec) -> _Settings:
    extra = vim.extra or {}
    problems: list[str] = []
    url = (vim.auth_url or "").strip()
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        problems.append(f"authUrl must be the Keystone v3 URL (http(s)://host:5000/v3), not {url!r}")

    def text(key: str, default: str | None = None) -> str | None:
        value = extra.get(key)
        return default if value is None or str(value).strip() == "" else str(value).strip()

    auth: dict[str, str] = {"auth_url": url}
    app_id, app_secret = text("applicationCredentialId"), text("applicationCredentialSecret")
    if app_id or app_secret:
        if not (app_id and app_secret):
            problems.append("an application credential needs both applicationCredentialId (property) and "
                            "applicationCredentialSecret (secret)")
        auth_type = "v3applicationcredential"
        auth.update(application_credential_id=app_id or "", application_credential_secret=app_secret or "")
    else:
        auth_type = "password"
        if not vim.username or not vim.password:
            problems.append("username and password are required (or an application credential)")
        if not vim.tenant:
            problems.append("tenant (the project name or id) is required")
        auth.update(username=vim.username or "", password=vim.password or "")
        if vim.tenant and PROJECT_ID.fullmatch(vim.tenant):
            auth["project_id"] = vim.tenant
        else:
            auth["project_name"] = vim.tenant or ""
            _domain(auth, "project", text("projectDomainId"), text("projectDomain", "Default"))
        _domain(auth, "user", text("userDomainId"), text("userDomain", "Default"))

    interface = (text("interface", "public") or "public").lower()
    if interface not in INTERFACES:
        problems.append(f"interface must be one of {', '.join(INTERFACES)}, not {interface!r}")
    verify_text = text("verify", "true") or "true"
    verify: bool | str
    if verify_text.lower() in ("true", "yes", "1", "on"):
        verify = True
    elif verify_text.lower() in ("false", "no", "0", "off"):
        verify = False
    else:
        verify = verify_text  # a CA bundle path

    def seconds(key: str, default: float) -> float:
        value = text(key)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            number = -1
        if not 0 < number <= 86400:
            problems.append(f"{key} must be a number of seconds (0 < n <= 86400), not {value!r}")
        return number

    settings = _Settings(
        auth_type=auth_type, auth=auth, region=text("regionName"), interface=interface, verify=verify,
        timeout=seconds("timeout", 60), active_timeout=seconds("activeTimeout", 120),
        import_timeout=seconds("importTimeout", 900),
    )
    if problems:
        raise InvalidVimSpec(f"VIM {vim.name!r}: " + "; ".join(problems))
    return settings


def _domain(auth: dict[str, str], who: str, domain_id: str | None, domain_name: str | None) -> None:
    if domain_id:
        auth[f"{who}_domain_id"] = domain_id
    elif domain_name:
        auth[f"{who}_domain_name"] = domain_name


def _glance_hash(raw: dict) -> str:
    """Glance's own hash of the image data, ``<algo>:<hex>`` (``md5:<checksum>`` for an old Glance), or ""."""
    if raw.get("os_hash_algo") and raw.get("os_hash_value"):
        return f"{raw['os_hash_algo']}:{raw['os_hash_value']}"
    return f"md5:{raw['checksum']}" if raw.get("checksum") else ""


def _sha256_of(raw: dict) -> str | None:
    """The sha256 of the image's bytes, when known: Glance's own hash if it uses sha256, else the
    ``nfvo_sha256`` property while ``nfvo_hash_of`` still names Glance's hash of the data."""
    if raw.get("os_hash_algo") == "sha256" and raw.get("os_hash_value"):
        return str(raw["os_hash_value"]).lower()
    recorded, bound = raw.get(PROP_SHA256), _glance_hash(raw)
    if recorded and bound and raw.get(PROP_HASH_OF) == bound:
        return str(recorded).lower()
    return None


def _age(raw: dict) -> tuple[int, str]:
    """Creation order: ``nfvo_created_ns`` (ns) when the driver made the image, else Glance's created_at."""
    created = _int(raw.get(PROP_CREATED))
    if not created and raw.get("created_at"):
        with contextlib.suppress(ValueError):
            created = int(datetime.fromisoformat(str(raw["created_at"]).replace("Z", "+00:00")).timestamp()) * 10**9
    return created, str(raw.get("id"))


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
