"""The package descriptors that list a package's files with their digests: a ``.son`` package's
``META-INF/MANIFEST.MF`` (YAML; ``md5`` per file) and a ``.tgo`` package's
``TOSCA-Metadata/NAPD.yaml`` (``algorithm`` and ``hash`` per file)."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from nfvo.domain.sonata.common import items, schema_issues, text
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue

SON_MANIFEST = "META-INF/MANIFEST.MF"
NAPD = "TOSCA-Metadata/NAPD.yaml"
#: hash algorithm names as packages write them (``SHA-256``, ``sha256``...) -> hashlib's
ALGORITHMS = {"md5": "md5", "sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
              "sha512": "sha512"}
#: algorithms the formats allow that show damage, not tampering
WEAK = frozenset({"md5", "sha1"})


@dataclass(frozen=True)
class Content:
    """One listed file: its member name in the archive, content type, digests (hashlib name ->
    lower-case hex; empty when none is given), and where the listing is (``pointer`` of the entry)."""

    member: str
    content_type: str | None
    digests: dict[str, str]
    file: str
    line: int | None
    pointer: str


@dataclass(frozen=True)
class Listing:
    """A package descriptor: the package identity, its files by member name, and (``.son``) the
    entry service template."""

    file: str
    vendor: str
    name: str
    version: str
    contents: dict[str, Content]
    entry_service: str | None = None
    entry_pointer: str | None = None


def member_name(source: str) -> str:
    """A listed path as a member name: no leading ``/`` (SONATA writes ``/function_descriptors/x.yml``)."""
    return posixpath.normpath(source.lstrip("/")) if source.strip("/") else ""


def read_son_manifest(doc: SourceDoc) -> tuple[Listing | None, list[Issue]]:
    """MANIFEST.MF of a ``.son`` package; None when it has no identity or file list. The identity is
    ``vendor``/``name``/``version`` as son-package writes it, or ``package_vendor``... as the
    first SONATA packages did."""
    issues = schema_issues(doc, "sonata-manifest")
    data = doc.data if isinstance(doc.data, dict) else {}
    contents = {}
    for pointer, entry in items(data, "package_content"):
        name = entry.get("name")
        if not isinstance(name, str) or not member_name(name):
            continue
        digests = {a: entry[a].lower() for a in ("md5", "sha256") if isinstance(entry.get(a), str)}
        _add(doc, contents, Content(member_name(name), _type(entry), digests, doc.file,
                                    doc.line_of(pointer), pointer), issues)
    entry_service = data.get("entry_service_template")
    keys = ("vendor", "name", "version") if "name" in data else ("package_vendor", "package_name", "package_version")
    identity = [text(doc, f"/{k}", data.get(k)) for k in keys]
    if not all(identity) or not isinstance(data.get("package_content"), list):
        return None, issues
    return Listing(doc.file, *identity, contents,
                   member_name(entry_service) if isinstance(entry_service, str) else None,
                   "/entry_service_template"), issues


def read_napd(doc: SourceDoc) -> tuple[Listing | None, list[Issue]]:
    """NAPD.yaml of a ``.tgo`` package; None when it has no identity or file list."""
    issues = schema_issues(doc, "tango-napd")
    data = doc.data if isinstance(doc.data, dict) else {}
    contents = {}
    for pointer, entry in items(data, "package_content"):
        source = entry.get("source")
        if not isinstance(source, str) or not member_name(source):
            continue
        digests = {}
        algorithm, digest = entry.get("algorithm"), entry.get("hash")
        if isinstance(digest, str) and digest:
            name = ALGORITHMS.get(str(algorithm).lower().replace("-", "").replace("_", ""))
            if name is None:
                issues.append(doc.issue(child_pointer(pointer, "algorithm"),
                                        f"unknown hash algorithm {algorithm!r} (SHA-256, SHA-512, SHA-1, MD5...)"))
            else:
                digests[name] = digest.lower()
        _add(doc, contents, Content(member_name(source), _type(entry), digests, doc.file,
                                    doc.line_of(pointer), pointer), issues)
    identity = [text(doc, f"/{k}", data.get(k)) for k in ("vendor", "name", "version")]
    if not all(identity) or not isinstance(data.get("package_content"), list):
        return None, issues
    return Listing(doc.file, *identity, contents), issues


def _type(entry: dict) -> str | None:
    value = entry.get("content-type")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def _add(doc: SourceDoc, contents: dict[str, Content], content: Content, issues: list[Issue]) -> None:
    if content.member in contents:
        issues.append(doc.issue(content.pointer, f"{content.member} is listed twice (also at "
                                                 f"{contents[content.member].pointer})"))
    else:
        contents[content.member] = content
