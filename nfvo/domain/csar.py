"""ETSI NFV SOL004 VNF packages (CSAR zips): TOSCA.meta, the manifest, hashes and signatures, on a
zip that :mod:`nfvo.domain.csar_zip` opened safely.

Two layouts are read (SOL004 clause 4.1):

* ``tosca-metadata``: ``TOSCA-Metadata/TOSCA.meta`` names the entry definitions, the manifest
  (``ETSI-Entry-Manifest``), the change log and optionally licenses, tests and a certificate;
  later blocks may give per-artifact hashes (``Name:``, ``Algorithm:``, ``Hash:``).
* ``root-yaml``: no TOSCA-Metadata; exactly one ``*.yaml`` at the root, with a ``metadata``
  block (``template_name``, ``template_author``, ``template_version``), and the manifest
  ``<same name>.mf`` beside it (a certificate may be ``<same name>.cert``).

Every file of the package must be listed in the manifest (or hashed in TOSCA.meta) with its
hash (except the manifest itself, TOSCA.meta, the certificate and signature files; unlisted
VNFD files are one warning); every hash is verified while the member is streamed in 1 MiB
reads, images included, and so is each image's ``sw_image_data`` checksum and size.  A
package without a manifest (Tacker's samples mostly have none) is one warning and is
verified by the hashes it does declare.  The text parts are parsed by
:mod:`nfvo.domain.csar_meta`.  Signatures are CMS (:mod:`nfvo.domain.cms`):

* security option 1: the manifest ends with a ``-----BEGIN CMS-----`` block signing the
  manifest text before it, and/or manifest entries name per-artifact ``Signature:`` files
  (and ``Certificate:`` files);
* security option 2: the zip holds only ``<name>.csar``, ``<name>.cms`` and optionally
  ``<name>.cert``; the CMS signs the inner CSAR, which is then read as above.

A signature that does not verify is an error; an unsigned package is valid (option None).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pathlib
import posixpath
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from typing import BinaryIO

from cryptography import x509

from nfvo.domain import cms, findings
from nfvo.domain.archive import (
    normalise_member_name,
)
from nfvo.domain.csar_meta import (
    TOSCA_META,
    Manifest,
    ManifestEntry,
    ToscaMeta,
    manifest_candidates,
    parse_manifest,
    parse_tosca_meta,
)
from nfvo.domain.csar_zip import (
    CsarArchive,
    SignatureCheck,
    load_certificate_file,
    load_signature,
    signature_check,
)
from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.domain.sources import SourceDoc, load_yaml
from nfvo.domain.tosca import SIZE_UNITS, SwImage, Vnfd, read_vnfd, shipped_import
from nfvo.errors import ERROR, WARNING, Issue, NfvoError, ValidationFailed
from nfvo.streams import CHUNK, VerifyingReader

_STORE_OVER = 1 << 20  # build_csar stores files larger than this (images are compressed already)
MAX_ISSUES = findings.MAX_LISTED
ROOT_YAML_METADATA = ("template_name", "template_author", "template_version")


# the package ------------------------------------------------------------------------
@dataclass(frozen=True)
class Security:
    """How the package is signed: SOL004 security ``option`` 1, 2, or None when unsigned."""

    option: int | None
    manifest_signature: SignatureCheck | None = None
    artifact_signatures: tuple[SignatureCheck, ...] = ()
    package_signature: SignatureCheck | None = None


@dataclass(frozen=True)
class CsarPackage:
    """A CSAR whose layout, TOSCA.meta, manifest, hashes, signatures and VNFD passed every check.

    ``images`` are the VDUs' software images as ImageRequests (one per distinct image; ``key``
    is the first VDU node using it, ``pointer`` its ``sw_image_data`` in ``vnfd_file_of``);
    an image with a file or URL is ``upload: check`` by its ``sw_image_data.name``, one without
    a SwImage artifact ``upload: false`` (it must already be on the VIM).  ``manifest`` is not
    ``declared`` when the package has none: it then holds TOSCA.meta's hashed artifacts.
    """

    layout: str  # "tosca-metadata" or "root-yaml"
    entry_definitions: str
    tosca_meta: ToscaMeta | None
    manifest: Manifest
    vnfd: Vnfd
    images: tuple[ImageRequest, ...]
    security: Security
    hashes_verified: bool
    change_log: str | None
    licenses: str | None
    certificate: str | None
    files: tuple[str, ...]
    display_name: str = "package"
    warnings: tuple[Issue, ...] = ()  # findings that did not refuse it

    @property
    def descriptor_id(self) -> str:
        return self.vnfd.descriptor_id

    @property
    def provider(self) -> str:
        return self.vnfd.provider

    @property
    def product_name(self) -> str:
        return self.vnfd.product_name

    @property
    def software_version(self) -> str:
        return self.vnfd.software_version

    @property
    def descriptor_version(self) -> str:
        return self.vnfd.descriptor_version

    @property
    def flavour_id(self) -> str:
        return self.vnfd.flavour_id

    def open_verified(self, archive: CsarArchive, name: str) -> ContextManager[BinaryIO]:
        """Stream a member whose hash the package declares while verifying that hash.

        The hash is the manifest's, else TOSCA.meta's, else (for an image) its ``sw_image_data``
        checksum.  The read that would return the member's last bytes raises ValidationFailed
        (Issue at the Hash line) instead when the hash differs, so a consumer never sees the
        whole of a wrong file.  Raises KeyError when no hash of ``name`` is declared.
        """
        found = self.declared_hash(name)
        if found is None:
            raise KeyError(f"{name!r} is not a file whose hash {self.manifest.file} declares")
        return _verified(archive, *found)

    def declared_hash(self, name: str) -> tuple[ManifestEntry, str] | None:
        """The entry declaring the hash of member ``name`` and the file that declares it, or None."""
        wanted = normalise_member_name(name)[0] or name
        entry = self.manifest.entry(wanted)
        if entry is not None and not entry.is_url:
            return entry, self.manifest.file
        entry = self.tosca_meta.artifact(wanted) if self.tosca_meta else None
        if entry is not None:
            return entry, TOSCA_META
        image = next((i for i in self.vnfd.images if i.file == wanted), None)
        return (_image_entry(image), image.source_file) if image else None


@contextlib.contextmanager
def _verified(archive: CsarArchive, entry: ManifestEntry, manifest_file: str) -> Iterator[BinaryIO]:
    with archive.open_member(entry.source) as stream:
        def check(digests: dict[str, str]) -> None:
            if digests[entry.algorithm] != entry.hash:
                raise ValidationFailed(f"{entry.source} does not match its hash in {manifest_file}",
                                       errors=[_hash_issue(entry, manifest_file, digests[entry.algorithm])])

        def short() -> ValidationFailed:
            return ValidationFailed(f"{entry.source} ended early",
                                    errors=[Issue("the member ended before its size", file=entry.source)])

        yield VerifyingReader(stream, archive.size_of(entry.source), [entry.algorithm], check, short)


def _hash_issue(entry: ManifestEntry, file: str, actual: str) -> Issue:
    says = ("TOSCA.meta" if file == TOSCA_META else "the manifest" if file.lower().endswith(".mf")
            else "sw_image_data")
    return Issue(f"{entry.source} has {entry.algorithm} {actual}, {says} says {entry.hash}", file, entry.hash_line)


def _image_entry(image: SwImage) -> ManifestEntry:
    return ManifestEntry(image.file, image.algorithm, image.hash, image.line or 1, image.line or 1)


class _Files:
    """The archive as tosca.read_vnfd sees it."""

    def __init__(self, archive: CsarArchive):
        self._archive = archive

    def exists(self, name: str) -> bool:
        return self._archive.exists(name)

    def read_text(self, name: str) -> str:
        return self._archive.read_text(name)


def read_csar(archive: CsarArchive, *, verify_hashes: bool = True,
              certificates: tuple[x509.Certificate, ...] = (), strict: bool = False) -> CsarPackage:
    """Read and check every part of an opened CSAR; returns the package or raises once.

    With ``verify_hashes`` every member whose hash the manifest or TOSCA.meta declares (images
    included) is streamed and its hash compared, and each image's ``sw_image_data`` checksum
    too; without, only the manifest signature is checked and members must be read with
    :meth:`CsarPackage.open_verified`.  ``certificates`` are extra certificates signatures may
    be verified with.  A package without a manifest gets one warning and a ``manifest`` that is
    not ``declared``, holding TOSCA.meta's hashed artifacts.

    Every check runs; the package comes back with its warnings. Raises ValidationFailed
    (see :func:`nfvo.domain.findings.settle`) when a finding is an error, or any is under
    ``strict``; UnsafeArchive from the archive.
    """
    issues: list[Issue] = list(archive.outer_issues)
    files = archive.files()
    parts = _meta_layout(archive, issues) if archive.exists(TOSCA_META) else _root_yaml_layout(archive, files, issues)
    manifest = _read_manifest(archive, parts, files, issues)
    vnfd = read_vnfd(_Files(archive), parts.entry, issues) if parts.entry else None
    if vnfd:
        archive.set_images(image.file for image in vnfd.images if image.file)
    if parts.layout == "root-yaml" and parts.entry:
        _check_root_metadata(archive, parts.entry, issues)
    if manifest.declared and vnfd:
        _compare_identity(manifest, vnfd, issues)
    if vnfd:
        _check_image_sizes(archive, vnfd, issues)

    package_certs = load_certificate_file(archive, parts.certificate, issues) if parts.certificate else ()
    trusted = package_certs + tuple(certificates)
    declared = _declared_hashes(manifest, parts.meta)
    artifact_signatures: list[SignatureCheck] = []
    if manifest.declared:
        exempt = {TOSCA_META, manifest.file, parts.certificate}
        exempt |= {e.signature for e in manifest.entries} | {e.certificate for e in manifest.entries}
        _check_listing(archive, manifest, declared, files, exempt, _vnfd_files(parts.entry, vnfd, files), issues)
    if verify_hashes:
        artifact_signatures = _verify_contents(archive, manifest, declared, vnfd, trusted, issues)
    manifest_signature = _verify_manifest_signature(manifest, trusted, issues)
    warnings = findings.settle(issues, archive.display_name, strict=strict)
    option = 2 if archive.package_signature else (1 if manifest_signature or artifact_signatures else None)
    security = Security(option, manifest_signature, tuple(artifact_signatures), archive.package_signature)
    return CsarPackage(parts.layout, parts.entry, parts.meta, manifest, vnfd, image_requests(vnfd), security,
                       verify_hashes, parts.change_log, parts.licenses, parts.certificate, tuple(files),
                       archive.display_name, warnings)


@dataclass
class _Parts:
    """Where the package's parts are: found by TOSCA.meta, or by the single root YAML."""

    layout: str  # "tosca-metadata" or "root-yaml"
    entry: str | None = None
    meta: ToscaMeta | None = None
    manifest: str | None = None
    change_log: str | None = None
    licenses: str | None = None
    certificate: str | None = None
    manifest_reported: bool = False  # a finding about the manifest exists: no "no manifest" warning

    def keep_existing(self, archive: CsarArchive) -> _Parts:
        for key in ("entry", "manifest", "certificate"):
            name = getattr(self, key)
            setattr(self, key, name if name and archive.exists(name) else None)
        return self


