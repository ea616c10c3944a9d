"""The members of an archive as uploads read them: each member with declared digests is hashed
while it streams, and the read that would end it fails when the bytes are not the declared ones
(so a consumer, a VIM upload, never gets the whole of a wrong member)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import BinaryIO

from nfvo.errors import Issue, ValidationFailed
from nfvo.streams import VerifyingReader


class VerifiedMembers:
    """``archive``'s ``members`` and ``open_member``; ``algorithms(name)`` says which hashlib
    algorithms a member is declared with (none: it streams as it is), and ``check(name, digests)``
    raises ValidationFailed when the digests taken are wrong."""

    def __init__(self, archive, algorithms: Callable[[str], Iterable[str]],
                 check: Callable[[str, Mapping[str, str]], None]):
        self._archive, self._algorithms, self._check = archive, algorithms, check
        self.members = archive.members
        self.display_name = archive.display_name

    @contextlib.contextmanager
    def open_member(self, name: str) -> Iterator[BinaryIO]:
        algorithms = tuple(self._algorithms(name))
        with self._archive.open_member(name) as stream:
            if not algorithms:
                yield stream
                return
            yield VerifyingReader(stream, self.members[name].size, algorithms, functools.partial(self._check, name),
                                  functools.partial(_short, name))


def _short(name: str) -> ValidationFailed:
    return ValidationFailed(f"{name} ended early", errors=[Issue("the member ended before its size", file=name)])
