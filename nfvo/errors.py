"""The one exception tree: every error a user can meet, with its HTTP status, slug and title.

Each class carries a stable ``slug`` (the last part of the problem ``type`` URI), an
HTTP ``status`` and a short ``title``.  ``nfvo.api.problems`` renders any
:class:`NfvoError` as RFC 9457 ``application/problem+json`` that also carries Open
Baton's ``code`` and ``message``.  ``docs/errors.md`` documents every slug; a test
walks this tree to keep the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Issue:
    """One validation finding: what is wrong, and where.

    ``file`` is the path inside the package (``Metadata.yaml``), ``line`` is 1-based,
    ``pointer`` is an RFC 6901 JSON pointer to the field inside that file
    (``/image/upload``); any of them may be ``None`` when it does not apply.
    ``severity`` is ``error`` (the input is refused) or ``warning`` (it departs from a
    spec in a way the systems that produce such input accept: kept and shown, refused
    only under strict validation).
    """

    message: str
    file: str | None = None
    line: int | None = None
    pointer: str | None = None
    severity: str = ERROR

    @property
    def is_warning(self) -> bool:
        return self.severity == WARNING

    def as_warning(self) -> Issue:
        return replace(self, severity=WARNING)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        field = f" {self.pointer}" if self.pointer else ""
        message = f"warning: {self.message}" if self.is_warning else self.message
        return f"{where}{field}: {message}" if (where or field) else message


class NfvoError(Exception):
    """Base of every error nfvo reports to a user."""

    status = 500
    slug = "internal-error"
    title = "Internal error"
    #: True when the same call may succeed later (workers retry only these).
    retryable = False

    def __init__(self, detail: str | None = None, *, errors: Iterable[Issue] = ()):
        self.detail = detail or self.title
        self.errors = list(errors)
        super().__init__(self.detail)

    def to_problem(self) -> dict:
        """The RFC 9457 body (without ``instance``), plus Open Baton's ``code``/``message``.

        ``message`` is ``detail`` followed by the first findings, shortened: Open Baton clients
        show only ``message``, and would otherwise print "2 problems in package x.tar" alone.
        """
        body = {
            "type": f"https://nfvo.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.status,
            "message": _with_findings(self.detail, self.errors),
        }
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body


MESSAGE_FINDINGS = 3  # findings repeated in ``message``
_FINDING_CHARS = 200  # each shortened to this


def _with_findings(detail: str, errors: list[Issue]) -> str:
    """``detail: finding; finding; finding (and N more)``, each finding as ``file:line pointer: message``."""
    if not errors:
        return detail
    shown = [str(e) if len(str(e)) <= _FINDING_CHARS else str(e)[:_FINDING_CHARS - 3] + "..."
             for e in errors[:MESSAGE_FINDINGS]]
    more = f" (and {len(errors) - MESSAGE_FINDINGS} more)" if len(errors) > MESSAGE_FINDINGS else ""
    return f"{detail}: {'; '.join(shown)}{more}"


# 400 ---------------------------------------------------------------------------------
class BadRequest(NfvoError):
    status, slug, title = 400, "bad-request", "Bad request"


class MalformedRequest(BadRequest):
    """An HTTP request whose framing is ambiguous (``nfvo serve`` answers it and closes the
    connection): both Content-Length and Transfer-Encoding, a repeated or non-numeric
    Content-Length, a Transfer-Encoding other than ``chunked``, folded or nameless header lines."""

    slug, title = "malformed-request", "Malformed HTTP request"


class HeadersTooLarge(NfvoError):
    """The request line and headers of an HTTP request exceed 64 KiB."""

    status, slug, title = 431, "headers-too-large", "Request header fields too large"


class BodyTooSlow(NfvoError):
    """A request body arrives more slowly than ``NFVO_HTTP_MIN_BODY_RATE`` bytes per second of
    waiting for it; ``nfvo serve`` answers and closes the connection without reading the rest."""

    status, slug, title = 408, "body-too-slow", "Request body too slow"


# 401 / 403 ---------------------------------------------------------------------------
class Unauthenticated(NfvoError):
    status, slug, title = 401, "unauthenticated", "Authentication required"


class InvalidCredentials(Unauthenticated):
    slug, title = "invalid-credentials", "Invalid credentials"


class Forbidden(NfvoError):
    status, slug, title = 403, "forbidden", "Not allowed"


# 404 ---------------------------------------------------------------------------------
class NotFound(NfvoError):
    status, slug, title = 404, "not-found", "Not found"


class ProjectNotFound(NotFound):
    slug, title = "project-not-found", "Project not found"


class PackageNotFound(NotFound):
    slug, title = "package-not-found", "VNF package not found"


class VnfdNotFound(NotFound):
    slug, title = "vnfd-not-found", "VNF descriptor not found"


class NsdNotFound(NotFound):
    slug, title = "nsd-not-found", "NS descriptor not found"


class VimNotFound(NotFound):
    slug, title = "vim-not-found", "VIM instance not found"


class JobNotFound(NotFound):
    slug, title = "job-not-found", "Job not found"


class UserNotFound(NotFound):
    slug, title = "user-not-found", "User not found"


class ImageNotFound(NotFound):
    slug, title = "image-not-found", "Catalogue image not found"


class ArtifactNotFound(NotFound):
    slug, title = "artifact-not-found", "No such file in the VNF package"


# 406 ---------------------------------------------------------------------------------
class NotAcceptable(NfvoError):
    status, slug, title = 406, "not-acceptable", "No acceptable representation"


# 409 ---------------------------------------------------------------------------------
class Conflict(NfvoError):
    status, slug, title = 409, "conflict", "Conflict"


class DuplicatePackage(Conflict):
    slug, title = "duplicate-package", "This VNF package is already onboarded"


class DuplicateImage(Conflict):
    slug, title = "duplicate-image", "The catalogue already holds this image name and version"


class DuplicateVim(Conflict):
    slug, title = "duplicate-vim", "A VIM instance with this name already exists"


class InUse(Conflict):
    slug, title = "in-use", "Still in use"


class DuplicateUser(Conflict):
    slug, title = "duplicate-user", "A user with this username already exists"


class DuplicateProject(Conflict):
    slug, title = "duplicate-project", "A project with this name already exists"


class DefaultProject(Conflict):
    """The project ``default`` is where nfvo puts what it creates at first start."""

    slug, title = "default-project", "The default project cannot be deleted or renamed"


class LastAdmin(Conflict):
    slug, title = "last-admin", "The last system administrator must stay"


class PackageStateConflict(Conflict):
    """The VNF package's onboarding, operational or usage state does not allow the call."""

    slug, title = "package-state-conflict", "Not allowed in the VNF package's state"


