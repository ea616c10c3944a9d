"""OnAThread hands chunks to its consumer in order on another thread, and reports its errors."""

from __future__ import annotations

import hashlib
import threading

import pytest

from nfvo.streams import OnAThread


def test_chunks_arrive_in_order_on_another_thread():
    seen, threads = [], set()

    def consume(chunk: bytes) -> None:
        seen.append(chunk)
        threads.add(threading.get_ident())

    worker = OnAThread(consume, depth=2)
    chunks = [bytes([n]) * (n + 1) for n in range(200)]
    for chunk in chunks:
        worker.feed(chunk)
    worker.close()
    assert seen == chunks
    assert threads and threading.get_ident() not in threads
    worker.close()  # again: nothing more happens
    assert seen == chunks


def test_a_hash_on_the_thread_equals_one_on_the_caller():
    digest = hashlib.sha256()
    worker = OnAThread(digest.update)
    data = [bytes(range(256)) * 4096 for _ in range(8)]
    for chunk in data:
        worker.feed(chunk)
    worker.close()
    assert digest.hexdigest() == hashlib.sha256(b"".join(data)).hexdigest()


def test_an_error_of_the_consumer_is_raised_by_close_and_stops_consuming():
    seen = []

    def consume(chunk: bytes) -> None:
        seen.append(chunk)
        if chunk == b"bad":
            raise ValueError("refused")

    worker = OnAThread(consume)
    for chunk in (b"a", b"bad", b"c", b"d"):
        worker.feed(chunk)
    with pytest.raises(ValueError, match="refused"):
        worker.close()
    assert seen == [b"a", b"bad"]
    worker.close()  # the error was reported once
