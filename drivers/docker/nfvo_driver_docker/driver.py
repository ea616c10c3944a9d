"""The Docker VIM driver: the VIM is a Docker Engine, its images are Docker images."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import docker
import docker.errors
import requests
from nfvo_plugin_sdk import (
    IMPORT_URL,
    UPLOAD_STREAM,
    ChecksumMismatch,
    DriverConflict,
    DriverError,
    Image,
    ImageSpec,
    InvalidVimSpec,
    Network,
    Unsupported,
    VimAuthFailed,
    VimDriver,
    VimSpec,
    VimUnavailable,
)

from .reference import (
    DOCKER_ID,
    IMAGE_ID,
    RECORD_REPOSITORY,
    Record,
    Reference,
    familiar,
    image_key,
    parse_link,
    parse_reference,
)
from .settings import Settings
from .tarball import NotAnImage, Source, load_body

USER_AGENT = "nfvo-driver-docker/0.1"
MINIMUM_API_VERSION = "1.24"  # Docker 1.12; the client then speaks the engine's own version
#: How images nfvo did not create (``docker pull`` by someone else) are reported.
NATIVE_FORMATS = ("raw", "docker")


class ImportFailed(DriverError):
    """The engine could not pull the image from its registry; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass
class _Entry:
    """One image as nfvo sees it: a record nfvo wrote, or a plain tag on a Docker image."""

    id: str
    docker_id: str
    name: str
    created_at: str | None
    record: Record | None = None
    record_tags: list[str] = field(default_factory=list)

    @property
    def familiar_name(self) -> str:
        return familiar(self.name) or self.name

    def image(self) -> Image:
        r = self.record
        if r is None:
            return Image(id=self.id, name=self.name, disk_format=NATIVE_FORMATS[0], container_format=NATIVE_FORMATS[1],
                         size=None, sha256=None, created_at=self.created_at)
        return Image(id=self.id, name=r.name, disk_format=r.disk_format, container_format=r.container_format,
                     size=r.size, sha256=r.sha256, min_cpu=r.min_cpu, min_disk=r.min_disk, min_ram=r.min_ram,
                     is_public=r.is_public, created_at=self.created_at)