def _text_of(archive: CsarArchive, name: str, issues: list[Issue], parse):
    try:
        return parse(archive.read_text(name))
    except NfvoError as exc:
        issues.extend(exc.errors or [Issue(exc.detail, file=name)])
        return None


def _meta_layout(archive: CsarArchive, issues: list[Issue]) -> _Parts:
    meta = _text_of(archive, TOSCA_META, issues, lambda text: parse_tosca_meta(text, TOSCA_META, archive, issues))
    entries = meta.entries if meta else {}
    parts = _Parts("tosca-metadata", entries.get("Entry-Definitions"), meta, entries.get("ETSI-Entry-Manifest"),
                   entries.get("ETSI-Entry-Change-Log"), entries.get("ETSI-Entry-Licenses"),
                   entries.get("ETSI-Entry-Certificate"), meta is None or "ETSI-Entry-Manifest" in entries)
    if not parts.manifest_reported and parts.entry:
        # Not declared: SOL004 names the manifest like the entry definitions; Tacker reads none then.
        found = next((c for c in manifest_candidates(parts.entry) if archive.exists(c)), None)
        if found:
            parts.manifest, parts.manifest_reported = found, True
            issues.append(Issue(f"TOSCA.meta declares no ETSI-Entry-Manifest: read {found}, named like "
                                f"{parts.entry}, as the manifest", TOSCA_META, min(meta.lines.values(), default=1),
                                "/ETSI-Entry-Manifest", WARNING))
    return parts.keep_existing(archive)


