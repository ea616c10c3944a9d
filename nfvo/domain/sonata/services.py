"""SONATA / 5GTANGO network service descriptors (NSDs): the bundled schema, then unique ids and
references: virtual links and forwarding paths name connection points of the service
(``cp``, ``ns:cp``) or of its functions (``vnf_id:cp``, checked against the function's own
connection points when the function is known; one that names nothing is a warning, as in
:mod:`.functions`), forwarding graphs name its links and functions (an error).
A service references functions by ``vnf_vendor``/``vnf_name``/``vnf_version``; resolving
those against a project's catalogue is the caller's job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nfvo.domain.sonata.common import items, schema_issues, text, unique_ids
from nfvo.domain.sonata.functions import dangling
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue


@dataclass(frozen=True)
class FunctionRef:
    """One ``network_functions`` entry: its ``vnf_id`` in the service and the function it names."""

    vnf_id: str
    vendor: str
    name: str
    version: str
    pointer: str

    @property
    def identity(self) -> tuple[str, str, str]:
        return self.vendor, self.name, self.version


@dataclass(frozen=True)
class Service:
    """A service descriptor that passed its checks."""

    file: str
    source: SourceDoc
    vendor: str
    name: str
    version: str
    functions: tuple[FunctionRef, ...]

    @property
    def data(self) -> dict:
        return self.source.data


def read_service(doc: SourceDoc, known: Mapping[tuple[str, str, str], tuple[str, ...]] = {}  # noqa: B006
                 ) -> tuple[Service | None, list[Issue]]:
    """The service of ``doc`` and every finding. ``known``: the connection points of functions
    whose descriptors are at hand, by identity, so references into them are checked too."""
    issues = schema_issues(doc, "sonata-nsd")
    data = doc.data
    if not isinstance(data, dict):
        return None, issues
    entries = items(data, "network_functions")
    by_id, found = unique_ids(doc, entries, "vnf_id", "network function")
    issues += found
    refs = []
    for pointer, entry in entries:
        values = [text(doc, f"{pointer}/{k}", entry.get(k)) for k in ("vnf_id", "vnf_vendor", "vnf_name", "vnf_version")]
        if all(values):
            refs.append(FunctionRef(*values, pointer))
    cps = {cp.get("id") for _, cp in items(data, "connection_points") if isinstance(cp.get("id"), str)}
    issues += unique_ids(doc, items(data, "connection_points"), "id", "connection point")[1]
    points = {f.vnf_id: known.get(f.identity) for f in refs}
    links = items(data, "virtual_links")
    link_ids, found = unique_ids(doc, links, "id", "virtual link")
    issues += found
    for pointer, link in links:
        refs_ = link.get("connection_points_reference")
        for j, ref in enumerate(refs_ if isinstance(refs_, list) else []):
            issues += _endpoint(doc, f"{pointer}/connection_points_reference/{j}", ref, cps, by_id, points)
    issues += _graphs(doc, data, cps, by_id, points, link_ids)
    if "vnfd-schema" in str(data.get("descriptor_schema", "")):
        issues.append(doc.warning("/descriptor_schema", "names the function descriptor schema; read as a service"))
    identity = [text(doc, f"/{key}", data.get(key)) for key in ("vendor", "name", "version")]
    if not all(identity):
        return None, issues
    return Service(doc.file, doc, *identity, tuple(refs)), issues


def _endpoint(doc: SourceDoc, at: str, ref, cps: set[str], functions: Mapping[str, str],
              points: Mapping[str, tuple[str, ...] | None]) -> list[Issue]:
    """A warning when ``ref`` names no connection point (see ``functions.dangling``)."""
    if not isinstance(ref, str):
        return []
    targets = cps | {f"ns:{cp}" for cp in cps}
    for vnf_id in functions:
        own = points.get(vnf_id)
        if own is None:  # a function not at hand: any of its connection points may be meant
            if ref.strip().startswith(f"{vnf_id}:"):
                return []
        else:
            targets |= {f"{vnf_id}:{cp}" for cp in own}
    problem = dangling(ref, targets, "this service or of its network functions (write 'cp', 'ns:cp' or "
                                     "'vnf_id:cp')")
    return [doc.warning(at, problem)] if problem else []


def _graphs(doc: SourceDoc, data: dict, cps: set[str], functions: Mapping[str, str],
            points: Mapping[str, tuple[str, ...] | None], link_ids: Mapping[str, str]) -> list[Issue]:
    issues = []
    for pointer, graph in items(data, "forwarding_graphs"):
        for key, known, what in (("constituent_virtual_links", link_ids, "virtual link"),
                                 ("constituent_vnfs", functions, "network function")):
            values = graph.get(key)
            for j, value in enumerate(values if isinstance(values, list) else []):
                if isinstance(value, str) and value not in known:
                    issues.append(doc.issue(f"{pointer}/{key}/{j}", f"{value!r} names no {what} of this service"))
        for path_at, path in items(graph, "network_forwarding_paths"):
            for cp_at, cp in items(path, "connection_points"):
                at = child_pointer(pointer + path_at + cp_at, "connection_point_ref")
                issues += _endpoint(doc, at, cp.get("connection_point_ref"), cps, functions, points)
    return issues
