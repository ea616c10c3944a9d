"""SONATA / 5GTANGO network function descriptors (VNFDs): the bundled schema, then what a schema
cannot say: unique ids, connection-point references of virtual links, VDU references of
flavours and lifecycle events, monitoring rules naming parameters that exist.

Severities follow the SONATA tools' own packages: a connection point ``type: interface`` or a
missing ``interface`` (which the public schema forbids and its examples use) is a warning, and
so is a virtual link's reference to no connection point (the tools accept those, and real
packages hold them); a flavour, lifecycle event or monitoring rule naming nothing is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nfvo.domain.sonata.common import items, schema_issues, size_in, text, unique_ids
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue

#: ``vdu:parameter`` inside a monitoring rule's condition
_QUALIFIED = re.compile(r"(?<![\w.:-])([A-Za-z][\w-]*):([A-Za-z][\w-]*)(?![\w:-])")


@dataclass(frozen=True)
class Unit:
    """One deployment unit: a VDU (``kind`` "vm") or a 5GTANGO cloud-native one ("container").
    ``image``: the ``vm_image`` (or CDU ``image``) as written, None when there is none; sizes are
    what the unit asks for (0: unsaid): ``ram`` in MiB, ``disk`` in GiB."""

    id: str
    pointer: str
    kind: str
    image: str | None
    image_format: str | None
    image_md5: str | None
    vcpus: int
    ram: int
    disk: int
    maximum: int


@dataclass(frozen=True)
class Function:
    """A function descriptor that passed its checks (its warnings are with the caller)."""

    file: str
    source: SourceDoc
    vendor: str
    name: str
    version: str
    units: tuple[Unit, ...]
    connection_points: tuple[str, ...]

    @property
    def identity(self) -> tuple[str, str, str]:
        return self.vendor, self.name, self.version

    @property
    def data(self) -> dict:
        return self.source.data


def read_function(doc: SourceDoc) -> tuple[Function | None, list[Issue]]:
    """The function of ``doc`` and every finding; the function is None when ``doc`` is not even
    a mapping with a vendor, name and version (its findings say why)."""
    issues = schema_issues(doc, "sonata-vnfd")
    data = doc.data
    if not isinstance(data, dict):
        return None, issues
    vdus, cdus = items(data, "virtual_deployment_units"), items(data, "cloudnative_deployment_units")
    if not vdus and not cdus and not any(i.pointer in ("/virtual_deployment_units", "/cloudnative_deployment_units")
                                         for i in issues):
        issues.append(doc.issue("/virtual_deployment_units", "a function needs at least one deployment unit "
                                "(virtual_deployment_units, or 5GTANGO's cloudnative_deployment_units)"))
    units = [_unit(doc, p, v, "vm") for p, v in vdus] + [_unit(doc, p, v, "container") for p, v in cdus]
    unit_ids, found = unique_ids(doc, vdus + cdus, "id", "deployment unit")
    issues += found
    issues += _links(doc, data, unit_ids)
    issues += _unit_references(doc, data, unit_ids)
    issues += _monitoring_rules(doc, data, vdus + cdus)
    if "nsd-schema" in str(data.get("descriptor_schema", "")):
        issues.append(doc.warning("/descriptor_schema", "names the service descriptor schema; read as a function"))
    identity = [text(doc, f"/{key}", data.get(key)) for key in ("vendor", "name", "version")]
    if not all(identity):
        return None, issues
    cps = tuple(cp["id"] for _, cp in items(data, "connection_points") if isinstance(cp.get("id"), str))
    return Function(doc.file, doc, *identity, tuple(u for u in units if u), cps), issues


def _unit(doc: SourceDoc, pointer: str, unit: dict, kind: str) -> Unit | None:
    if not isinstance(unit.get("id"), str):
        return None
    resources = unit.get("resource_requirements")
    resources = resources if isinstance(resources, dict) else {}
    cpu, memory, storage = (resources.get(k) if isinstance(resources.get(k), dict) else {}
                            for k in ("cpu", "memory", "storage"))
    vcpus = cpu.get("vcpus") if isinstance(cpu.get("vcpus"), int) and not isinstance(cpu.get("vcpus"), bool) else 0
    scale = unit.get("scale_in_out") if isinstance(unit.get("scale_in_out"), dict) else {}
    maximum = scale.get("maximum") if isinstance(scale.get("maximum"), int) else 1
    image = unit.get("vm_image" if kind == "vm" else "image")
    return Unit(unit["id"], pointer, kind, image if isinstance(image, str) and image.strip() else None,
                unit.get("vm_image_format") if kind == "vm" else "docker",
                unit.get("vm_image_md5") if isinstance(unit.get("vm_image_md5"), str) else None,
                max(vcpus, 0), size_in(memory.get("size"), memory.get("size_unit"), 2**20),
                size_in(storage.get("size"), storage.get("size_unit"), 2**30), max(maximum, 1))


def _links(doc: SourceDoc, data: dict, unit_ids: dict[str, str]) -> list[Issue]:
    """Virtual links: unique ids, and each connection-point reference names a connection point of
    the function (``cp``, ``vnf:cp``), or of one of its units (its id as written, or ``unit:cp``)."""
    own = {cp["id"] for _, cp in items(data, "connection_points") if isinstance(cp.get("id"), str)}
    targets = own | {f"vnf:{cp}" for cp in own}
    issues = unique_ids(doc, items(data, "connection_points"), "id", "connection point")[1]
    for key in ("virtual_deployment_units", "cloudnative_deployment_units"):
        for pointer, unit in items(data, key):
            cps = items(unit, "connection_points")
            issues += unique_ids(doc, [(pointer + p, cp) for p, cp in cps], "id", "connection point")[1]
            for _, cp in cps:
                if isinstance(cp.get("id"), str):
                    targets.add(cp["id"])
                    targets.add(f"{unit.get('id')}:{cp['id']}")
    links = items(data, "virtual_links")
    issues += unique_ids(doc, links, "id", "virtual link")[1]
    for pointer, link in links:
        refs = link.get("connection_points_reference")
        if not isinstance(refs, list):
            continue
        if len(refs) < 2:
            issues.append(doc.warning(child_pointer(pointer, "connection_points_reference"),
                                      "a virtual link connects at least two connection points"))
        for j, ref in enumerate(refs):
            at = f"{pointer}/connection_points_reference/{j}"
            if isinstance(ref, str) and (problem := dangling(ref, targets, "this function or of its deployment units "
                                                             "(write 'cp', 'vnf:cp' or 'unit:cp')")):
                issues.append(doc.warning(at, problem))
            elif isinstance(ref, str) and refs.index(ref) != j:
                issues.append(doc.warning(at, f"{ref!r} is listed twice in this virtual link"))
    return issues


def dangling(ref: str, targets: set[str], where: str) -> str | None:
    """Why ``ref`` names no connection point among ``targets``, or None. A warning, not an error:
    the SONATA tools accept such links (their own packages hold some), and the link is then
    not connected there."""
    if ref in targets:
        return None
    if ref.strip() in targets:
        return f"{ref!r} has blanks around the connection point it names"
    return f"{ref!r} names no connection point of {where}; the link is not connected there"


def _unit_references(doc: SourceDoc, data: dict, unit_ids: dict[str, str]) -> list[Issue]:
    """Flavours' ``vdu_reference``/``vlink_reference`` and lifecycle events' ``vnf_container``."""
    issues = []
    link_ids = {link.get("id") for _, link in items(data, "virtual_links")}
    for pointer, flavour in items(data, "deployment_flavours"):
        for key, known, what in (("vdu_reference", unit_ids, "deployment unit"),
                                 ("vlink_reference", link_ids, "virtual link")):
            refs = flavour.get(key)
            for j, ref in enumerate(refs if isinstance(refs, list) else []):
                if isinstance(ref, str) and ref not in known:
                    issues.append(doc.issue(f"{pointer}/{key}/{j}", f"{ref!r} names no {what} of this function"))
    for pointer, event in items(data, "lifecycle_events"):
        container = event.get("vnf_container")
        if isinstance(container, str) and container not in unit_ids:
            issues.append(doc.issue(child_pointer(pointer, "vnf_container"),
                                    f"{container!r} names no deployment unit of this function"))
    return issues


def _monitoring_rules(doc: SourceDoc, data: dict, units: list[tuple[str, dict]]) -> list[Issue]:
    """Each ``unit:parameter`` in a rule's condition names a monitoring parameter of that unit."""
    parameters = {unit.get("id"): {p.get("name") for _, p in items(unit, "monitoring_parameters")}
                  for _, unit in units}
    issues = []
    for pointer, rule in items(data, "monitoring_rules"):
        condition: Any = rule.get("condition")
        if not isinstance(condition, str):
            continue
        for unit, parameter in _QUALIFIED.findall(condition):
            at = child_pointer(pointer, "condition")
            if unit not in parameters:
                issues.append(doc.issue(at, f"'{unit}:{parameter}' names no deployment unit {unit!r}"))
            elif parameter not in parameters[unit]:
                known = ", ".join(sorted(p for p in parameters[unit] if isinstance(p, str))) or "none"
                issues.append(doc.issue(at, f"'{unit}:{parameter}' names no monitoring parameter of {unit!r} "
                                            f"(it has: {known})"))
    return issues
