"""The driver's own errors, and the translation of openstacksdk/keystoneauth/HTTP failures into the SDK's tree."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator

import requests
from keystoneauth1 import exceptions as ks
from nfvo_plugin_sdk import (
    DriverConflict,
    DriverError,
    ImageNotFound,
    InvalidVimSpec,
    Unsupported,
    VimAuthFailed,
    VimUnavailable,
)
from openstack import exceptions as sdk_exc


class ImageImportFailed(DriverError):
    """Glance refused a ``web-download`` import, or the import task failed; no image was kept."""


class ImageImportTimedOut(VimUnavailable):
    """An import did not finish in time (retryable: Glance or the source may just be slow); no image was kept."""


class ImageNotActive(DriverError):
    """Glance took the bytes but the image did not become ``active`` (``killed``, or stuck); no image was kept."""


class VimTlsFailed(DriverError):
    """The VIM's TLS certificate could not be verified (see the ``verify`` property)."""


class _StreamFailed(Exception):
    """Raised inside the upload body when the caller's stream failed; the real error is kept on the body.

    Not an OSError, so that urllib3/requests/keystoneauth do not turn it into a connection error.
    """


_RETRYABLE_STATUS = {408, 425, 429}


def error_for_status(status: int, message: str, *, what: str, image_id: str | None = None) -> DriverError:
    """The SDK error for an HTTP answer ``status`` of the VIM to ``what`` (a phrase for the message)."""
    detail = f"{what}: HTTP {status}" + (f" {message}" if message else "")
    if status == 401:
        return VimAuthFailed(f"{detail} (the credentials or the token were refused)")
    if status == 403:
        if "protected" in message.lower():
            return DriverConflict(detail)
        return VimAuthFailed(f"{detail} (the user lacks the permission)")
    if status == 404:
        return ImageNotFound(detail, image_id=image_id) if image_id else DriverError(detail)
    if status in (409, 413):  # 413: image size limit or storage quota
        return DriverConflict(detail)
    if status == 415:
        return Unsupported(f"{detail} (the data does not match the disk format)")
    if status >= 500 or status in _RETRYABLE_STATUS:
        return VimUnavailable(detail)
    return DriverError(detail)


def response_message(response: requests.Response) -> str:
    """Glance's/Keystone's error text, from a JSON or HTML body, on one line and at most 500 characters."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        text = str(inner.get("message") or inner.get("title") or "")
    if not text:
        text = re.sub(r"<[^>]+>", " ", response.text or "")
        text = re.sub(r"^\s*\d{3} [A-Za-z ]+\s+", "", html.unescape(text).strip())  # the page's own title
    text = re.sub(r"<br\s*/?>", " ", text)
    return " ".join(text.split())[:500]


@contextlib.contextmanager
def mapped(where: str) -> Iterator[None]:
    """Turns every openstacksdk, keystoneauth and requests exception into an SDK ``DriverError``.

    ``where`` names the VIM (its auth URL) in the messages.  DriverErrors and ``_StreamFailed``
    pass through unchanged.
    """
    try:
        yield
    except (DriverError, _StreamFailed):
        raise
    except Exception as exc:  # never let a client-library failure escape untranslated
        raise translate(exc, where) from exc


def translate(exc: BaseException, where: str) -> DriverError:
    """The SDK error for a client-library exception (openstacksdk wraps keystoneauth's: look inside)."""
    if isinstance(exc, sdk_exc.SDKException) and not isinstance(exc, sdk_exc.HttpException):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ks.ClientException | requests.RequestException):
            return translate(cause, where)
    if isinstance(exc, ks.HttpError):  # Unauthorized, Forbidden, ... from keystoneauth (login, catalog)
        return error_for_status(exc.http_status or 0, exc.message or str(exc), what=where)
    if isinstance(exc, ks.SSLError | requests.exceptions.SSLError):
        return VimTlsFailed(f"{where}: TLS verification failed ({exc}); set the property 'verify' to a CA "
                            f"bundle path, or to 'false' for a test cloud")
    if isinstance(exc, ks.RetriableConnectionFailure | ks.ConnectionError):
        return VimUnavailable(f"{where} cannot be reached: {exc}")
    if isinstance(exc, ks.EndpointNotFound | sdk_exc.ServiceDisabledException):
        return InvalidVimSpec(f"{where}: the service catalog has no such endpoint ({exc}); check the "
                              f"properties 'regionName' and 'interface'")
    if isinstance(exc, ks.DiscoveryFailure):
        return InvalidVimSpec(f"{where} does not look like a Keystone v3 endpoint: {exc}")
    if isinstance(exc, ks.AuthPluginException):
        return InvalidVimSpec(f"{where}: incomplete credentials: {exc}")
    if isinstance(exc, ks.AuthorizationFailure):
        return VimAuthFailed(f"{where}: authorization failed: {exc}")
    if isinstance(exc, sdk_exc.HttpException):
        return error_for_status(exc.status_code or 0, str(exc.details or exc), what=where)
    if isinstance(exc, sdk_exc.ConfigException):
        return InvalidVimSpec(f"{where}: {exc}")
    if isinstance(exc, requests.RequestException | TimeoutError | ConnectionError):
        return VimUnavailable(f"{where}: the connection failed: {exc}")
    return DriverError(f"{where}: {type(exc).__name__} from the OpenStack client: {exc}")
