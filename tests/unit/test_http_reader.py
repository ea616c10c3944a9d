"""Where a chunked request body ends, as nfvo serve's selector thread finds it before a thread is taken."""

import pytest

from nfvo.errors import MalformedRequest
from nfvo.http_reader import chunked_body_end

BODY = b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n"


@pytest.mark.parametrize("buf, end", [
    (BODY, len(BODY)),
    (BODY + b"GET / HTTP/1.1\r\n", len(BODY)),  # a pipelined request after it is not part of it
    (b"0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", 25),
    (b"5\r\n0\r\n\r\n\r\n0\r\n\r\n", 15),  # "0\r\n\r\n" inside a chunk's data does not end the body
])
def test_the_end_of_a_whole_body(buf, end):
    assert chunked_body_end(buf, 0) == end


@pytest.mark.parametrize("buf", [b"", b"5\r\nhel", b"5\r\nhello\r\n", b"0\r\n", b"0\r\n\r", b"0\r\nX: 1\r\n"])
def test_part_of_a_body_has_no_end_yet(buf):
    assert chunked_body_end(buf, 0) is None


@pytest.mark.parametrize("size", [b"zz", b"", b"-1", b"0x5"])
def test_a_chunk_size_that_is_not_hex_is_malformed(size):
    with pytest.raises(MalformedRequest, match="not a hexadecimal"):
        chunked_body_end(size + b"\r\nhello\r\n0\r\n\r\n", 0)
