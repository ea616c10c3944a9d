"""The text parts of a SOL004 CSAR: TOSCA.meta (with its per-artifact blocks) and the manifest.

Pure: these read text they are given and ask the archive object only whether members exist.
Every finding is appended to ``issues`` with its severity; nothing is raised.
"""

from __future__ import annotations

import datetime
import difflib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.tosca import digest_name, hash_problem
from nfvo.errors import ERROR, WARNING, Issue

TOSCA_META = "TOSCA-Metadata/TOSCA.meta"
META_REQUIRED = ("TOSCA-Meta-File-Version", "CSAR-Version", "Created-By", "Entry-Definitions")
# Tacker documents the manifest and the change log as optional, and most of its samples have neither.
META_OPTIONAL = ("ETSI-Entry-Manifest", "ETSI-Entry-Change-Log", "ETSI-Entry-Licenses", "ETSI-Entry-Tests",
                 "ETSI-Entry-Certificate", "Other-Definitions")
#: spellings other producers write (TOSCA-Meta 1.1 without the ETSI prefix), read as the SOL004 key
META_ALIASES = {"Entry-Manifest": "ETSI-Entry-Manifest", "Entry-Change-Log": "ETSI-Entry-Change-Log",
                "Entry-Licenses": "ETSI-Entry-Licenses", "Entry-Tests": "ETSI-Entry-Tests",
                "Entry-Certificate": "ETSI-Entry-Certificate"}
META_VERSIONS = {"TOSCA-Meta-File-Version": ("1.0", "1.1"), "CSAR-Version": ("1.0", "1.1", "2.0")}
MANIFEST_REQUIRED = ("vnf_provider_id", "vnf_product_name", "vnf_release_date_time", "vnf_package_version")
MANIFEST_OPTIONAL = ("vnfd_id", "vnf_software_version", "compatible_specification_versions", "vnfm_info")
_ENTRY_KEYS = ("Source", "Algorithm", "Hash", "Signature", "Certificate")
_ARTIFACT_KEYS = ("Name", "Source", "Content-Type", "Algorithm", "Hash")
_KEY_LINE = re.compile(r"^([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*$")
_QUOTED = re.compile(r"^(['\"])(.*)\1$")


class Members(Protocol):
    """What the parsers ask of the archive."""

    def exists(self, name: str) -> bool: ...

    def is_dir(self, name: str) -> bool: ...


