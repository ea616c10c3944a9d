"""Answers that send stored bytes: the whole content, or the one byte range a Range header asks for."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Response, request

from nfvo.api.problems import problem_response
from nfvo.domain.sol013 import RangeError, byte_range
from nfvo.errors import RangeNotSatisfiable

BINARY = {"type": "string", "format": "binary"}
RANGE_ANSWER = {"Content-Range": {"description": "bytes FIRST-LAST/SIZE", "schema": {"type": "string"}}}


def ranged(size: int, media_type: str, chunks_from) -> Response:
    """The whole content (200) or the one byte range the Range header asks for (206); 416 for a
    range nfvo cannot read or that lies outside the content. ``chunks_from(start)`` yields the
    content from byte ``start`` on; the answer stops after the range's last byte."""
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except RangeError as exc:
        answer = problem_response(RangeNotSatisfiable(str(exc)).to_problem())
        answer.headers["Content-Range"] = f"bytes */{size}"
        return answer
    first, last = wanted if wanted else (0, size - 1)
    length = last - first + 1 if size else 0

    def body() -> Iterator[bytes]:
        left = length
        for chunk in chunks_from(first):
            if left <= 0:
                break
            yield chunk[:left]
            left -= len(chunk)

    headers = {"Content-Length": str(length), "Accept-Ranges": "bytes"}
    if wanted:
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    # the exact media type: python-tackerclient compares Content-Type with "application/zip"
    return Response(body(), status=206 if wanted else 200, content_type=media_type, headers=headers)
