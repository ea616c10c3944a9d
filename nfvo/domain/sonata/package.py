"""Reading a SONATA ``.son`` or 5GTANGO ``.tgo`` package, or one function descriptor on its own.

A package's descriptor (MANIFEST.MF, NAPD.yaml) lists its files with their digests: every
listed file must be there; a file it does not list is a warning (nothing checks its bytes).
Descriptors are found by content type (by folder when a listing gives none), verified against
their digests before they are parsed, then checked (:mod:`.functions`, :mod:`.services`).
Images are verified while they stream (see ``expected``); MD5 and SHA-1 digests are accepted,
as the formats allow them, with one warning that they are weak.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from nfvo.domain import findings
from nfvo.domain.archive import Member
from nfvo.domain.sonata import images
from nfvo.domain.sonata.functions import Function, read_function
from nfvo.domain.sonata.manifests import NAPD, SON_MANIFEST, WEAK, Content, Listing, read_napd, read_son_manifest
from nfvo.domain.sonata.services import Service, read_service
from nfvo.domain.sources import SourceDoc, load_json, load_yaml
from nfvo.errors import Issue, NfvoError, ValidationFailed

FUNCTION_TYPES = frozenset({"application/sonata.function_descriptor", "application/vnd.5gtango.vnfd",
                            "application/vnd.sonata.function_descriptor"})
SERVICE_TYPES = frozenset({"application/sonata.service_descriptor", "application/vnd.5gtango.nsd",
                           "application/vnd.sonata.service_descriptor"})
#: a 5GTANGO image reference: YAML naming an image by vendor/name/version, with its URL and digest
REF_TYPE = "application/vnd.5gtango.ref"
_FOLDERS = {"function_descriptors": "function", "service_descriptors": "service"}
#: files that describe the package itself: never "unlisted"
_OWN = ("META-INF/", "TOSCA-Metadata/", "etsi_manifest.mf")


class Files(Protocol):
    """What the reader needs of an archive (a :class:`nfvo.domain.csar_zip.CsarArchive`)."""

    members: Mapping[str, Member]
    display_name: str

    def exists(self, name: str) -> bool: ...

    def read_bytes(self, name: str) -> bytes: ...


@dataclass(frozen=True)
class SonataPackage:
    """A package (or lone function descriptor) that passed its checks. ``kind``: "son", "tgo" or
    "descriptor"; ``expected``: the digests each member must have when it is read, by member
    (from the listing, and a VDU's ``vm_image_md5`` for its image file)."""

    kind: str
    vendor: str
    name: str
    version: str
    functions: tuple[Function, ...]
    services: tuple[Service, ...]
    images: tuple[Any, ...]
    listing: Listing | None
    expected: dict[str, dict[str, str]] = field(default_factory=dict)
    warnings: tuple[Issue, ...] = ()


def read_descriptor(text: str, file: str, *, strict: bool = False) -> SonataPackage:
    """One function descriptor (YAML or JSON) as a package of its own; its images can only be
    links or names. Raises ValidationFailed listing every finding when one is an error."""
    issues: list[Issue] = []
    doc = _parse(text, file, issues)
    function = None
    if doc is not None:
        if isinstance(doc.data, dict) and "network_functions" in doc.data:
            raise ValidationFailed(f"{file} is a service descriptor", errors=[Issue(
                "a SONATA service descriptor is an NSD: create it with POST /api/v1/ns-descriptors", file)])
        function, found = read_function(doc)
        issues += found
    requests, expected = images.requests(function, None, {}, issues) if function else ((), {})
    warnings = findings.settle(issues, file, strict=strict)
    if function is None:
        raise ValidationFailed(f"{file} is no SONATA function descriptor", errors=issues or [Issue(
            "not a function descriptor: vendor, name and version are required", file)])
    return SonataPackage("descriptor", function.vendor, function.name, function.version, (function,), (),
                         requests, None, expected, warnings)


def read_package(archive: Files, *, strict: bool = False) -> SonataPackage:
    """A ``.son`` (META-INF/MANIFEST.MF) or ``.tgo`` (TOSCA-Metadata/NAPD.yaml) package."""
    issues: list[Issue] = []
    kind, file, reader = ("son", SON_MANIFEST, read_son_manifest) if archive.exists(SON_MANIFEST) \
        else ("tgo", NAPD, read_napd)
    if not archive.exists(file):
        raise ValidationFailed(f"{archive.display_name} is no SONATA or 5GTANGO package", errors=[Issue(
            f"neither {SON_MANIFEST} nor {NAPD} is in the package", archive.display_name)])
    doc = _parse(_read(archive, file, None, issues) or "", file, issues)
    listing, found = reader(doc) if doc is not None else (None, [])
    issues += found
    if listing is None:
        findings.settle(issues, archive.display_name, strict=strict)
        raise ValidationFailed(f"{file} lists no package", errors=issues)
    issues += _listed_files(archive, listing, doc)
    functions, services, ref_docs = _descriptors(archive, listing, issues)
    refs = images.references(ref_docs, issues)
    if not functions and not services:
        issues.append(doc.issue("/package_content", "the package holds no function or service descriptor"))
    if listing.entry_service and listing.entry_service not in {s.file for s in services}:
        issues.append(doc.issue(listing.entry_pointer, f"{listing.entry_service} is no service descriptor "
                                                        "of this package"))
    expected = {name: dict(c.digests) for name, c in listing.contents.items() if c.digests}
    requests = []
    for function in functions:
        found_requests, found_expected = images.requests(function, archive, listing.contents, issues, refs)
        requests += found_requests
        for member, digests in found_expected.items():
            expected.setdefault(member, {}).update(digests)
    warnings = findings.settle(issues, archive.display_name, strict=strict)
    return SonataPackage(kind, listing.vendor, listing.name, listing.version, tuple(functions), tuple(services),
                         tuple(requests), listing, expected, warnings)


def _listed_files(archive: Files, listing: Listing, doc: SourceDoc) -> list[Issue]:
    issues = [doc.issue(c.pointer, f"lists {c.member}, which the package does not hold")
              for c in listing.contents.values() if not archive.exists(c.member)]
    issues += [Issue(f"not listed in {listing.file}: nothing checks its bytes", name, severity="warning")
               for name, m in archive.members.items()
               if not m.is_dir and name not in listing.contents and not name.startswith(_OWN)]
    weak = sorted({a for c in listing.contents.values() for a in c.digests if a in WEAK})
    if weak:
        issues.append(doc.warning("/package_content", f"files are checked with {' and '.join(weak).upper()}, "
                                  "which show damage but not tampering (a signed package or SHA-256 would)"))
    return issues


def _descriptors(archive: Files, listing: Listing, issues: list[Issue]
                 ) -> tuple[list[Function], list[Service], list[SourceDoc]]:
    functions: list[Function] = []
    docs = {"function": [], "service": [], "ref": []}
    for content in listing.contents.values():
        role = _role(content)
        if role and archive.exists(content.member):
            text = _read(archive, content.member, content, issues, lenient=listing.file == SON_MANIFEST)
            if text is not None and (doc := _parse(text, content.member, issues)) is not None:
                docs[role].append(doc)
    seen: dict[tuple, str] = {}
    for doc in docs["function"]:
        function, found = read_function(doc)
        issues += found
        if function and function.identity in seen:
            issues.append(doc.issue("/name", f"function {'/'.join(function.identity)} is also in {seen[function.identity]}"))
        elif function:
            seen[function.identity] = doc.file
            functions.append(function)
    known = {f.identity: f.connection_points for f in functions}
    services = []
    for doc in docs["service"]:
        service, found = read_service(doc, known)
        issues += found
        if service:
            services.append(service)
    return functions, services, docs["ref"]


def _role(content: Content) -> str | None:
    if content.content_type in FUNCTION_TYPES:
        return "function"
    if content.content_type in SERVICE_TYPES:
        return "service"
    if content.content_type == REF_TYPE:
        return "ref"
    if content.content_type is None and content.member.endswith((".yml", ".yaml", ".json")):
        return _FOLDERS.get(content.member.split("/", 1)[0])
    return None


def _read(archive: Files, name: str, content: Content | None, issues: list[Issue], *,
          lenient: bool = False) -> str | None:
    """The text of a descriptor, once its bytes match every digest its listing gives. ``lenient``
    (a .son package): a wrong MD5 is a warning and the descriptor is read, as son-validate does;
    son-package long listed the MD5 of a service descriptor's source file, not of the file it packed."""
    try:
        data = archive.read_bytes(name)
    except NfvoError as exc:
        issues.extend(exc.errors or [Issue(exc.detail, name)])
        return None
    for algorithm, expected in (content.digests.items() if content else ()):
        if (actual := hashlib.new(algorithm, data).hexdigest()) != expected:
            wrong = f"{name} has {algorithm} {actual}, not the {expected} listed here"
            if lenient and algorithm in WEAK:
                issues.append(Issue(f"{wrong} (read anyway: SONATA's packager listed wrong MD5s of descriptors)",
                                    content.file, content.line, content.pointer, "warning"))
                continue
            issues.append(Issue(wrong, content.file, content.line, content.pointer))
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.append(Issue("not UTF-8 text", name, data.count(b"\n", 0, exc.start) + 1))
        return None


def _parse(text: str, file: str, issues: list[Issue]) -> SourceDoc | None:
    try:
        return (load_json if posixpath.splitext(file)[1].lower() == ".json" else load_yaml)(text, file)
    except ValidationFailed as exc:
        issues.extend(exc.errors)
        return None