def blocks(text: str) -> Iterator[list[tuple[int, str]]]:
    """Blocks of non-blank (line number, line) separated by blank lines."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


# entries (manifest blocks and TOSCA.meta artifact blocks) ---------------------------------
@dataclass(frozen=True)
class ManifestEntry:
    """One ``Source`` block: ``algorithm`` is the hashlib name, ``hash`` lower-case hex.

    ``source`` is a member name, or a URL (``is_url``) of an artifact outside the package.
    ``signature``/``certificate`` name per-artifact files in the package.  ``line`` is the
    block's first line, ``hash_line`` the line of ``Hash:``.  TOSCA.meta's ``Name:`` blocks
    that carry a hash are entries too.
    """

    source: str
    algorithm: str
    hash: str
    line: int
    hash_line: int
    signature: str | None = None
    certificate: str | None = None

    @property
    def is_url(self) -> bool:
        return "://" in self.source


def _hashed_entry(source: str, values: dict[str, tuple[str, int]], file: str, first: int,
                  issues: list[Issue]) -> ManifestEntry | None:
    """The entry of ``source`` from its ``Algorithm``/``Hash`` values, or None (with an Issue)."""
    algorithm_text, algorithm_line = values["Algorithm"]
    algorithm = digest_name(algorithm_text)
    if algorithm is None:
        issues.append(Issue(f"unsupported algorithm {algorithm_text!r} of '{source}' (use SHA-224, SHA-256, "
                            "SHA-384 or SHA-512)", file, algorithm_line))
        return None
    hash_text, hash_line = values["Hash"]
    problem = hash_problem(algorithm, hash_text)
    if problem:
        issues.append(Issue(f"{problem} (the hash of '{source}')", file, hash_line))
        return None
    return ManifestEntry(source, algorithm, hash_text.lower(), first, hash_line)


# TOSCA.meta -------------------------------------------------------------------------
@dataclass(frozen=True)
class ToscaMeta:
    """TOSCA.meta: the first block's keys (spelled as in META_REQUIRED/META_OPTIONAL) and lines.

    ``artifacts`` are the later blocks that declare a hash (``Name:``, ``Algorithm:``, ``Hash:``);
    ``other_blocks`` every later block as written (values unquoted).
    """

    entries: dict[str, str]
    lines: dict[str, int]
    other_blocks: tuple[dict[str, str], ...]
    artifacts: tuple[ManifestEntry, ...] = ()

    def artifact(self, source: str) -> ManifestEntry | None:
        return next((e for e in self.artifacts if e.source == source), None)


@dataclass
class _MetaReader:
    file: str
    archive: Members
    issues: list[Issue]
    quoted: list[tuple[str, int]]

    def key_values(self, block: list[tuple[int, str]]) -> Iterator[tuple[int, str, str]]:
        for number, line in block:
            match = _KEY_LINE.match(line)
            if not match:
                self.issues.append(Issue(f"not a 'Key: value' line: {line.strip()[:60]!r}", self.file, number))
                continue
            key, value = match.groups()
            unquoted = _QUOTED.match(value)
            if unquoted:
                self.quoted.append((key, number))
                value = unquoted.group(2)
            yield number, key, value

    def first_block(self, block: list[tuple[int, str]]) -> tuple[dict[str, str], dict[str, int]]:
        known = META_REQUIRED + META_OPTIONAL
        values: dict[str, str] = {}
        lines: dict[str, int] = {}
        for number, key, value in self.key_values(block):
            canonical = next((k for k in known + tuple(META_ALIASES) if k.lower() == key.lower()), None)
            if canonical is None:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
                if close:
                    self.issues.append(Issue(f"unknown key '{key}' (did you mean '{close[0]}'?)", self.file, number,
                                             f"/{key}"))
                continue
            if canonical in META_ALIASES:
                self.issues.append(Issue(f"'{key}' is read as '{META_ALIASES[canonical]}', the key SOL004 names",
                                         self.file, number, f"/{key}", WARNING))
                canonical = META_ALIASES[canonical]
            if canonical in values:
                also = f" (the same as '{canonical}')" if canonical.lower() != key.lower() else ""
                self.issues.append(Issue(f"duplicate key '{key}'{also}", self.file, number, f"/{key}"))
                continue
            if not value:
                self.issues.append(Issue(f"'{canonical}' has no value", self.file, number, f"/{canonical}"))
            values[canonical] = value
            lines[canonical] = number
        return values, lines

    def artifact_block(self, block: list[tuple[int, str]]) -> tuple[dict[str, str], ManifestEntry | None]:
        written: dict[str, str] = {}
        values: dict[str, tuple[str, int]] = {}
        for number, key, value in self.key_values(block):
            written[key] = value
            canonical = next((k for k in _ARTIFACT_KEYS if k.lower() == key.lower()), None)
            if canonical is None:
                close = difflib.get_close_matches(key, _ARTIFACT_KEYS, n=1, cutoff=0.8)
                if close:
                    self.issues.append(Issue(f"unknown key '{key}' (did you mean '{close[0]}'?)", self.file,
                                             number, f"/{key}"))
                continue
            if canonical == "Source":  # Tacker reads Source: as Name:
                canonical = "Name"
            if canonical in values:
                self.issues.append(Issue(f"duplicate '{canonical}' in one block", self.file, number, f"/{canonical}"))
                continue
            if not value:
                self.issues.append(Issue(f"'{canonical}' has no value", self.file, number, f"/{canonical}"))
                continue
            values[canonical] = (value, number)
        return written, self._artifact(block[0][0], values)

    def _artifact(self, first: int, values: dict[str, tuple[str, int]]) -> ManifestEntry | None:
        hashed = [k for k in ("Algorithm", "Hash") if k in values]
        if "Name" not in values:
            if hashed:
                self.issues.append(Issue(f"a block with {' and '.join(f'{k}:' for k in hashed)} needs a 'Name:' "
                                         "line", self.file, first))
            return None
        text = values["Name"][0]
        if "://" in text:
            if urlsplit(text).scheme not in ("http", "https"):
                self.issues.append(Issue(f"'{text}' is neither a path in the package nor an http(s) URL",
                                         self.file, first, "/Name"))
            return None  # outside the package: not verifiable offline
        name, problem = normalise_member_name(text)
        if problem or not name:
            self.issues.append(Issue(f"Name '{text}': {problem or 'empty path'}", self.file, first, "/Name"))
            return None
        if not (self.archive.exists(name) or self.archive.is_dir(name)):
            self.issues.append(Issue(f"'{text}' is not in the package", self.file, first, "/Name"))
            return None
        if len(hashed) == 1:
            missing = "Hash" if hashed == ["Algorithm"] else "Algorithm"
            self.issues.append(Issue(f"the block of '{name}' has {hashed[0]}: but no {missing}: line", self.file,
                                     first))
            return None
        if not hashed:
            return None
        if not self.archive.exists(name):
            self.issues.append(Issue(f"'{name}' is a folder: it cannot have a hash", self.file, values["Hash"][1],
                                     "/Hash"))
            return None
        return _hashed_entry(name, values, self.file, first, self.issues)


def parse_tosca_meta(text: str, file: str, archive: Members, issues: list[Issue]) -> ToscaMeta:
    """Read TOSCA.meta; every key of the first block is checked and every file it names must exist.

    Keys are matched in any case (``Created-by`` is ``Created-By``); an unknown key close to a
    known one is reported as a typo, other unknown keys are extensions and ignored.  The
    ``Entry-*`` spellings without ``ETSI-`` are read with a warning.  Quoted values
    (``CSAR-Version: '1.1'``) are read without the quotes, with one warning.  Later blocks that
    name a file with ``Algorithm:`` and ``Hash:`` become :attr:`ToscaMeta.artifacts`; a block
    naming an absent file, a half-declared hash or an unknown algorithm is an error.  A missing
    change log is a warning.
    """
    reader = _MetaReader(file, archive, issues, [])
    entries: dict[str, str] = {}
    lines: dict[str, int] = {}
    others, artifacts, seen = [], [], {}
    for index, block in enumerate(blocks(text)):
        if index == 0:
            entries, lines = reader.first_block(block)
            continue
        written, artifact = reader.artifact_block(block)
        others.append(written)
        if artifact is None:
            continue
        first = seen.get(artifact.source)
        if first is not None:
            # Tacker reads a block repeated word for word once; a second, different hash is a conflict.
            same = (first.algorithm, first.hash) == (artifact.algorithm, artifact.hash)
            issues.append(Issue(f"'{artifact.source}' is listed twice (first at line {first.line})"
                                + ("; the same block, read once" if same else " with another hash"), file,
                                artifact.line, "/Name", WARNING if same else ERROR))
            continue
        seen[artifact.source] = artifact
        artifacts.append(artifact)
    _check_first_block(entries, lines, file, archive, issues)
    if reader.quoted:
        keys = ", ".join(dict.fromkeys(k for k, _ in reader.quoted))
        key, number = reader.quoted[0]
        issues.append(Issue(f"quoted values ({keys}) are read without their quotes: TOSCA.meta is 'Key: value' "
                            "text, not YAML", file, number, f"/{key}", WARNING))
    normalised = {k: normalise_member_name(v)[0] if k != "Other-Definitions" else v for k, v in entries.items()}
    return ToscaMeta(normalised, lines, tuple(others), tuple(artifacts))


def _check_first_block(entries: dict[str, str], lines: dict[str, int], file: str, archive: Members,
                       issues: list[Issue]) -> None:
    first_line = min(lines.values(), default=1)
    for key in META_REQUIRED:
        if key not in entries:
            issues.append(Issue(f"'{key}' is required", file, first_line, f"/{key}"))
    if "ETSI-Entry-Change-Log" not in entries:
        issues.append(Issue("no ETSI-Entry-Change-Log: the package declares no change log", file, first_line,
                            "/ETSI-Entry-Change-Log", WARNING))
    for key, allowed in META_VERSIONS.items():
        if entries.get(key) and entries[key] not in allowed:
            issues.append(Issue(f"{key} must be {' or '.join(allowed)}, not {entries[key]!r}", file, lines[key],
                                f"/{key}"))
    checks = {"Entry-Definitions": (".yaml", ".yml"), "ETSI-Entry-Manifest": (".mf",)}
    for key, value in entries.items():
        if key in ("TOSCA-Meta-File-Version", "CSAR-Version", "Created-By") or not value:
            continue
        targets = value.split() if key == "Other-Definitions" else [value]
        for target in targets:
            name, problem = normalise_member_name(target)
            where = (file, lines[key], f"/{key}")
            if problem:
                issues.append(Issue(f"'{target}': {problem}", *where))
            elif key in checks and not name.lower().endswith(checks[key]):
                issues.append(Issue(f"'{target}' must be a {' or '.join(checks[key])} file", *where))
            elif not archive.exists(name) and not (key in ("ETSI-Entry-Licenses", "ETSI-Entry-Tests")
                                                   and archive.is_dir(name)):
                issues.append(Issue(f"'{target}' is not in the package", *where))


def manifest_candidates(entry: str) -> tuple[str, ...]:
    """Where an undeclared manifest may be: ``<entry name>.mf`` at the root, then beside ``entry``."""
    base = posixpath.basename(entry).rsplit(".", 1)[0] + ".mf"
    beside = posixpath.join(posixpath.dirname(entry), base)
    return tuple(dict.fromkeys((base, beside)))


# the manifest -----------------------------------------------------------------------
@dataclass(frozen=True)
class Manifest:
    """A parsed ``.mf``: metadata, entries, and the CMS block that may end it.

    ``declared`` is False for a package without a manifest: ``file`` is then TOSCA.meta (or the
    root YAML) and ``entries`` are TOSCA.meta's hashed artifact blocks, if any.
    """

    file: str
    metadata: dict[str, str]
    metadata_lines: dict[str, int]
    entries: tuple[ManifestEntry, ...]
    non_mano_artifacts: dict[str, tuple[str, ...]]
    signature: str | None = None  # the PEM text of the CMS block
    signature_line: int | None = None
    signed_text: bytes = b""  # the manifest bytes before the CMS block
    declared: bool = True

    def entry(self, source: str) -> ManifestEntry | None:
        wanted = normalise_member_name(source)[0] or source
        return next((e for e in self.entries if e.source == wanted), None)


def _signature_block(text: str, file: str, issues: list[Issue]) -> tuple[str, str | None, int | None]:
    """The manifest body before its CMS block, the block, and the block's line."""
    begin = re.search(r"^-----BEGIN CMS-----[ \t]*\r?$", text, re.MULTILINE)
    if not begin:
        return text, None, None
    signature = None
    signature_line = text.count("\n", 0, begin.start()) + 1
    end = re.search(r"^-----END CMS-----[ \t]*\r?$", text[begin.start():], re.MULTILINE)
    if end is None:
        issues.append(Issue("the CMS signature block has no -----END CMS----- line", file, signature_line))
    else:
        stop = begin.start() + end.end()
        signature = text[begin.start():stop]
        if text[stop:].strip():
            issues.append(Issue("nothing may follow the CMS signature block", file, text.count("\n", 0, stop) + 2))
    return text[:begin.start()], signature, signature_line