class NoDay0Files(Conflict):
    """The package's format renders no day-0 files, or the package has none."""

    slug, title = "no-day0-files", "The VNF package has no day-0 files"


class NoChange(Conflict):
    slug, title = "no-change", "The modification changes nothing"


# 413 ---------------------------------------------------------------------------------
class TooLarge(NfvoError):
    status, slug, title = 413, "too-large", "Content too large"


# 416 ---------------------------------------------------------------------------------
class RangeNotSatisfiable(NfvoError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"


# 422 ---------------------------------------------------------------------------------
class Unprocessable(NfvoError):
    status, slug, title = 422, "unprocessable", "Unprocessable content"


class ValidationFailed(Unprocessable):
    """Input was read but is wrong; ``errors`` lists every finding at once."""

    slug, title = "validation-failed", "Validation failed"


class UnsafeArchive(Unprocessable):
    """An archive member is hostile (``..``, absolute path, link, device) or over a limit."""

    slug, title = "unsafe-archive", "Unsafe or malformed archive"


class FetchRefused(Unprocessable):
    """A link points where nfvo must not go (scheme, loopback/private address)."""

    slug, title = "fetch-refused", "Link refused"


class FetchFailed(Unprocessable):
    """A link could not be fetched (HTTP error, timeout, size limit, git failure)."""

    slug, title = "fetch-failed", "Link could not be fetched"


class ImageResolutionFailed(Unprocessable):
    """An image could not be resolved on a VIM by the Open Baton rules."""

    slug, title = "image-resolution-failed", "Image could not be resolved"


class ContentMismatch(Unprocessable):
    """Bytes written to the content store do not have the SHA-256 (or size) they were announced with."""

    slug, title = "content-mismatch", "Content does not match its digest"


class ImageVerificationFailed(Unprocessable):
    """The VIM holds different bytes than nfvo streamed to it."""

    slug, title = "image-verification-failed", "Image checksum mismatch"


class NoMatchingVim(Unprocessable):
    slug, title = "no-matching-vim", "No VIM instance of the package's vim_types"


class VimRejectedCredentials(Unprocessable):
    slug, title = "vim-auth-failed", "The VIM refused the credentials"


class VimUnsupported(Unprocessable):
    slug, title = "vim-unsupported", "The VIM driver does not support this"


class VimEndpointRefused(Unprocessable):
    """A VIM's ``authUrl`` (or an address its driver connects to) is this host, a link-local or
    metadata address or a unix socket that NFVO_VIM_ALLOW does not admit."""

    slug, title = "vim-endpoint-refused", "VIM endpoint refused"


class DriverNotInstalled(Unprocessable):
    slug, title = "driver-not-installed", "No VIM driver of this type is installed"


class DriverBroken(Unprocessable):
    slug, title = "driver-broken", "The VIM driver plugin cannot be loaded"


# 429 ---------------------------------------------------------------------------------
class TooManyLoginFailures(NfvoError):
    """Too many failed password checks for a user name or from a client address, within
    NFVO_LOGIN_WINDOW_SECONDS; ``retry_after`` is the number of seconds until the window ends."""

    status, slug, title = 429, "too-many-login-failures", "Too many failed logins"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


# 502 / 503 ---------------------------------------------------------------------------
class VimFailed(NfvoError):
    """The VIM answered with an error nfvo cannot attribute to the input."""

    status, slug, title = 502, "vim-failed", "The VIM reported an error"


class VimUnavailable(NfvoError):
    status, slug, title = 503, "vim-unavailable", "The VIM cannot be reached"
    retryable = True


class StoreFailed(NfvoError):
    """The content store answered with an error nfvo cannot attribute to the input."""

    status, slug, title = 502, "store-failed", "The content store reported an error"


class ContentMissing(StoreFailed):
    """A blob nfvo recorded is not in the content store (removed behind nfvo's back)."""

    slug, title = "content-missing", "Content missing from the store"


class StoreUnavailable(NfvoError):
    """The content store cannot be reached (connection refused, timeout, 5xx): try again later."""

    status, slug, title = 503, "store-unavailable", "The content store cannot be reached"
    retryable = True


class JobTimeout(NfvoError):
    status, slug, title = 504, "job-timeout", "The job did not finish in time"


class UploadInterrupted(NfvoError):
    status, slug, title = 408, "upload-interrupted", "Upload interrupted"


def all_error_classes() -> list[type[NfvoError]]:
    """Every class of the tree, the root first (used by the docs test)."""
    seen, todo = [], [NfvoError]
    while todo:
        cls = todo.pop(0)
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen
