"""The Open Baton VNF package format: Metadata.yaml, one VNFD ``*.json``, ``scripts/``, ``images/``.

Layout: ``Metadata.yaml`` at the root (any case), exactly one ``*.json`` VNFD at the root,
an optional flat ``scripts/`` and an optional flat ``images/``.  macOS ``._*`` companion
files are ignored, as Open Baton did; any other extra file is ignored too.  The image rules
below are :mod:`nfvo.domain.openbaton_images`'s; scalar values are read as
:mod:`nfvo.domain.openbaton_values` says.

Every finding is an error (the package is refused) or a warning (kept and shown; an error
under strict validation).  Every Open Baton release read Metadata.yaml into a map and
ignored keys it did not know, so an unknown key (``shared: true``) is a warning, with a
"did you mean" when a known key is close; a known key with a wrong value is an error.

Required keys follow the ``nfvo_version`` (alias ``nfvo-version``) the package declares,
as Open Baton 4.x itself checked them: a package for 4.x (major version 4) needs ``name``,
``image`` (or ``images``) and ``vim_types``, and a missing ``vendor`` (alias ``provider``,
which 4.x never read) is only a warning.  Every other package, one that declares no
``nfvo_version`` included, needs ``name``, ``vendor`` and ``vim_types``: since 5.0 the vendor
identifies a package, and a package that does not say it targets 4.x gets the stricter rules.
A VNFD without ``vendor`` takes the one of Metadata.yaml.

Metadata.yaml names the images of a package in one of two ways, never both:

* Legacy ``image`` + ``image-config`` (Open Baton up to 5.x) gives one ImageRequest with key
  ``image``.  ``upload`` is true, false or check, as a YAML boolean or a string in any case.
  Open Baton never defined how Metadata names an image file shipped in the package, so
  nfvo reads ``image.file: images/<name>``; without ``link`` and ``file``, a package whose
  ``images/`` holds exactly one file uses that file.  As in Open Baton's own check, upload
  false *and* check need ``ids`` or ``names`` to look the image up.
* The ``images:`` map (Open Baton HEAD, its "image repository"): each key is an image name,
  each value has an optional ``url``, required ``diskFormat`` and ``containerFormat``, and
  ``minCPU``/``minDisk``/``minRam`` (default 0) and ``isPublic`` (default false).  Without a
  ``url`` the package must hold the image file: the one ``file: images/<file>`` names (so an
  image name such as ``acme/fw:1.2`` can come from the package), else ``images/<key>``, named
  exactly like the key.  Open Baton uploaded such an image lazily, at deploy time, to any VIM
  that lacked an image of that name; nfvo resolves it at onboarding instead, as
  ``upload: check`` looked up by that name.

An image ``link`` (or ``url``) is an http(s) URL, a ``docker://<reference>``, or a bare Docker
reference (``mongo:latest``, ``acme/fw:1.2@sha256:<digest>``, as real packages for Docker VIMs
give it), which nfvo stores as ``docker://<reference>``.  A bare reference in a
package whose ``vim_types`` name a type other than ``docker`` is an error: those VIMs cannot
pull it.

Every VDU whose ``vm_image`` is empty (or ``[""]``) gets the resolved images.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nfvo.domain import findings, json_schema
from nfvo.domain import openbaton_values as values
from nfvo.domain.archive import PackageArchive
from nfvo.domain.images import ImageRequest
from nfvo.domain.openbaton_images import legacy_image, repository_images
from nfvo.domain.sources import SourceDoc, load_json, load_yaml
from nfvo.errors import Issue, ValidationFailed

METADATA = "Metadata.yaml"
METADATA_MAX_SIZE = 256 * 2**10  # a few KiB in practice; the VNFD keeps the archive's text limit
MAX_ISSUES = findings.MAX_LISTED
_ALIASES = (("vendor", "provider"), ("nfvo_version", "nfvo-version"), ("vim_types", "vim-types"))


@dataclass(frozen=True)
class Metadata:
    """Metadata.yaml, aliases resolved and values normalised."""

    name: str
    vendor: str
    version: str
    nfvo_version: str | None
    vim_types: tuple[str, ...]
    description: str | None
    scripts_link: str | None
    images: tuple[ImageRequest, ...]  # from legacy image+image-config, or the images: map
    tag: str | None
    os_id: str | None
    os_version: str | None
    os_architecture: str | None
    raw: dict  # the whole parsed Metadata.yaml


@dataclass(frozen=True)
class OpenBatonPackage:
    """A package whose Metadata.yaml and VNFD passed every check."""

    metadata: Metadata
    metadata_file: str
    vnfd: dict  # as parsed, with ``vendor`` taken from Metadata when the VNFD omits it
    vnfd_file: str
    vnfd_source: SourceDoc
    scripts: tuple[str, ...]
    image_files: tuple[str, ...]
    warnings: tuple[Issue, ...] = ()  # findings that did not refuse it


@dataclass
class _Layout:
    metadata_file: str | None
    vnfd_file: str | None
    scripts: tuple[str, ...]
    image_files: tuple[str, ...]


def read_package(archive: PackageArchive, *, strict: bool = False) -> OpenBatonPackage:
    """Read and validate the layout, Metadata.yaml, the VNFD and its scripts of an opened package.

    Every check runs; the package comes back with its warnings. Lifecycle scripts are
    checked against ``scripts/`` unless Metadata.yaml has a ``scripts-link`` (checked by
    :func:`missing_scripts` once the link is fetched). Raises ValidationFailed (see
    :func:`nfvo.domain.findings.settle`) when a finding is an error, or any is under
    ``strict``; UnsafeArchive when Metadata.yaml is over ``METADATA_MAX_SIZE`` or the VNFD
    over the archive's text limit.
    """
    issues: list[Issue] = []
    layout = _read_layout(archive, issues)
    meta_doc = _load(archive, layout.metadata_file, load_yaml, issues, max_size=METADATA_MAX_SIZE)
    vnfd_doc = _load(archive, layout.vnfd_file, load_json, issues)
    metadata = _read_metadata(meta_doc, layout, issues) if meta_doc else None
    vnfd = _check_vnfd(vnfd_doc, metadata, issues) if vnfd_doc else None
    if vnfd is not None and not (metadata and metadata.scripts_link):
        issues += _missing_scripts(vnfd, vnfd_doc, [posixpath.basename(s) for s in layout.scripts])
    warnings = findings.settle(issues, archive.display_name, strict=strict)
    return OpenBatonPackage(metadata, layout.metadata_file, vnfd, layout.vnfd_file, vnfd_doc,
                            layout.scripts, layout.image_files, warnings)


def lifecycle_scripts(vnfd: dict) -> list[tuple[str, str]]:
    """(JSON pointer, script name) for every script a lifecycle event names.

    Covers ``lifecycle_event[*].lifecycle_events[*]`` of the VNFD and of each VDU (the two
    places Open Baton's catalogue has lifecycle events); malformed parts are skipped.
    """
    found: list[tuple[str, str]] = []

    def collect(events: Any, pointer: str) -> None:
        for i, event in enumerate(events if isinstance(events, list) else []):
            scripts = event.get("lifecycle_events") if isinstance(event, dict) else None
            for j, script in enumerate(scripts if isinstance(scripts, list) else []):
                if isinstance(script, str) and script.strip():
                    found.append((f"{pointer}/{i}/lifecycle_events/{j}", script))

    collect(vnfd.get("lifecycle_event"), "/lifecycle_event")
    vdus = vnfd.get("vdu")
    for i, vdu in enumerate(vdus if isinstance(vdus, list) else []):
        if isinstance(vdu, dict):
            collect(vdu.get("lifecycle_event"), f"/vdu/{i}/lifecycle_event")
    return found


def missing_scripts(package: OpenBatonPackage, available: Iterable[str]) -> list[Issue]:
    """An Issue (file=vnfd_file, line, pointer) for each lifecycle script not in ``available``.

    ``available`` holds plain script file names (``install.sh``).
    """
    return _missing_scripts(package.vnfd, package.vnfd_source, available)


def _missing_scripts(vnfd: dict, source: SourceDoc, available: Iterable[str]) -> list[Issue]:
    have = set(available)
    return [source.issue(pointer, f"script '{script}' named by a lifecycle event is not among the package's scripts")
            for pointer, script in lifecycle_scripts(vnfd) if script not in have]


def fill_vm_images(vnfd: dict, names_by_vdu: Mapping[int, list[str]]) -> dict:
    """A deep copy of ``vnfd`` where each VDU (by index) whose vm_image is empty or ``[""]``
    gets the given names; VDUs that name images keep them.  IndexError for an unknown index."""
    filled = copy.deepcopy(vnfd)
    for index, names in names_by_vdu.items():
        vdu = filled["vdu"][index]
        if _needs_image(vdu.get("vm_image")):
            vdu["vm_image"] = list(names)
    return filled


# layout -------------------------------------------------------------------------------
def _read_layout(archive: PackageArchive, issues: list[Issue]) -> _Layout:
    files = [f for f in archive.files() if not posixpath.basename(f).startswith("._")]
    root = [f for f in files if "/" not in f]
    metadata_file = archive.find(METADATA, case_insensitive=True)
    vnfd_files = [f for f in root if f.casefold().endswith(".json")]
    if metadata_file is None or metadata_file not in root:
        metadata_file = None
        issues.append(Issue(f"{METADATA} is missing from the package root", file=METADATA))
    elif len(spellings := [f for f in root if f.casefold() == metadata_file.casefold()]) > 1:
        metadata_file = None
        issues.append(Issue(f"several {METADATA} files: {', '.join(spellings)}", file=spellings[1]))
    if not vnfd_files:
        issues.append(Issue("no VNFD: the package root holds no *.json file"))
    elif len(vnfd_files) > 1:
        issues.append(Issue(f"exactly one VNFD *.json is expected at the package root, found "
                            f"{len(vnfd_files)}: {', '.join(vnfd_files)}", file=vnfd_files[1]))

    flat: dict[str, list[str]] = {"scripts": [], "images": []}
    nested: set[str] = set()
    for name, member in sorted(archive.members.items()):
        top, _, rest = name.partition("/")
        if top not in flat or not rest or posixpath.basename(name).startswith("._"):
            continue
        if "/" in rest or member.is_dir:
            folder = f"{top}/{rest.split('/')[0]}"
            if folder not in nested:
                nested.add(folder)
                issues.append(Issue(f"{top}/ must be flat: sub-folder '{folder}' is not allowed",
                                    file=folder))
        else:
            flat[top].append(name)
    return _Layout(metadata_file,
                   vnfd_files[0] if len(vnfd_files) == 1 else None,
                   tuple(flat["scripts"]), tuple(flat["images"]))


def _load(archive: PackageArchive, name: str | None, loader, issues: list[Issue], *,
          max_size: int | None = None) -> SourceDoc | None:
    if name is None:
        return None
    try:
        return loader(archive.read_text(name, max_size=max_size), name)
    except ValidationFailed as exc:
        issues.extend(exc.errors)
        return None


# Metadata.yaml ------------------------------------------------------------------------
def _read_metadata(doc: SourceDoc, layout: _Layout, issues: list[Issue]) -> Metadata | None:
    data = doc.data
    if not isinstance(data, dict):
        issues.append(doc.issue("", f"{doc.file} must be a mapping of keys to values"))
        return None
    issues.extend(_schema_issues(doc, "metadata"))

    chosen = {}
    for key, alias in _ALIASES:
        if key in data and alias in data:
            issues.append(doc.issue(f"/{alias}", f"'{key}' and '{alias}' mean the same: give only one"))
        chosen[key] = key if key in data or alias not in data else alias
    nfvo_version = values.version(doc, f"/{chosen['nfvo_version']}")
    issues.extend(_required_issues(doc, chosen, nfvo_version))
    vim_types = values.texts(data.get(chosen["vim_types"]))

    if "image" in data and "images" in data:
        issues.append(doc.issue("/images", "give either 'images' or the deprecated 'image', not both"))
    if "image-config" in data and "image" not in data:
        issues.append(doc.issue("/image-config", "'image-config' is only used together with 'image'"))
    if "images" in data:
        images = repository_images(doc, layout.image_files, vim_types, issues)
    else:
        legacy = legacy_image(doc, layout.image_files, vim_types, issues) if "image" in data else None
        images = (legacy,) if legacy else ()

    return Metadata(
        name=values.text(data.get("name")) or "",
        vendor=values.text(data.get(chosen["vendor"])) or "",
        version=values.version(doc, "/version") or "1.0",
        nfvo_version=nfvo_version,
        vim_types=vim_types,
        description=values.text(data.get("description")),
        scripts_link=values.text(data.get("scripts-link")),
        images=images,
        tag=values.text(data.get("tag")),
        os_id=values.text(data.get("os-id")),
        os_version=values.version(doc, "/os-version"),
        os_architecture=values.text(data.get("os-architecture")),
        raw=data,
    )


def _required_issues(doc: SourceDoc, chosen: dict[str, str], nfvo_version: str | None) -> list[Issue]:
    """The missing required keys: Open Baton 4.x needed name, image and vim_types; later
    releases (and nfvo, for a package that declares no version) need vendor instead of image."""
    data, for_4x = doc.data, _is_openbaton_4(nfvo_version)
    found = []
    if chosen["vendor"] not in data:
        message = "'vendor' (or its alias 'provider') is required"
        found.append(doc.warning("/vendor", f"{message} from Open Baton 5.0 on; this package is for "
                                            f"{nfvo_version}") if for_4x else doc.issue("/vendor", message))
    if chosen["vim_types"] not in data:
        found.append(doc.issue("/vim_types", "'vim_types' is required"))
    if for_4x and "image" not in data and "images" not in data:
        found.append(doc.issue("/image", f"'image' is required by Open Baton {nfvo_version}"))
    return found


def _is_openbaton_4(nfvo_version: str | None) -> bool:
    return nfvo_version is not None and nfvo_version.strip().split(".")[0] == "4"


# VNFD ---------------------------------------------------------------------------------
def vnfd_issues(data: Any) -> list[Issue]:
    """Every problem of a VNFD given as JSON outside a package (the catalogue, inline in an NSD):
    the package reader's VNFD rules that do not need Metadata.yaml, plus a required ``vendor`` and
    ``version``, which identify a catalogue VNFD. Issues carry pointers, no file."""
    issues: list[Issue] = []
    _check_vnfd(SourceDoc(None, data), None, issues)  # type: ignore[arg-type]
    if isinstance(data, dict):
        issues.extend(Issue(f"'{key}' is required", pointer=f"/{key}")
                      for key in ("vendor", "version") if key not in data)
        issues.extend(identity_length_issues(data))
    return list(dict.fromkeys(issues))


#: the longest name, vendor and version a catalogue entry may have
IDENTITY_LIMITS = (("name", 255), ("vendor", 255), ("version", 64))


def identity_length_issues(data: dict) -> list[Issue]:
    """An issue for each of ``name``, ``vendor``, ``version`` longer than IDENTITY_LIMITS allow."""
    return [Issue(f"may be at most {limit} characters long", pointer=f"/{key}")
            for key, limit in IDENTITY_LIMITS
            if isinstance(data.get(key), str | int | float) and len(str(data[key])) > limit]


def _check_vnfd(doc: SourceDoc, metadata: Metadata | None, issues: list[Issue]) -> dict | None:
    issues.extend(_schema_issues(doc, "vnfd"))
    data = doc.data
    if not isinstance(data, dict):
        return None
    vnfd = dict(data)
    if metadata is not None:
        name, vendor = data.get("name"), data.get("vendor")
        if isinstance(name, str) and metadata.name and name != metadata.name:
            issues.append(doc.issue("/name", f"VNFD name '{name}' differs from the name "
                                             f"'{metadata.name}' in {METADATA}"))
        if vendor is None and metadata.vendor:
            vnfd["vendor"] = metadata.vendor
        elif isinstance(vendor, str) and metadata.vendor and vendor != metadata.vendor:
            issues.append(doc.issue("/vendor", f"VNFD vendor '{vendor}' differs from the vendor "
                                               f"'{metadata.vendor}' in {METADATA}"))

    raw = metadata.raw if metadata is not None else {}
    has_image_source = metadata is not None and ("image" in raw or bool(raw.get("images")))
    links = data.get("virtual_link")
    link_names = {vl["name"] for vl in links if isinstance(vl, dict) and isinstance(vl.get("name"), str)} \
        if isinstance(links, list) else set()
    vdus = data.get("vdu")
    for i, vdu in enumerate(vdus if isinstance(vdus, list) else []):
        if not isinstance(vdu, dict):
            continue
        pointer = f"/vdu/{i}"
        images = vdu.get("vm_image")
        if _needs_image(images):
            if metadata is not None and not has_image_source:
                issues.append(doc.issue(f"{pointer}/vm_image", f"vm_image is empty and {METADATA} "
                                                                "names no image to fill it"))
        elif isinstance(images, list):
            for j, image in enumerate(images):
                if isinstance(image, str) and not image.strip():
                    issues.append(doc.issue(f"{pointer}/vm_image/{j}", "empty image name"))
        if link_names:
            _check_link_references(doc, vdu, pointer, link_names, issues)
    return vnfd


def _check_link_references(doc: SourceDoc, vdu: dict, pointer: str, link_names: set[str],
                           issues: list[Issue]) -> None:
    # Without virtual_link in the VNFD, Open Baton leaves the references to the NSD.
    vnfcs = vdu.get("vnfc")
    for j, vnfc in enumerate(vnfcs if isinstance(vnfcs, list) else []):
        points = vnfc.get("connection_point") if isinstance(vnfc, dict) else None
        for k, point in enumerate(points if isinstance(points, list) else []):
            ref = point.get("virtual_link_reference") if isinstance(point, dict) else None
            if isinstance(ref, str) and ref and ref not in link_names:
                issues.append(doc.issue(
                    f"{pointer}/vnfc/{j}/connection_point/{k}/virtual_link_reference",
                    f"'{ref}' is not a virtual_link of this VNFD "
                    f"(known: {', '.join(sorted(link_names))})"))


# values -------------------------------------------------------------------------------
def _needs_image(value: Any) -> bool:
    return value is None or (isinstance(value, list)
                             and all(isinstance(v, str) and not v.strip() for v in value))


# JSON Schema --------------------------------------------------------------------------
def _schema_issues(doc: SourceDoc, schema: str) -> list[Issue]:
    return json_schema.schema_issues(doc, schema, _unknown_key_message)


def _unknown_key_message(key: str, known: Iterable[str]) -> str:
    """Unknown keys are warnings: Open Baton reads Metadata.yaml into maps and ignores them."""
    return f"unknown key '{key}' (Open Baton ignores it{json_schema.close_match(key, known)})"