def _root_yaml_layout(archive: CsarArchive, files: list[str], issues: list[Issue]) -> _Parts:
    roots = [f for f in files if "/" not in f and f.lower().endswith((".yaml", ".yml"))]
    if len(roots) != 1:
        found = f"found {len(roots)}: {', '.join(roots)}" if roots else "found none"
        issues.append(Issue(f"without {TOSCA_META} the package root must hold exactly one .yaml file ({found})",
                            file=roots[1] if len(roots) > 1 else TOSCA_META))
        return _Parts("root-yaml")
    base = roots[0].rsplit(".", 1)[0]
    parts = _Parts("root-yaml", roots[0], manifest=f"{base}.mf",
                   certificate=f"{base}.cert" if archive.exists(f"{base}.cert") else None)
    if not archive.exists(parts.manifest):
        parts.manifest = None
        for other in (f for f in files if "/" not in f and f.lower().endswith(".mf")):
            # As Tacker: a manifest named otherwise is refused, not skipped.
            parts.manifest_reported = True
            issues.append(Issue(f"the manifest must be named like {roots[0]} ({base}.mf), not {other}", file=other))
    return parts.keep_existing(archive)


def _read_manifest(archive: CsarArchive, parts: _Parts, files: list[str], issues: list[Issue]) -> Manifest:
    """The parsed manifest, or (none found) one warning and TOSCA.meta's hashes in its place."""
    if parts.manifest:
        name = parts.manifest
        manifest = _text_of(archive, name, issues, lambda text: parse_manifest(text, name, issues))
        if manifest is not None:
            return manifest
    elif parts.entry and not parts.manifest_reported:
        issues.append(_no_manifest(parts, files))
    artifacts = parts.meta.artifacts if parts.meta else ()
    return Manifest(TOSCA_META if parts.meta else parts.entry or "", {}, {}, artifacts, {}, declared=False)