class DockerDriver(VimDriver):
    """A Docker Engine as a VIM (see the README for the registration fields and the image model).

    Images nfvo creates are loaded from ``docker save`` tarballs (``upload_image``) or
    pulled from registries (``import_image``, ``docker://`` links), tagged with the
    image-config name, and recorded by one more tag (``nfvo-image/...``) holding what
    Docker does not keep: the tarball's sha256 and size and the image-config fields.
    The engine is the only state, so any number of nfvo processes can share it.
    """

    capabilities = frozenset({UPLOAD_STREAM, IMPORT_URL})
    #: Link schemes ``import_image`` takes; http(s) links are for nfvo to stream into ``upload_image``.
    import_schemes = frozenset({"docker"})
    disk_formats = None  # Docker ignores image-config formats; they are recorded as given

    def __init__(self, vim: VimSpec) -> None:
        super().__init__(vim)
        self.settings = Settings.from_spec(vim)
        self._client: docker.APIClient | None = None

    # -- connection -------------------------------------------------------------------------
    @property
    def api(self) -> docker.APIClient:
        """The docker SDK's low-level client, made at first use (it asks the engine its API version)."""
        if self._client is None:
            s = self.settings
            tls: docker.tls.TLSConfig | bool = False
            if s.tls:
                try:
                    client_cert = (s.pem_file(s.client_cert), s.pem_file(s.client_key)) if s.client_cert else None
                    ca_cert = s.pem_file(s.ca_cert) if s.ca_cert else None
                except OSError as exc:
                    raise VimUnavailable(f"cannot write the TLS files under {s.data_dir}: {exc.strerror}") from exc
                tls = docker.tls.TLSConfig(client_cert=client_cert, ca_cert=ca_cert, verify=s.tls_verify)

            def client(version: str) -> docker.APIClient:
                made = docker.APIClient(base_url=s.base_url, version=version, timeout=s.timeout, tls=tls,
                                        user_agent=USER_AGENT)
                # The registration's TLS settings win: requests would let REQUESTS_CA_BUNDLE replace the CA,
                # and .netrc or proxy variables of the nfvo process have no business with the engine either.
                made.trust_env = False
                return made

            with self._engine("connecting"):
                probe = client(MINIMUM_API_VERSION)
                try:
                    version = probe.version(api_version=False)["ApiVersion"]
                finally:
                    probe.close()
                self._client = client(version)
        return self._client

    def check_connection(self) -> None:
        """Pings the engine and reads its version.  Idempotent, read-only."""
        with self._engine("checking the connection"):
            self.api.ping()
            self.api.version()

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    @contextlib.contextmanager
    def _engine(self, doing: str) -> Iterator[None]:
        """Turns docker SDK and transport exceptions into the SDK's driver errors."""
        try:
            yield
        except DriverError:
            raise
        except docker.errors.APIError as exc:
            raise self._api_error(exc, doing) from exc
        except (requests.RequestException, docker.errors.DockerException, OSError) as exc:
            raise self._transport_error(exc, doing) from exc

    def _api_error(self, exc: docker.errors.APIError, doing: str) -> DriverError:
        status, text = exc.status_code or 0, _explain(exc)
        if status in (401, 403):
            return VimAuthFailed(f"the Docker engine refused {doing}: {text}")
        if "HTTP request to an HTTPS server" in text:
            return VimAuthFailed(f"the Docker engine at {self.settings.base_url} requires TLS: give its CA and a "
                                 "client certificate (secrets tlsCaCert, tlsCert, tlsKey)")
        if status == 409:
            return DriverConflict(f"the Docker engine refused {doing}: {text}")
        if status >= 500:
            return VimUnavailable(f"the Docker engine failed {doing}: {text}")
        return DriverError(f"the Docker engine refused {doing}: {text}")

    def _transport_error(self, exc: BaseException, doing: str) -> DriverError:
        chain = list(_causes(exc))
        where = self.settings.base_url
        if any(isinstance(e, (ssl.SSLError, requests.exceptions.SSLError)) for e in chain):
            reason = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), str(exc))
            return VimAuthFailed(f"TLS with the Docker engine at {where} failed ({doing}): {reason}")
        if any(isinstance(e, PermissionError) for e in chain):
            return VimAuthFailed(f"permission denied on the Docker engine socket {where} ({doing})")
        if any(isinstance(e, docker.errors.TLSParameterError) for e in chain):
            return InvalidVimSpec(f"TLS settings of the Docker engine: {exc}")
        if any(isinstance(e, (requests.RequestException, OSError)) for e in chain):
            return VimUnavailable(f"cannot reach the Docker engine at {where} ({doing}): {_short(chain)}")
        return DriverError(f"Docker engine at {where} ({doing}): {exc}")

    # -- images -----------------------------------------------------------------------------
    def _inventory(self) -> tuple[list[_Entry], dict[str, list[str]]]:
        """Every image as nfvo sees it, and every Docker image's tags."""
        with self._engine("listing images"):
            listed = self.api.images()
        entries: dict[str, _Entry] = {}
        tags_of: dict[str, list[str]] = {}
        for item in listed:
            docker_id = item["Id"]
            tags = sorted(t for t in item.get("RepoTags") or [] if t and t != "<none>:<none>")
            tags_of[docker_id] = tags
            created = _iso(item.get("Created"))
            recorded = set()
            for tag in tags:
                record = Record.from_tag(tag)
                if record is None:
                    continue
                recorded.add(familiar(record.name) or record.name)
                key = image_key(docker_id, record.key)
                if key in entries:  # written twice by racing uploads with other image-config values
                    entries[key].record_tags.append(tag)
                else:
                    entries[key] = _Entry(key, docker_id, record.name, created, record, [tag])
            for tag in tags:
                if tag.startswith(RECORD_REPOSITORY) or (familiar(tag) or tag) in recorded:
                    continue  # nfvo's own tags, and names a record covers
                key = image_key(docker_id, "tag\n" + (familiar(tag) or tag))
                entries[key] = _Entry(key, docker_id, tag, created)
        return sorted(entries.values(), key=lambda e: (e.name, e.id)), tags_of

    def _find(self, *, id: str | None = None, name: str | None = None,
              sha256: str | None = None) -> list[_Entry]:
        if id is not None and not isinstance(id, str):
            return []
        entries, _ = self._inventory()
        if id is not None:
            if IMAGE_ID.fullmatch(id):
                entries = [e for e in entries if e.id == id]
            elif match := DOCKER_ID.fullmatch(id):  # a Docker image id, full or short: every image on it
                entries = [e for e in entries if e.docker_id.removeprefix("sha256:").startswith(match["hex"])]
            else:
                return []
        if name is not None:
            wanted = familiar(name)
            entries = [e for e in entries if wanted and e.familiar_name == wanted]
        if sha256 is not None:
            entries = [e for e in entries if e.record and e.record.sha256 == sha256.lower()]
        return entries

    def list_images(self) -> list[Image]:
        """Every tagged image of the engine; untagged (dangling) images are left out.  Read-only."""
        return [e.image() for e in self._inventory()[0]]

    def find_images(self, *, id: str | None = None, name: str | None = None,
                    sha256: str | None = None) -> list[Image]:
        """Images matching every criterion.  ``id`` is an nfvo image id, or a Docker image id (full,
        ``sha256:``-prefixed or at least 12 hex digits) matching every image on that Docker image;
        ``name`` matches as Docker reads references (``x`` is ``x:latest``).  Read-only."""
        return [e.image() for e in self._find(id=id, name=name, sha256=sha256)]

    def upload_image(self, spec: ImageSpec, stream: BinaryIO, *, size: int | None = None,
                     sha256: str | None = None) -> Image:
        """Loads the ``docker save`` tarball read from ``stream`` (streamed, hashed on the way) and tags it
        ``spec.name``.  The same name and tarball again return the same image.  Raises ``NotAnImage``
        (an ``Unsupported``) for other content, ``ChecksumMismatch`` (nothing kept), ``VimUnavailable``."""
        target = _taggable(spec.name)
        _record_for(spec, "t" + "0" * 64, 10**13 - 1)  # fail on unrecordable values before reading anything
        source = Source(stream)
        body = _Watched(load_body(source, size=size, sha256=sha256))
        try:
            first = next(iter(body))  # the first member: a stream that is no tarball fails before the engine sees it
            with self._engine("loading the image tarball"):
                output = list(self.api.load_image(itertools.chain([first], body), quiet=False))
        except Exception:
            if body.failure is not None:
                raise body.failure from None
            raise
        docker_id = _loaded_id(output)
        record = _record_for(spec, "t" + source.hexdigest(), source.size)
        try:
            entry_id = self._record(docker_id, record, target)
        except BaseException:
            self._discard_if_untagged(docker_id)
            raise
        return self._get(entry_id)

    def import_image(self, spec: ImageSpec, url: str, *, sha256: str | None = None) -> Image:
        """Pulls ``docker://<reference>`` (a tag or ``@sha256:`` digest) and tags it ``spec.name``.

        A digest in the link is verified by the engine while pulling; ``sha256`` (if given)
        must equal the pulled manifest's digest.  The pulled reference is left as it was
        before (untagged again, or pointed back).  Raises ``Unsupported`` for other links,
        ``ImportFailed`` (retryable when the registry may come back), ``ChecksumMismatch``.
        """
        source = parse_link(url)
        if source is None:
            raise Unsupported(
                f"the Docker driver imports images from docker://<registry>/<repository>[:tag][@sha256:<digest>] "
                f"links only, not {url.split('://')[0] if '://' in url else url!r}")
        target = _taggable(spec.name)
        _record_for(spec, "p" + "0" * 64, None)
        pulled_tag = None if source.digest else f"{source.name}:{source.tag or 'latest'}"
        reference = f"{source.name}@{source.digest}" if source.digest else pulled_tag
        before = self._docker_id(reference)
        digest = self._pull(source)
        docker_id = self._docker_id(reference)
        if docker_id is None:  # the tag moved on meanwhile (another import restored it): use the digest
            docker_id = self._docker_id(f"{source.name}@{digest}")
        if docker_id is None:
            raise ImportFailed(f"the engine pulled {source} but does not show it", retryable=True)
        try:
            if sha256 is not None and digest.removeprefix("sha256:") != sha256.lower():
                raise ChecksumMismatch(expected=sha256, actual=digest.removeprefix("sha256:"))
            entry_id = self._record(docker_id, _record_for(spec, "p" + digest.removeprefix("sha256:"), None), target)
        except BaseException:
            if source.digest and before is None:  # a pull by digest adds no tag: drop what it brought
                self._discard_if_untagged(docker_id)
            raise
        finally:
            if pulled_tag and familiar(pulled_tag) != target.familiar():
                self._restore(pulled_tag, before, docker_id)
        return self._get(entry_id)

    def delete_image(self, image_id: str) -> None:
        """Removes the image's tags: the record, and its name unless another record on that Docker image
        has it.  Docker deletes the Docker image with its last tag.  Idempotent.  Raises
        ``DriverConflict`` when that last tag would go while containers use the image."""
        if not isinstance(image_id, str) or not IMAGE_ID.fullmatch(image_id):
            return
        entries, tags_of = self._inventory()
        entry = next((e for e in entries if e.id == image_id), None)
        if entry is None:
            return
        tags = tags_of.get(entry.docker_id, [])
        remove = [entry.name]
        if entry.record:
            # the record goes last: should Docker refuse to drop the image with its last tag, the record
            # survives, and deleting again works once the image is free
            others = [e for e in entries if e.docker_id == entry.docker_id and e.record and e.id != entry.id]
            name = entry.familiar_name
            keep_name = name not in tags or any(e.familiar_name == name for e in others)
            remove = ([] if keep_name else [name]) + entry.record_tags
        last = not set(tags) - set(remove)
        with self._engine("deleting the image"):
            if last:
                users = self.api.containers(all=True, filters={"ancestor": entry.docker_id})
                if users:
                    names = ", ".join(sorted(c["Names"][0].lstrip("/") for c in users if c.get("Names")))
                    raise DriverConflict(f"image {entry.name} is used by containers {names}")
            for tag in remove:
                _ignore_missing(lambda tag=tag: self.api.remove_image(tag))
            if last:  # digest references of a pull keep it alive otherwise
                _ignore_missing(lambda: self.api.remove_image(entry.docker_id))

    # -- other resources -----------------------------------------------------------------------
    def list_networks(self) -> list[Network]:
        """The engine's networks; ``external`` for those not marked internal (except ``none``)."""
        with self._engine("listing networks"):
            networks = self.api.networks()
        return sorted(
            (Network(id=n["Id"], name=n["Name"], external=not n.get("Internal") and n.get("Driver") != "null")
             for n in networks),
            key=lambda n: n.name,
        )

    def list_flavors(self) -> list:
        """Docker has no VM sizes (limits are set per container): always ``[]``."""
        return []

    # -- helpers ---------------------------------------------------------------------------------
    def _get(self, entry_id: str) -> Image:
        found = self._find(id=entry_id)
        if not found:
            raise VimUnavailable("the image disappeared from the Docker engine while nfvo tagged it")
        return found[0].image()

    def _docker_id(self, reference: str) -> str | None:
        with self._engine("inspecting an image"):
            try:
                return self.api.inspect_image(reference)["Id"]
            except docker.errors.NotFound:
                return None

    def _record(self, docker_id: str, record: Record, target: Reference) -> str:
        """Tags ``docker_id`` with the record (unless one with the same name and content is there) and the name."""
        key = image_key(docker_id, record.key)
        with self._engine("tagging the image"):
            tags = self.api.inspect_image(docker_id).get("RepoTags") or []
            if not any((r := Record.from_tag(t)) and r.key == record.key for t in tags):
                self.api.tag(docker_id, *record.tag())
            self.api.tag(docker_id, target.name, target.tag or "latest")
        return key

    def _discard_if_untagged(self, docker_id: str) -> None:
        """After a failure: removes an image the load left without any tag (nothing else needs it)."""
        with contextlib.suppress(DriverError, docker.errors.DockerException, requests.RequestException):
            if not self.api.inspect_image(docker_id).get("RepoTags"):
                self.api.remove_image(docker_id)

    def _pull(self, source: Reference) -> str:
        """Pulls ``source``; returns the manifest digest (``sha256:...``)."""
        auth = {}
        s = self.settings
        if s.registry and s.username and source.registry == s.registry:
            auth = {"username": s.username, "password": s.password or "", "serveraddress": s.registry}
        digest = source.digest
        try:
            with self._engine(f"pulling {source}"):
                for message in self.api.pull(source.name, tag=source.digest or source.tag or "latest", stream=True,
                                             decode=True, auth_config=auth):  # never the nfvo host's own logins
                    if message.get("error") or message.get("errorDetail"):
                        raise _pull_error(source, message.get("error") or str(message["errorDetail"]), 500)
                    status = str(message.get("status", ""))
                    if status.startswith("Digest: "):
                        digest = status.split(": ", 1)[1].strip()
        except DriverError as exc:
            cause = exc.__cause__
            if isinstance(cause, docker.errors.APIError):
                raise _pull_error(source, _explain(cause), cause.status_code or 0) from cause
            raise
        if not digest:  # older engines: the digest the pulled tag's repository has now
            with self._engine("inspecting an image"):
                digests = self.api.inspect_image(f"{source.name}:{source.tag or 'latest'}").get("RepoDigests") or []
            repository = source.repository
            digest = next((d.split("@", 1)[1] for d in digests if d.split("@", 1)[0] == repository), None)
        if not digest:
            raise ImportFailed(f"the engine pulled {source} but reported no digest", retryable=False)
        return digest

    def _restore(self, reference: str, before: str | None, pulled: str) -> None:
        """Puts ``reference`` back where it pointed before the pull (or removes it)."""
        if before == pulled:
            return
        ref = parse_reference(reference)
        with contextlib.suppress(DriverError), self._engine("restoring the pulled tag"):
            if before is None:
                _ignore_missing(lambda: self.api.remove_image(reference))
            else:
                self.api.tag(before, ref.name, ref.tag or "latest")


