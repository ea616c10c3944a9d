"""Docker image references, ``docker://`` links, and the tags that record nfvo's images in the engine."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

# The grammar of github.com/distribution/reference, restricted to sha256 digests.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)
_MAX_NAME = 255
_HEX64 = re.compile(r"[0-9a-f]{64}")
DEFAULT_REGISTRY = "docker.io"

#: Repository prefix of the tags that record an image nfvo created (see :class:`Record`).
RECORD_REPOSITORY = "nfvo-image/"
_RECORD_FIELD = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Reference:
    """A parsed reference: ``name`` (``[registry/]path``), optional ``tag`` and ``digest``."""

    name: str
    tag: str | None = None
    digest: str | None = None

    @property
    def registry(self) -> str:
        """The registry host[:port]; Docker's rule: a first component with '.' or ':', or 'localhost'."""
        first, _, rest = self.name.partition("/")
        return first if rest and _is_domain(first) else DEFAULT_REGISTRY

    @property
    def repository(self) -> str:
        """The name without a Docker Hub registry prefix (what ``docker images`` shows)."""
        name = self.name
        first, _, rest = name.partition("/")
        if rest and first in ("docker.io", "index.docker.io"):
            name = rest
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/"):]
        return name

    def familiar(self) -> str:
        """The form Docker reports in ``RepoTags``: ``repository:tag``, ``:latest`` when no tag (and no digest)."""
        text = self.repository
        if self.tag or not self.digest:
            text += ":" + (self.tag or "latest")
        if self.digest:
            text += "@" + self.digest
        return text

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def _is_domain(component: str) -> bool:
    """Docker's rule for the first component of a name: a registry when it has '.' or ':', or is localhost."""
    return "." in component or ":" in component or component == "localhost"


def parse_reference(text: str) -> Reference | None:
    """The reference ``text`` spells, or ``None`` when it is not a valid Docker reference."""
    if not isinstance(text, str) or len(text) > 512:
        return None
    match = _REFERENCE.fullmatch(text)
    if not match or len(match["name"]) > _MAX_NAME or _HEX64.fullmatch(match["name"]):
        return None
    first, _, rest = match["name"].partition("/")
    if rest and not _is_domain(first) and first != first.lower():
        return None  # engines before Docker 24 read an upper-case first component as a repository
    return Reference(match["name"], match["tag"], match["digest"])


def familiar(text: str) -> str | None:
    """``text`` in the form Docker reports it, or ``None`` when it is not a reference."""
    reference = parse_reference(text)
    return reference.familiar() if reference else None


LINK_SCHEME = "docker://"


def parse_link(link: str) -> Reference | None:
    """The reference of a ``docker://<reference>`` link (``None`` for anything else).

    ``docker://127.0.0.1:5000/vnf/firewall:1.0``,
    ``docker://registry.example.com/vnf/firewall@sha256:<64 hex>``,
    ``docker://busybox:1.36`` (Docker Hub).
    """
    if not isinstance(link, str) or not link.startswith(LINK_SCHEME):
        return None
    return parse_reference(link[len(LINK_SCHEME):])


# --- records: one tag per image nfvo created, holding what Docker does not keep ------------------


@dataclass(frozen=True)
class Record:
    """What nfvo knows about an image it created, kept as a tag on that Docker image.

    ``source`` is ``t<sha256>`` for an image loaded from a tarball (the tarball's sha256;
    ``size`` is its length) or ``p<sha256>`` for one pulled from a registry (the manifest
    digest; ``size`` unknown).  The tag is
    ``nfvo-image/<base32 of name>:<source>.<size>.<min_cpu>.<min_disk>.<min_ram>.<public>.<disk_format>.<container_format>``.
    """

    name: str
    source: str
    size: int | None
    disk_format: str
    container_format: str
    min_cpu: int = 0
    min_disk: int = 0
    min_ram: int = 0
    is_public: bool = False

    @property
    def sha256(self) -> str | None:
        """The tarball's sha256 (``None`` for a pulled image)."""
        return self.source[1:] if self.source.startswith("t") else None

    @property
    def key(self) -> str:
        """What makes two records the same: the name (as Docker reads it) and the content."""
        return f"{familiar(self.name) or self.name}\n{self.source}"

    def tag(self) -> tuple[str, str]:
        """``(repository, tag)`` of this record's tag; ``ValueError`` when a field cannot be written."""
        for value in (self.disk_format, self.container_format):
            if not _RECORD_FIELD.fullmatch(value):
                raise ValueError(f"format {value!r} must be 1-32 letters, digits, '_' or '-'")
        repository = RECORD_REPOSITORY + base64.b32encode(self.name.encode()).decode().rstrip("=").lower()
        if len(repository) > _MAX_NAME:
            raise ValueError(f"the image name is {len(self.name.encode())} bytes; nfvo can record at most 152")
        fields = [self.source, "x" if self.size is None else str(self.size), str(self.min_cpu), str(self.min_disk),
                  str(self.min_ram), "1" if self.is_public else "0", self.disk_format, self.container_format]
        tag = ".".join(fields)
        if len(tag) > 128:
            raise ValueError("the image's formats are too long to record in a Docker tag")
        return repository, tag

    @classmethod
    def from_tag(cls, repo_tag: str) -> Record | None:
        """The record a ``RepoTags`` entry holds, or ``None`` when it is not a record tag."""
        if not repo_tag.startswith(RECORD_REPOSITORY):
            return None
        repository, _, tag = repo_tag.rpartition(":")
        encoded = repository[len(RECORD_REPOSITORY):].upper()
        fields = tag.split(".")
        if len(fields) != 8 or not re.fullmatch(r"[tp][0-9a-f]{64}", fields[0]):
            return None
        try:
            name = base64.b32decode(encoded + "=" * (-len(encoded) % 8)).decode()
            size = None if fields[1] == "x" else int(fields[1])
            min_cpu, min_disk, min_ram = (int(v) for v in fields[2:5])
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return cls(name=name, source=fields[0], size=size, disk_format=fields[6], container_format=fields[7],
                   min_cpu=min_cpu, min_disk=min_disk, min_ram=min_ram, is_public=fields[5] == "1")


def image_key(docker_id: str, key: str) -> str:
    """An nfvo image id: the Docker image's short id and a hash of what distinguishes it on that image."""
    short = docker_id.removeprefix("sha256:")[:12]
    return f"{short}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


IMAGE_ID = re.compile(r"[0-9a-f]{12}-[0-9a-f]{12}")
DOCKER_ID = re.compile(r"(?:sha256:)?(?P<hex>[0-9a-f]{12,64})")