def _no_manifest(parts: _Parts, files: list[str]) -> Issue:
    verified = "only TOSCA.meta's per-artifact hashes and sw_image_data checksums are" if parts.meta else \
        "only sw_image_data checksums are"
    if parts.meta:
        where = f"TOSCA.meta declares no ETSI-Entry-Manifest and there is no {' or '.join(manifest_candidates(parts.entry))}"
    else:
        where = f"there is no {parts.entry.rsplit('.', 1)[0]}.mf"
    strays = [f for f in files if f.lower().endswith(".mf")]
    unread = f"; {', '.join(strays)} {'is' if len(strays) == 1 else 'are'} not declared, so not read" if strays else ""
    return Issue(f"no manifest: file hashes are not verified ({where}; {verified}){unread}",
                 TOSCA_META if parts.meta else parts.entry, 1, None, WARNING)


def _check_root_metadata(archive: CsarArchive, entry: str, issues: list[Issue]) -> None:
    try:
        doc = load_yaml(archive.read_text(entry), entry)
    except NfvoError:
        return  # reported by the VNFD reader
    data = doc.data if isinstance(doc.data, dict) else {}
    if data.get("tosca_definitions_version") == "tosca_simple_yaml_1_0":
        issues.append(doc.issue("/tosca_definitions_version", f"a package without {TOSCA_META} needs "
                                                              "tosca_simple_yaml_1_1 or later"))
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        issues.append(doc.issue("/metadata", f"a package without {TOSCA_META} needs a metadata block with "
                                             f"{', '.join(ROOT_YAML_METADATA)}"))
        return
    for key in ROOT_YAML_METADATA:
        if metadata.get(key) in (None, ""):
            issues.append(doc.issue("/metadata", f"metadata '{key}' is required in a package without {TOSCA_META}"))