class _Watched:
    """Iterates a body generator once and keeps what it raised (requests may wrap it)."""

    def __init__(self, body: Iterator[bytes]) -> None:
        self._body = body
        self.failure: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._body)
        except StopIteration:
            raise
        except BaseException as exc:
            self.failure = exc
            raise


def _taggable(name: str) -> Reference:
    reference = parse_reference(name)
    if reference is None or reference.digest:
        raise Unsupported(
            f"image name {name!r} is not a Docker reference nfvo can tag: use [registry/]repository[:tag] "
            "with lower-case letters, digits and . _ - in the repository")
    return reference


def _record_for(spec: ImageSpec, source: str, size: int | None) -> Record:
    record = Record(name=spec.name, source=source, size=size, disk_format=spec.disk_format.lower(),
                    container_format=spec.container_format.lower(), min_cpu=spec.min_cpu, min_disk=spec.min_disk,
                    min_ram=spec.min_ram, is_public=spec.is_public)
    try:
        record.tag()
    except ValueError as exc:
        raise Unsupported(f"image {spec.name!r} cannot be recorded on a Docker engine: {exc}") from None
    return record


def _loaded_id(output: list) -> str:
    for message in output:
        if isinstance(message, dict) and (message.get("error") or message.get("errorDetail")):
            error = message.get("error") or message["errorDetail"].get("message", "")
            raise NotAnImage(f"the Docker engine refused the image tarball: {error}")
    for message in output:
        text = message.get("stream", "") if isinstance(message, dict) else ""
        if text.startswith("Loaded image ID: "):
            return text.split(": ", 1)[1].strip()
    raise NotAnImage("the Docker engine loaded no image from the tarball")


