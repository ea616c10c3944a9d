"""Every error as RFC 9457 application/problem+json (with Open Baton's code and message)."""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from nfvo.api.schemas import read_json_body
from nfvo.domain.sources import child_pointer
from nfvo.errors import Issue, NfvoError, TooLarge, ValidationFailed

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(body: dict) -> Response:
    body = {**body, "instance": request.path}
    return Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON)


def _issues(messages, pointer: str = "") -> list[Issue]:
    """webargs/marshmallow messages ({"name": ["Missing ..."]}) as Issues with pointers."""
    if isinstance(messages, dict):
        return [i for key, sub in messages.items() for i in _issues(sub, child_pointer(pointer, key))]
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [Issue(m, pointer=pointer or None) for m in messages]
    if isinstance(messages, list):
        return [i for n, sub in enumerate(messages) for i in _issues(sub, child_pointer(pointer, n))]
    return [Issue(str(messages), pointer=pointer or None)]


def _argument_issues(messages: dict) -> list[Issue]:
    """The Issues of webargs' messages by location ({"json": {...}, "query": {...}}); those about
    the JSON body carry its file name and the line of their pointer."""
    body = read_json_body()
    issues = []
    for location, fields in messages.items():
        # the location ("json", "query", "files") is not part of the document the pointer points into
        found = _issues(fields) if isinstance(fields, dict) else []
        if location == "json" and body is not None:
            found = [replace(i, file=body.file, line=body.line_of(i.pointer or "")) for i in found]
        issues.extend(found)
    return issues


def _from_http(exc: HTTPException) -> NfvoError:
    if exc.code == 422 and getattr(exc, "data", None):
        return ValidationFailed("The request body is not valid", errors=_argument_issues(exc.data.get("messages", {})))
    if exc.code == 413:
        return TooLarge("The request body is over the configured size limit (NFVO_MAX_PACKAGE_SIZE)")
    error = NfvoError(exc.description)
    error.status, error.title = exc.code or 500, exc.name
    error.slug = (exc.name or "error").lower().replace(" ", "-")
    return error


def register(app: Flask) -> None:
    @app.errorhandler(NfvoError)
    def _nfvo(exc: NfvoError):
        return problem_response(exc.to_problem())

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        answer = problem_response(_from_http(exc).to_problem())
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            # RFC 9110 15.5.6: a 405 lists the methods the resource supports
            answer.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return answer

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(NfvoError("The service failed unexpectedly; its log has the details").to_problem())