def _compare_identity(manifest: Manifest, vnfd: Vnfd, issues: list[Issue]) -> None:
    pairs = (("vnf_provider_id", "provider", vnfd.provider), ("vnf_product_name", "product_name", vnfd.product_name),
             ("vnf_software_version", "software_version", vnfd.software_version),
             ("vnfd_id", "descriptor_id", vnfd.descriptor_id))
    for key, prop, value in pairs:
        given = manifest.metadata.get(key)
        if given is not None and given != value:
            issues.append(Issue(f"{key} '{given}' differs from the VNFD's {prop} '{value}'", manifest.file,
                                manifest.metadata_lines.get(key), f"/metadata/{key}"))


def _declared_hashes(manifest: Manifest, meta: ToscaMeta | None) -> list[tuple[ManifestEntry, str]]:
    """Every in-package hash the package declares, with the file that declares it."""
    declared = [(e, manifest.file) for e in manifest.entries if not e.is_url]
    if manifest.declared and meta:
        declared += [(e, TOSCA_META) for e in meta.artifacts]
    return declared


def _vnfd_files(entry: str | None, vnfd: Vnfd | None, files: list[str]) -> set[str]:
    """The VNFD's files: those it read, copies of the SOL001 definitions, or (unreadable) its folder's YAML."""
    found = {name for name in files if shipped_import(name)}
    if vnfd:
        return found | set(vnfd.files)
    folder = posixpath.dirname(entry or "")
    return found | {entry} | {f for f in files if posixpath.dirname(f) == folder and f.endswith((".yaml", ".yml"))}


def _check_listing(archive: CsarArchive, manifest: Manifest, declared: list[tuple[ManifestEntry, str]],
                   files: list[str], exempt: set, vnfd_files: set[str], issues: list[Issue]) -> None:
    for entry in manifest.entries:
        if entry.is_url:
            continue
        if not archive.exists(entry.source):
            issues.append(Issue(f"'{entry.source}' is listed but not in the package", manifest.file, entry.line))
        for key in ("signature", "certificate"):
            name = getattr(entry, key)
            if name and not archive.exists(name):
                issues.append(Issue(f"{key} file '{name}' of '{entry.source}' is not in the package", manifest.file,
                                    entry.line))
    listed = {entry.source for entry, _ in declared}
    unlisted = [name for name in files if name not in listed and name not in exempt]
    # Tacker's manifests never list the VNFD: one warning, not one error per file.
    quiet = [name for name in unlisted if name in vnfd_files]
    if quiet:
        files_are = f"VNFD files {', '.join(quiet)}: their hashes are" if len(quiet) > 1 else \
            f"VNFD file {quiet[0]}: its hash is"
        issues.append(Issue(f"the manifest does not list the {files_are} not verified", manifest.file,
                            severity=WARNING))
    # SOL004 wants every file listed; Tacker does not. Unlisted, a file is not covered by the manifest's
    # signature: in a signed package that is an error, in an unsigned one its hash is merely unknown.
    signed = manifest.signature is not None
    for name in unlisted:
        if name not in vnfd_files:
            issues.append(Issue(f"not listed in the manifest {manifest.file}" + (
                ", so the manifest's signature does not cover it" if signed else ": its hash is not verified"),
                file=name, severity=ERROR if signed else WARNING))


def _check_image_sizes(archive: CsarArchive, vnfd: Vnfd, issues: list[Issue]) -> None:
    """``sw_image_data.size`` against the image file, within the rounding of the size's unit."""
    docs: dict[str, SourceDoc | None] = {}
    seen = set()
    for image in vnfd.images:
        if not image.file or not archive.exists(image.file) or (image.source_file, image.pointer) in seen:
            continue
        seen.add((image.source_file, image.pointer))
        if image.source_file not in docs:
            docs[image.source_file] = _source_doc(archive, image.source_file)
        doc = docs[image.source_file]
        pointer = f"{image.pointer}/size"
        problem = _size_problem(doc.texts.get(pointer) if doc else None, archive.size_of(image.file), image.file)
        if problem and doc:
            issues.append(Issue(problem[0], doc.file, doc.line_of(pointer), pointer, problem[1]))