def _pull_error(source: Reference, text: str, status: int) -> ImportFailed:
    lowered = text.lower()
    permanent = (400 <= status < 500 or "not found" in lowered or "manifest unknown" in lowered
                 or "unauthorized" in lowered or "denied" in lowered or "http response to https client" in lowered)
    hint = (" (the engine needs this registry in its insecure-registries)"
            if "http response to https client" in lowered else "")
    return ImportFailed(f"the Docker engine could not pull {source}: {text}{hint}", retryable=not permanent)


def _ignore_missing(call) -> None:
    try:
        call()
    except docker.errors.NotFound:
        pass


def _explain(exc: docker.errors.APIError) -> str:
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return str(text or exc).strip()


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (causes, contexts, and exceptions among the args of requests/urllib3 errors)."""
    seen, todo = set(), [exc]
    while todo and len(seen) < 32:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__, getattr(current, "reason", None))
                    if isinstance(e, BaseException))
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))


def _short(chain: list[BaseException]) -> str:
    innermost = [e for e in chain if isinstance(e, OSError) and not isinstance(e, requests.RequestException)]
    target = innermost[-1] if innermost else chain[0]
    return getattr(target, "strerror", None) or str(target)


def _iso(created) -> str | None:
    if isinstance(created, int | float) and created > 0:
        return datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat()
    return None
