"""Network service descriptors (NSD JSON): shape checks and the VNFD references to resolve.

Each entry of ``vnfd`` is one of

* ``{"id": "<uuid>"}``: a VNFD of the project by id;
* ``{"id": "vendor/name/version"}``: a VNFD of the project by its identity;
* an inline VNFD (an object without ``id`` but with ``vdu``), checked like a catalogue VNFD.

Everything here is pure: resolving references is the service's job. Issues carry JSON
pointers into the NSD and no file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nfvo.domain.openbaton import identity_length_issues, vnfd_issues
from nfvo.errors import Issue


@dataclass(frozen=True)
class Reference:
    """A VNFD named by an NSD entry at ``pointer`` (``/vnfd/0``): by ``id``, or by identity."""

    pointer: str
    id: str | None = None
    vendor: str | None = None
    name: str | None = None
    version: str | None = None

    @property
    def text(self) -> str:
        return self.id if self.id is not None else f"{self.vendor}/{self.name}/{self.version}"


@dataclass(frozen=True)
class Inline:
    """A whole VNFD written inside the NSD at ``pointer``."""

    pointer: str
    body: dict


@dataclass(frozen=True)
class NsdDraft:
    """What could be read of an NSD: ``entries`` holds the valid VNFD entries only; ``complete``
    is False when some entry was invalid (then the names of its VNFDs are not all known)."""

    name: str
    vendor: str
    version: str
    entries: tuple[Reference | Inline, ...]
    complete: bool


def parse_reference(pointer: str, value: str) -> Reference | None:
    """``{"id": value}`` as a Reference, or None when ``value`` is neither a uuid nor vendor/name/version."""
    if len(value) == 36:
        try:
            return Reference(pointer, id=str(uuid.UUID(value)))
        except ValueError:
            pass
    parts = value.split("/")
    if len(parts) == 3 and all(p.strip() for p in parts):
        return Reference(pointer, vendor=parts[0], name=parts[1], version=parts[2])
    return None


def check_nsd(data: Any) -> tuple[NsdDraft | None, list[Issue]]:
    """The draft (None when ``data`` is not an object) and every problem found; the service
    resolves the draft's references even when there are problems, to report all at once."""
    issues: list[Issue] = []
    if not isinstance(data, dict):
        return None, [Issue("an NSD must be a JSON object", pointer="")]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        issues.append(Issue("'name' is required" if name is None else "must be a non-empty string", pointer="/name"))
    for key in ("vendor", "version"):
        if key in data and not isinstance(data[key], str):
            issues.append(Issue("must be a string", pointer=f"/{key}"))
    issues.extend(identity_length_issues(data))

    entries: list[Reference | Inline] = []
    before = len(issues)
    vnfds = data.get("vnfd")
    if vnfds is None:
        issues.append(Issue("'vnfd' is required", pointer="/vnfd"))
    elif not isinstance(vnfds, list) or not vnfds:
        issues.append(Issue("must be a non-empty list", pointer="/vnfd"))
    else:
        for i, entry in enumerate(vnfds):
            entries.extend(_entry(f"/vnfd/{i}", entry, issues))
    complete = len(issues) == before

    issues.extend(_check_vld(data.get("vld")))
    deps = data.get("vnf_dependency")
    if deps is not None and not isinstance(deps, list):
        issues.append(Issue("must be a list", pointer="/vnf_dependency"))
    name, vendor, version = (data[k] if isinstance(data.get(k), str) else "" for k in ("name", "vendor", "version"))
    return NsdDraft(name, vendor, version, tuple(entries), complete), issues


def _entry(pointer: str, entry: Any, issues: list[Issue]) -> Iterable[Reference | Inline]:
    if not isinstance(entry, dict):
        issues.append(Issue("must be an object: a reference {\"id\": ...} or an inline VNFD", pointer=pointer))
        return ()
    if "id" in entry and "vdu" not in entry:
        value = entry["id"]
        ref = parse_reference(pointer, value) if isinstance(value, str) else None
        if ref is None:
            issues.append(Issue(f"{value!r} is neither a VNFD id (uuid) nor vendor/name/version",
                                pointer=f"{pointer}/id"))
            return ()
        return (ref,)
    found = vnfd_issues(entry)
    issues.extend(Issue(i.message, pointer=pointer + (i.pointer or "")) for i in found)
    return () if found else (Inline(pointer, {k: v for k, v in entry.items() if k != "id"}),)


def _check_vld(vld: Any) -> list[Issue]:
    if vld is None:
        return []
    if not isinstance(vld, list):
        return [Issue("must be a list", pointer="/vld")]
    issues, seen = [], set()
    for i, link in enumerate(vld):
        name = link.get("name") if isinstance(link, dict) else None
        if not isinstance(name, str) or not name.strip():
            issues.append(Issue("a virtual link needs a non-empty 'name'", pointer=f"/vld/{i}/name"))
        elif name in seen:
            issues.append(Issue(f"virtual link '{name}' is named twice", pointer=f"/vld/{i}/name"))
        else:
            seen.add(name)
    return issues


def dependency_issues(data: dict, vnfd_names: set[str] | None) -> list[Issue]:
    """Problems of ``vnf_dependency``: each source and target must name a VNFD of this NSD.

    ``vnfd_names`` are the names of all its VNFDs once resolved; None when some reference did
    not resolve (then only the shape is checked, not the names)."""
    deps = data.get("vnf_dependency")
    issues: list[Issue] = []
    for i, dep in enumerate(deps if isinstance(deps, list) else []):
        if not isinstance(dep, dict):
            issues.append(Issue("must be an object with 'source' and 'target'", pointer=f"/vnf_dependency/{i}"))
            continue
        for end in ("source", "target"):
            pointer = f"/vnf_dependency/{i}/{end}"
            value = dep.get(end)
            name = value.get("name") if isinstance(value, dict) else value
            if isinstance(value, dict):
                pointer += "/name"
            if not isinstance(name, str) or not name:
                issues.append(Issue(f"'{end}' must name a VNFD of this NSD", pointer=pointer))
            elif vnfd_names is not None and name not in vnfd_names:
                known = ", ".join(sorted(vnfd_names))
                issues.append(Issue(f"'{name}' is not a VNFD of this NSD (known: {known})", pointer=pointer))
    return issues