def _source_doc(archive: CsarArchive, name: str) -> SourceDoc | None:
    try:
        return load_yaml(archive.read_text(name), name)
    except (NfvoError, KeyError):
        return None  # reported by the VNFD reader


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$")


def _size_problem(text: str | None, actual: int, file: str) -> tuple[str, str] | None:
    """(message, severity) when ``text`` (``16 MB``) and ``actual`` bytes differ by a whole unit or more.

    A size is written rounded to its unit: ``16 MB`` fits a file of 16.3 MB (rounded down), and so
    does ``17 MB`` (rounded up).  Smaller than that is an error (the image is not what the VNFD
    says); larger, a warning (Tacker's samples declare ``1.75 GiB`` for a 16 MB image).
    """
    match = _SIZE.match(text) if isinstance(text, str) else None
    unit = match and next((f for u, f in SIZE_UNITS.items() if u.lower() == match.group(2).lower()), None)
    if not unit:
        return None  # not a size the VNFD reader accepted, or not written in sw_image_data itself
    number = float(match.group(1))
    if actual >= (math.floor(number) + 1) * unit:
        return (f"sw_image_data.size {text.strip()} is smaller than {file}, which has {actual} bytes", ERROR)
    if number > -(-actual // unit):  # more than the file rounded up to a whole unit
        return (f"sw_image_data.size {text.strip()} is larger than {file}, which has {actual} bytes", WARNING)
    return None


def _verify_contents(archive: CsarArchive, manifest: Manifest, declared: list[tuple[ManifestEntry, str]],
                     vnfd: Vnfd | None, trusted: tuple[x509.Certificate, ...],
                     issues: list[Issue]) -> list[SignatureCheck]:
    """Stream every declared member once through each digest it needs; compare; check artifact signatures."""
    plan: dict[str, set[str]] = {}
    for entry, _ in declared:
        if archive.exists(entry.source):
            plan.setdefault(entry.source, set()).add(entry.algorithm)
    images = [image for image in (vnfd.images if vnfd else ()) if image.file and archive.exists(image.file)]
    for image in images:
        plan.setdefault(image.file, set()).add(image.algorithm)
    signatures: dict[str, tuple[ManifestEntry, cms.SignedData]] = {}
    for entry in manifest.entries:
        if entry.signature and archive.exists(entry.signature) and entry.source in plan:
            signed = load_signature(archive, entry.signature, issues, line=entry.line, file=manifest.file)
            if signed:
                signatures[entry.source] = (entry, signed)
                plan[entry.source].add(signed.digest_algorithm)
    digests = {name: _digest_member(archive, name, algorithms, issues) for name, algorithms in plan.items()}
    for entry, file in declared:
        found = digests.get(entry.source)
        if found and found[entry.algorithm].hex() != entry.hash:
            issues.append(_hash_issue(entry, file, found[entry.algorithm].hex()))
    for image in images:
        found = digests.get(image.file)
        if found and found[image.algorithm].hex() != image.hash:
            issues.append(Issue(f"{image.file} has {image.algorithm} {found[image.algorithm].hex()}, "
                                f"sw_image_data says {image.hash}", image.source_file, image.line,
                                f"{image.pointer}/checksum/hash"))
    return _verify_artifact_signatures(archive, manifest, signatures, digests, trusted, issues)


def _verify_artifact_signatures(archive: CsarArchive, manifest: Manifest,
                                signatures: dict[str, tuple[ManifestEntry, cms.SignedData]],
                                digests: dict[str, dict[str, bytes] | None], trusted: tuple[x509.Certificate, ...],
                                issues: list[Issue]) -> list[SignatureCheck]:
    checks = []
    for source, (entry, signed) in signatures.items():
        found = digests.get(source)
        if not found:
            continue
        extra = trusted
        if entry.certificate and archive.exists(entry.certificate):
            extra = load_certificate_file(archive, entry.certificate, issues, line=entry.line,
                                           file=manifest.file) + trusted
        try:
            cert = signed.verify(found[signed.digest_algorithm], extra)
            checks.append(signature_check(source, entry.signature, cert))
        except cms.CmsError as exc:
            issues.append(Issue(f"signature {entry.signature} of '{source}' does not verify: {exc}", manifest.file,
                                entry.line))
    return checks


def _digest_member(archive: CsarArchive, name: str, algorithms: set[str],
                   issues: list[Issue]) -> dict[str, bytes] | None:
    digests = [(a, hashlib.new(a)) for a in sorted(algorithms)]
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        with archive.open_member(name) as stream:
            while got := stream.readinto(buffer):
                for _, digest in digests:
                    digest.update(view[:got])
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        issues.append(Issue(f"corrupt entry ({exc})", file=name))
        return None
    return {a: d.digest() for a, d in digests}


def _verify_manifest_signature(manifest: Manifest, trusted: tuple[x509.Certificate, ...],
                               issues: list[Issue]) -> SignatureCheck | None:
    if manifest.signature is None:
        return None
    where = (manifest.file, manifest.signature_line)
    try:
        signed = cms.load(manifest.signature)
    except cms.CmsError as exc:
        issues.append(Issue(f"the manifest signature cannot be read: {exc}", *where))
        return None
    # The signed text is the manifest up to the CMS block; a signer may or may not have
    # included the line break that ends the last line before it.
    candidates = [manifest.signed_text]
    if manifest.signed_text.endswith(b"\n"):
        candidates.append(manifest.signed_text.rstrip(b"\r\n"))
    error = None
    for text in candidates:
        try:
            cert = signed.verify(hashlib.new(signed.digest_algorithm, text).digest(), trusted)
            return signature_check(manifest.file, manifest.file, cert)
        except cms.CmsError as exc:
            error = error or exc
    issues.append(Issue(f"the manifest signature does not verify: {error}", *where))
    return None


def image_requests(vnfd: Vnfd) -> tuple[ImageRequest, ...]:
    """One ImageRequest per distinct software image of the VNFD, naming the VNFD file that declares it.

    Images with the same name, checksum and file/URL are one request (keyed by the first VDU
    node); ``min_disk`` becomes whole GiB and ``min_ram`` whole MiB, as VIMs count them.
    """
    requests: dict[tuple, ImageRequest] = {}
    for image in vnfd.images:
        identity = (image.name, image.algorithm, image.hash, image.file, image.link)
        if identity in requests:
            continue
        config = ImageConfig(name=image.name, disk_format=image.disk_format.lower(),
                             container_format=image.container_format.lower(),
                             min_disk=math.ceil(image.min_disk / 2**30), min_ram=math.ceil(image.min_ram / 2**20))
        upload = "check" if (image.file or image.link) else "false"
        requests[identity] = ImageRequest(key=image.node, upload=upload, names=(image.name,), link=image.link,
                                          file=image.file, config=config, source_line=image.line,
                                          pointer=image.pointer, source_file=image.source_file, stated=False,
                                          digest=(image.algorithm, image.hash),
                                          digest_pointer=f"{image.pointer}/checksum/hash", size=image.size)
    return tuple(requests.values())


# building ---------------------------------------------------------------------------
def build_csar(directory: str | os.PathLike, out: str | os.PathLike) -> pathlib.Path:
    """Zip a CSAR directory into ``out`` (deflated, except files over 1 MiB that are stored,
    as images are mostly compressed already).  Links are refused (ValueError); entries are sorted."""
    directory, out = pathlib.Path(directory), pathlib.Path(out)
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_symlink():
                raise ValueError(f"{path}: symbolic links cannot go into a package")
            if path.is_file():
                method = zipfile.ZIP_STORED if path.stat().st_size > _STORE_OVER else zipfile.ZIP_DEFLATED
                info = zipfile.ZipInfo.from_file(path, path.relative_to(directory).as_posix())
                info.compress_type = method
                with open(path, "rb") as source, zf.open(info, "w") as target:
                    shutil.copyfileobj(source, target, CHUNK)
    return out