def parse_manifest(text: str, file: str, issues: list[Issue]) -> Manifest:
    """Parse a SOL004 manifest, appending an Issue (file, line) for each problem.

    Algorithms ``SHA-224/256/384/512`` are accepted in any case with or without the dash;
    hashes are hex in any case.  Every entry needs ``Source``, ``Algorithm`` and ``Hash``.
    A manifest without a ``metadata:`` block (as Tacker's samples are) is one warning.
    """
    body, signature, signature_line = _signature_block(text, file, issues)
    metadata: dict[str, str] = {}
    metadata_lines: dict[str, int] = {}
    entries: list[ManifestEntry] = []
    non_mano: dict[str, tuple[str, ...]] = {}
    sources: dict[str, int] = {}
    found = list(blocks(body))
    heads = [block[0][1].strip() for block in found]
    first = found[0][0][0] if found else 1
    if "metadata:" not in heads:
        issues.append(Issue(f"the manifest has no 'metadata:' block ({', '.join(MANIFEST_REQUIRED)}): the "
                            "package's identity is the VNFD's alone", file, first, "/metadata", WARNING))
    elif heads[0] != "metadata:":
        issues.append(Issue("a manifest starts with a 'metadata:' block", file, first))
    for block, head in zip(found, heads, strict=True):
        if head == "metadata:":
            _manifest_metadata(block[1:], file, metadata, metadata_lines, issues)
        elif head == "non_mano_artifact_sets:":
            _non_mano(block[1:], file, non_mano, issues)
        else:
            entry = _manifest_entry(block, file, issues)
            if entry is None:
                continue
            if entry.source in sources:
                issues.append(Issue(f"'{entry.source}' is listed twice (first at line {sources[entry.source]})",
                                    file, entry.line))
                continue
            sources[entry.source] = entry.line
            entries.append(entry)
    if "metadata:" in heads:
        for key in MANIFEST_REQUIRED:
            if key not in metadata:
                issues.append(Issue(f"metadata '{key}' is required", file, first, f"/metadata/{key}"))
    return Manifest(file, metadata, metadata_lines, tuple(entries), non_mano, signature, signature_line,
                    body.encode("utf-8"))


def _non_mano(block: list[tuple[int, str]], file: str, non_mano: dict[str, tuple[str, ...]],
              issues: list[Issue]) -> None:
    current = None
    for number, line in block:
        match = _KEY_LINE.match(line.strip())
        if match and not match.group(2) and line.startswith((" ", "\t")):
            current = match.group(1)
            non_mano[current] = ()
        elif match and match.group(1) == "Source" and current:
            non_mano[current] += (match.group(2),)
        else:
            issues.append(Issue(f"unexpected line in non_mano_artifact_sets: {line.strip()[:60]!r}", file, number))


def _manifest_metadata(block: list[tuple[int, str]], file: str, metadata: dict[str, str],
                       lines: dict[str, int], issues: list[Issue]) -> None:
    known = MANIFEST_REQUIRED + MANIFEST_OPTIONAL
    for number, line in block:
        match = _KEY_LINE.match(line.strip())
        if not match:
            issues.append(Issue(f"not a 'name: value' line: {line.strip()[:60]!r}", file, number))
            continue
        key, value = match.groups()
        pointer = f"/metadata/{key}"
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
            if close:
                issues.append(Issue(f"unknown metadata '{key}' (did you mean '{close[0]}'?)", file, number, pointer))
            continue
        if key in metadata:
            issues.append(Issue(f"duplicate metadata '{key}'", file, number, pointer))
            continue
        if not value:
            issues.append(Issue(f"metadata '{key}' has no value", file, number, pointer))
        elif key == "vnf_release_date_time" and not _rfc3339(value):
            issues.append(Issue(f"'{value}' is not an RFC 3339 date-time with a time zone "
                                "(e.g. 2024-05-01T12:00:00+00:00)", file, number, pointer))
        metadata[key] = value
        lines[key] = number


