"""Image requests from a package, and the Open Baton image-resolution policy (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from nfvo_plugin_sdk import ImageSpec as ImageConfig

from nfvo.domain.sources import child_pointer
from nfvo.errors import ImageResolutionFailed, Issue

# ImageConfig (Open Baton ``image-config``) is exactly what a driver is asked to create.
__all__ = ["UPLOAD_VALUES", "Decision", "ImageConfig", "ImageRequest", "ImageSource", "Upload", "decide", "lookups_needed",
           "upload_value"]

Upload = Literal["true", "false", "check"]
UPLOAD_VALUES: tuple[Upload, ...] = ("true", "false", "check")


def upload_value(value: Any) -> Upload | None:
    """``upload`` as one of UPLOAD_VALUES, or None when it is none of them.

    Open Baton compared strings, so YAML booleans broke; a boolean and a string in any
    case and with surrounding blanks are accepted here.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (text := value.strip().lower()) in UPLOAD_VALUES:
        return text
    return None


@dataclass(frozen=True)
class ImageRequest:
    """One image a package asks for.

    ``key`` names it in messages (``image`` for the legacy block, the map key for
    ``images:``); ``source_file`` is the package file that names it (Metadata.yaml by
    default) and ``source_line`` its line there.  ``file`` is a member path inside the
    package (``images/x.qcow2``), ``link`` an URL; at most one is set. ``pointer`` is the
    JSON pointer of its block (default ``/<key>``).  ``digest`` (hashlib algorithm, hex) and
    ``size`` are what the package declares of the bytes, when it does (``digest_pointer``
    locates the digest for messages).  ``upload`` is one of UPLOAD_VALUES;
    :func:`decide` also takes any spelling :func:`upload_value` accepts. ``stated`` is
    false when the package format has no upload rule and nfvo derived it (a CSAR image
    with a file or URL is ``check``, one without ``false``): messages then speak of the
    image, not of ``upload``, and point at its block.
    """

    key: str
    upload: Upload
    ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    link: str | None = None
    file: str | None = None
    config: ImageConfig | None = None
    source_line: int | None = None
    pointer: str | None = None
    source_file: str = "Metadata.yaml"
    stated: bool = True
    digest: tuple[str, str] | None = None
    digest_pointer: str | None = None
    size: int | None = None

    @property
    def block_pointer(self) -> str:
        """JSON pointer to this request's block in Metadata.yaml (``/image``, ``/images/<name>``)."""
        return self.pointer or child_pointer("", self.key)

    @property
    def source(self) -> ImageSource | None:
        """Where the image's bytes come from, when the package gives them (file or link)."""
        if self.file:
            return ImageSource("member", self.file, self.size, self.digest)
        if self.link:
            return ImageSource("link", self.link, self.size, self.digest)
        return None


@dataclass(frozen=True)
class ImageSource:
    """Where an image's bytes come from: a ``member`` of the package (``ref`` its name) or a
    ``link`` (``ref`` the URL); its size in bytes and its digest (hashlib algorithm name, hex
    value) when the package declares them."""

    kind: Literal["member", "link"]
    ref: str
    size: int | None = None
    digest: tuple[str, str] | None = None


@dataclass(frozen=True)
class Decision:
    """What to do for one image request on one VIM: use an existing image, or upload."""

    action: Literal["use", "upload"]
    image_id: str | None = None
    reason: str = ""


def lookups_needed(request: ImageRequest) -> bool:
    """Whether ``decide`` needs the VIM looked up (false for ``upload: true``)."""
    return upload_value(request.upload) != "true"


def _pointer(request: ImageRequest, member: str) -> str:
    return f"{request.block_pointer}/{member}" if request.stated else request.block_pointer


def _fail(request: ImageRequest, member: str, message: str) -> ImageResolutionFailed:
    issue = Issue(message, file=request.source_file, line=request.source_line, pointer=_pointer(request, member))
    return ImageResolutionFailed(message, errors=[issue])


def _distinct(wanted: Sequence[str], found: Mapping[str, Sequence[str]]) -> list[str]:
    matches: dict[str, None] = {}
    for key in wanted:
        for image_id in found.get(key, ()):
            matches.setdefault(image_id, None)
    return list(matches)


def _upload(request: ImageRequest, reason: str) -> Decision:
    if not (request.file or request.link):
        raise _fail(
            request,
            "upload",
            f"{reason}, but image '{request.key}' has neither a link nor a file in the package to upload",
        )
    return Decision("upload", reason=reason)


def decide(
    request: ImageRequest,
    *,
    by_ids: Mapping[str, Sequence[str]],
    by_names: Mapping[str, Sequence[str]],
    vim_name: str,
) -> Decision:
    """Apply the Open Baton rules for one image request on the VIM ``vim_name``.

    ``by_ids`` maps each requested id to the ids of the VIM images that matched it;
    ``by_names`` maps each requested name to the ids of the matching images (a key
    absent from a mapping means nothing matched).  ``upload: true`` uploads without any
    lookup.  ``false``/``check`` look at the ids first: exactly one distinct matching
    image over all ids is used, several are ambiguous; with none, the names follow the
    same rule.  Nothing found: ``check`` uploads, ``false`` fails telling the user to
    use ``upload: check``.  An upload without a ``link`` or ``file`` fails too.

    Raises ``ImageResolutionFailed`` with one ``Issue`` pointing into Metadata.yaml.
    """
    upload = upload_value(request.upload)
    if upload is None:
        allowed = f"{', '.join(map(repr, UPLOAD_VALUES[:-1]))} or {UPLOAD_VALUES[-1]!r}"
        raise _fail(request, "upload", f"upload must be {allowed}, not {request.upload!r}")
    if upload == "true":
        return _upload(request, "upload: true")

    for member, wanted, found in (("ids", request.ids, by_ids), ("names", request.names, by_names)):
        matches = _distinct(wanted, found)
        what = "id" if member == "ids" else "name"
        if len(matches) == 1:
            hit = next(w for w in wanted if matches[0] in found.get(w, ()))
            via = f" (image {matches[0]})" if hit != matches[0] else ""
            return Decision("use", image_id=matches[0], reason=f"found by {what} {hit}{via}")
        if len(matches) > 1:
            raise _fail(
                request,
                member,
                f"image {member} {list(wanted)} match {len(matches)} images on VIM '{vim_name}' "
                f"({', '.join(matches)}); it is not clear which one to use - "
                f"list only one of them in {member}",
            )

    looked_for = " or ".join(
        f"{member} {list(values)}" for member, values in (("ids", request.ids), ("names", request.names)) if values
    )
    nothing = f"no image found by {looked_for or 'ids or names (none given)'} on VIM '{vim_name}'"
    if upload == "check":
        return _upload(request, f"upload: check, {nothing}")
    if not request.stated:
        raise _fail(request, "upload", f"{nothing}, and the package has neither a file nor a URL for image "
                                       f"'{request.key}': put the image on the VIM, or add it to the package")
    raise _fail(
        request,
        "upload",
        f"upload: false, but {nothing}; use upload: check to upload the image when it is missing",
    )
