"""How an image link travels to a VIM: imported by the VIM itself, or streamed by nfvo.

A link can be *imported*, when the VIM's driver fetches links of its scheme itself (capability
``import_url``, the scheme in ``import_schemes``: Glance's ``web-download`` for http(s), a
registry pull for ``docker://``), and *streamed* when it is http(s): nfvo downloads it and
streams the body into ``upload_image``, hashing it on the way and verifying the result.
The VIM property ``importLinks`` (:func:`nfvo.services.vims.import_links`) chooses:

- ``auto`` (the default): an importable link is imported; one that is not is streamed. When
  the VIM refuses the import or the import fails (:func:`refused`), nfvo streams an http(s)
  link itself, and the image's result carries a warning with the reason the VIM gave, as nfvo
  observed it (:func:`nfvo.services.vims.observations`, never the VIM's own words).
- ``always``: the VIM imports every link. A link it cannot import is refused before anything
  is uploaded; a refused import of an http(s) link fails the image (ImageResolutionFailed
  naming the link and the VIM, at the request's ``link``).
- ``never``: nfvo streams every link; a link it cannot stream (``docker://``) is refused
  before anything is uploaded.

An error that is no refusal (the VIM is unavailable or slow, refused the credentials, is out
of quota, stored other bytes) fails the image in every mode, as it would a stream; so does
any failed import of a link nfvo cannot stream. A refused or failed import leaves no image
behind (the SDK's rule for drivers), so what the fallback uploads is the only image made.
Before a VIM is handed a link, nfvo's link policy checks it (FetchRefused); a streamed link
is checked when it is opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import nfvo_plugin_sdk as sdk

from nfvo.db.models import VimInstance
from nfvo.domain.images import ImageRequest
from nfvo.errors import WARNING, ImageResolutionFailed, Issue
from nfvo.fetch import FetchPolicy, check_link
from nfvo.services.vims import import_links, observations

log = logging.getLogger(__name__)

IMPORT, STREAM = "import", "stream"
IMPORTED, STREAMED = "imported by the VIM", "streamed by nfvo"
STREAMABLE = ("http", "https")
#: Driver errors that say nothing against the link: streaming it would meet the same VIM.
_NO_REFUSAL = (sdk.VimUnavailable, sdk.VimAuthFailed, sdk.DriverConflict, sdk.ChecksumMismatch, sdk.InvalidVimSpec)


@dataclass(frozen=True)
class Travelled:
    """The image a link became on the VIM, how it got there (the decision text), and the warning
    to show when nfvo streamed it after the VIM refused to import it."""

    image: sdk.Image
    how: str
    note: Issue | None = None


def _scheme(link: str) -> str:
    return link.split(":", 1)[0].lower()


def method(driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance) -> str:
    """IMPORT or STREAM: the way ``request.link`` tries first on ``vim``, under its ``importLinks``.
    ImageResolutionFailed (at the request's link) when the link can take neither way."""
    scheme, mode = _scheme(request.link), import_links(vim)
    importable = sdk.IMPORT_URL in driver.capabilities and scheme in driver.import_schemes
    streamable = scheme in STREAMABLE
    if importable and mode != "never":
        return IMPORT
    if streamable and mode != "always":
        return STREAM
    if mode == "always" and streamable:
        message = (f"VIM {vim.name!r} (type {vim.type}) does not import {scheme}:// links itself, and its "
                   "importLinks is always: nfvo does not download them for it")
    elif mode == "never" and importable:
        message = (f"VIM {vim.name!r} has importLinks never, so nfvo would download the link itself, but nfvo "
                   f"cannot fetch {scheme}:// links")
    else:
        message = f"VIM {vim.name!r} (type {vim.type}) cannot fetch {scheme}:// links"
    raise _resolution_failed(request, message)


def refused(exc: sdk.DriverError) -> bool:
    """Whether an import that raised ``exc`` was refused or failed for this link (``Unsupported``,
    or a ``DriverError`` of no more specific kind, such as a failed import task), as opposed to a
    VIM that is unavailable, refused the credentials, is out of quota or stored other bytes."""
    return not isinstance(exc, _NO_REFUSAL)


def carry(
    driver: sdk.VimDriver, request: ImageRequest, vim: VimInstance, policy: FetchPolicy, *,
    imported: Callable[[], sdk.Image], streamed: Callable[[], sdk.Image],
) -> Travelled:
    """Puts ``request.link`` on ``vim`` the way :func:`method` and ``importLinks`` say: ``imported()``
    asks the VIM to import it, ``streamed()`` streams it into the VIM; each records the image it
    made. Raises what they raise, except a refused import that ``auto`` turns into a stream and
    ``always`` into ImageResolutionFailed."""
    link = request.link
    if method(driver, request, vim) == STREAM:
        return Travelled(streamed(), f"{STREAMED} from {link}")
    check_link(link, policy)  # the VIM fetches the link; nfvo still hands out only links its policy allows
    try:
        return Travelled(imported(), f"{IMPORTED} from {link}")
    except sdk.DriverError as exc:
        if not refused(exc) or _scheme(link) not in STREAMABLE:
            raise
        what, facts = _reason(exc)
        reason = f"VIM {vim.name!r} {what} {link}{facts}"
        log.warning("%s: %s: %s", reason, type(exc).__name__, exc)  # the VIM's own words, for the operator
        if import_links(vim) == "always":
            raise _resolution_failed(request, f"{reason}; its importLinks is always, so nfvo does not download "
                                              "the link itself (make the VIM accept the link, or register the "
                                              "VIM with importLinks auto)") from exc
    image = streamed()
    note = Issue(f"{reason}; nfvo downloaded the link and streamed it to the VIM itself (importLinks auto)",
                 request.source_file, request.source_line, _link_pointer(request), WARNING)
    return Travelled(image, f"{STREAMED} from {link}: VIM {vim.name!r} {what} it{facts}", note)


def _reason(exc: sdk.DriverError) -> tuple[str, str]:
    """(``refused to import`` or ``could not import``, `` (HTTP 400)`` or ""): what nfvo observed
    of the failed import (:func:`nfvo.services.vims.observations`), never the VIM's words."""
    facts = observations(exc)
    refusal = isinstance(exc, sdk.Unsupported) or any(f.startswith("HTTP 4") for f in facts)
    return ("refused to import" if refusal else "could not import"), (f" ({', '.join(facts)})" if facts else "")


def _link_pointer(request: ImageRequest) -> str:
    return f"{request.block_pointer}/link" if request.stated else request.block_pointer


def _resolution_failed(request: ImageRequest, message: str) -> ImageResolutionFailed:
    return ImageResolutionFailed(message, errors=[Issue(message, file=request.source_file, line=request.source_line,
                                                        pointer=_link_pointer(request))])