def _rfc3339(value: str) -> bool:
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value.upper() and parsed.tzinfo is not None


def _entry_values(block: list[tuple[int, str]], file: str, issues: list[Issue]) -> dict[str, tuple[str, int]]:
    values: dict[str, tuple[str, int]] = {}
    for number, line in block:
        match = _KEY_LINE.match(line.strip())
        if not match:
            issues.append(Issue(f"not a 'Key: value' line: {line.strip()[:60]!r}", file, number))
            continue
        key, value = match.groups()
        canonical = next((k for k in _ENTRY_KEYS if k.lower() == key.lower()), None)
        if canonical is None:
            close = difflib.get_close_matches(key, _ENTRY_KEYS, n=1, cutoff=0.7)
            if close:
                issues.append(Issue(f"unknown key '{key}' (did you mean '{close[0]}'?)", file, number))
            continue
        if canonical in values:
            issues.append(Issue(f"duplicate '{canonical}' in one entry", file, number))
            continue
        values[canonical] = (value, number)
    return values


def _manifest_entry(block: list[tuple[int, str]], file: str, issues: list[Issue]) -> ManifestEntry | None:
    values = _entry_values(block, file, issues)
    first = block[0][0]
    if "Source" not in values:
        issues.append(Issue("an entry needs a 'Source:' line", file, first))
        return None
    source, _ = values["Source"]
    if "://" in source:
        if urlsplit(source).scheme not in ("http", "https"):
            issues.append(Issue(f"'{source}' is neither a path in the package nor an http(s) URL", file, first))
    else:
        normalised, problem = normalise_member_name(source)
        if problem or not normalised:
            issues.append(Issue(f"Source '{source}': {problem or 'empty path'}", file, first))
            return None
        source = normalised
    missing = [key for key in ("Algorithm", "Hash") if key not in values]
    if missing:
        issues.append(Issue(f"the entry of '{source}' has no {' and no '.join(f'{k}:' for k in missing)} line",
                            file, first))
        return None
    entry = _hashed_entry(source, values, file, first, issues)
    if entry is None:
        return None
    extra = {}
    for key in ("Signature", "Certificate"):
        if key in values:
            name, problem = normalise_member_name(values[key][0])
            if problem or not name:
                issues.append(Issue(f"{key} '{values[key][0]}': {problem or 'empty path'}", file, values[key][1]))
            else:
                extra[key.lower()] = name
    return ManifestEntry(entry.source, entry.algorithm, entry.hash, first, entry.hash_line, **extra)
