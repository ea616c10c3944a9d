"""The ETSI NFV SOL001 VNFD nfvo reads: node templates, the VNF, its flavours, VDUs and images.

The type model (files, imports, shipped definitions) is :mod:`nfvo.domain.tosca_types`, value
checks :mod:`nfvo.domain.tosca_values`, policies :mod:`nfvo.domain.tosca_policies`, VDUs and
their images :mod:`nfvo.domain.tosca_vdus`, scalar units and checksums
:mod:`nfvo.domain.tosca_units`; this module re-exports what other modules use.

What is checked: ``tosca_definitions_version``, the top-level keys, imports, type definitions
(known parents, no cycles, no type defined twice by the package; a shipped type it declares
again is one warning when the two differ; data, capability... types declared under
``node_types`` are read as what they are, one warning per file), every node template's type, properties
(known names, required ones present, values of the declared type, constraints),
capabilities' properties and artifacts; every policy's type, properties and targets, and the
names instantiation levels and scaling aspects refer to.  Requirements, interfaces, groups
and workflows are read but not checked.

The top-level VNFD must hold the VNF node template and give some of its properties there (a
type's defaults alone do not do), and some template must name a flavour: a flavour's template
gives its ``flavour_id`` in its ``substitution_mappings``; a VNFD of one template gives it there or
in the VNF node template. Tacker (``csar_utils._get_vnf_data``, ``_populate_flavour_data``)
refuses the rest.

A flavour's template (a file with ``substitution_mappings`` the top-level VNFD imports) may
repeat the VNF node; where its properties differ from the top-level VNFD's, the top level
wins and each difference is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.domain.tosca_policies import check_policies
from nfvo.domain.tosca_types import (
    BASE_TYPES_FILE,
    MAX_FILES,
    SOL001_FILES,
    TOSCA_VERSIONS,
    PackageFiles,
    TypeModel,
    chain,
    check_chains,
    definitions,
    derives_from,
    hint,
    load_model,
    node_pointer,
    props_pointer,
    report_borrowed,
    shipped_import,
    template_types,
)
from nfvo.domain.tosca_units import (
    BITRATE_UNITS,
    FREQUENCY_UNITS,
    HASH_ALGORITHMS,
    SIZE_UNITS,
    TIME_UNITS,
    digest_name,
    hash_problem,
    parse_scalar,
    size_in_bytes,
)
from nfvo.domain.tosca_values import as_written, check_properties, check_type_definitions, is_function
from nfvo.domain.tosca_vdus import SW_IMAGE, SwImage, Vdu, read_vdu
from nfvo.errors import Issue

__all__ = ["BASE_TYPES_FILE", "BITRATE_UNITS", "FREQUENCY_UNITS", "HASH_ALGORITHMS", "MAX_FILES", "SIZE_UNITS",
           "SOL001_FILES", "SW_IMAGE", "TIME_UNITS", "TOSCA_VERSIONS", "VDU_BLOCK_STORAGE", "VDU_COMPUTE", "VNF",
           "Flavour", "PackageFiles", "SwImage", "Vdu", "Vnfd", "digest_name", "hash_problem", "parse_scalar",
           "read_vnfd", "shipped_import", "size_in_bytes"]

VNF = "tosca.nodes.nfv.VNF"
VDU_COMPUTE = "tosca.nodes.nfv.Vdu.Compute"
VDU_BLOCK_STORAGE = "tosca.nodes.nfv.Vdu.VirtualBlockStorage"
_TEMPLATE_KEYS = ("type", "description", "metadata", "directives", "properties", "attributes", "requirements",
                  "capabilities", "interfaces", "artifacts", "node_filter", "copy")
_IDENTITY = ("descriptor_id", "provider", "product_name", "software_version", "descriptor_version")
_PER_FLAVOUR = ("flavour_id", "flavour_description")  # each flavour's template gives its own


# results ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Flavour:
    """A deployment flavour: its ``flavour_id``, description and the file of its topology template."""

    id: str
    description: str | None
    source_file: str


@dataclass(frozen=True)
class Vnfd:
    """The VNF a SOL001 VNFD describes, after every check passed."""

    descriptor_id: str
    provider: str
    product_name: str
    software_version: str
    descriptor_version: str
    flavours: tuple[Flavour, ...]
    vnfm_info: tuple[str, ...]
    vdus: tuple[Vdu, ...]
    vnf_node: str
    vnf_type: str
    entry_file: str
    files: tuple[str, ...]  # the package's VNFD files read, the entry first

    @property
    def flavour_id(self) -> str:
        """The first deployment flavour's id (most VNFDs have one)."""
        return self.flavours[0].id

    @property
    def images(self) -> tuple[SwImage, ...]:
        return tuple(vdu.image for vdu in self.vdus if vdu.image is not None)


def read_vnfd(files: PackageFiles, entry: str, issues: list[Issue]) -> Vnfd | None:
    """Read and check the VNFD whose entry definitions file is the member ``entry``.

    Appends every finding to ``issues`` (file, line, JSON pointer, severity) and returns None
    when any of them is an error; reading never stops at the first problem of a file.
    """
    before = len(issues)
    model = load_model(files, entry, issues)
    if entry not in model.docs:
        return None
    check_chains(model)
    docs = model.package_docs()
    for doc in docs:
        check_type_definitions(model, doc)
    templates = [(doc, node, body) for doc in docs for node, body in _node_templates(doc)]
    for doc, node, body in templates:
        _check_node_template(model, doc, node, body, _substituted(doc, body))
    for doc in docs:
        check_policies(model, doc)
    vnfd = _vnfd(model, templates, entry)
    report_borrowed(model)
    return vnfd if not any(not i.is_warning for i in issues[before:]) else None


# node templates ---------------------------------------------------------------------
def _node_templates(doc: SourceDoc) -> Iterator[tuple[str, Any]]:
    topology = doc.data.get("topology_template")
    templates = topology.get("node_templates") if isinstance(topology, dict) else None
    yield from (templates.items() if isinstance(templates, dict) else ())


def _mappings(doc: SourceDoc) -> dict | None:
    topology = doc.data.get("topology_template")
    mappings = topology.get("substitution_mappings") if isinstance(topology, dict) else None
    return mappings if isinstance(mappings, dict) else None


def _substituted(doc: SourceDoc, body: Any) -> set[str]:
    """Properties the template's substitution_mappings give a node of the substituted type
    (a flavour file's ``flavour_id``), which that node then need not repeat."""
    mappings = _mappings(doc)
    if mappings is None or not isinstance(body, dict) or mappings.get("node_type") != body.get("type"):
        return set()
    props = mappings.get("properties")
    return set(props) if isinstance(props, dict) else set()


def _check_node_template(model: TypeModel, doc: SourceDoc, node: str, body: Any, supplied: set[str]) -> None:
    pointer = node_pointer(node)
    if not isinstance(body, dict):
        model.issues.append(doc.issue(pointer, "a node template must be a mapping"))
        return
    typed = template_types(model, doc, pointer, body, "node", "a node template", _TEMPLATE_KEYS)
    if typed is None:
        return
    kind, types = typed
    for section in ("properties", "capabilities", "artifacts"):
        if section in body and not isinstance(body[section], dict):
            model.issues.append(doc.issue(child_pointer(pointer, section), f"{section} must be a mapping"))
    check_properties(model, doc, props_pointer(node), body.get("properties"), definitions(types, "properties"),
                     kind, supplied)
    _check_capabilities(model, doc, pointer, body, kind, definitions(types, "capabilities"))
    artifacts = body.get("artifacts") if isinstance(body.get("artifacts"), dict) else {}
    for name, artifact in artifacts.items():
        art_pointer = child_pointer(child_pointer(pointer, "artifacts"), name)
        if isinstance(artifact, str):  # short notation: the file alone
            if not artifact.strip():
                model.issues.append(doc.issue(art_pointer, "an artifact needs a file"))
            continue
        if not isinstance(artifact, dict):
            model.issues.append(doc.issue(art_pointer, "an artifact must be a file name or a mapping"))
            continue
        if not isinstance(artifact.get("type"), str):
            model.issues.append(doc.issue(child_pointer(art_pointer, "type"), "an artifact needs a 'type'"))
        else:
            chain(model, "artifact", artifact["type"], doc, child_pointer(art_pointer, "type"))
        if not isinstance(artifact.get("file"), str) or not artifact["file"].strip():
            model.issues.append(doc.issue(child_pointer(art_pointer, "file"), "an artifact needs a 'file'"))


def _check_capabilities(model: TypeModel, doc: SourceDoc, pointer: str, body: dict, kind: str,
                        declared: dict[str, tuple[Any, Any]]) -> None:
    capabilities = body.get("capabilities") if isinstance(body.get("capabilities"), dict) else {}
    for name, assignment in capabilities.items():
        cap_pointer = child_pointer(child_pointer(pointer, "capabilities"), name)
        if name not in declared:
            model.issues.append(doc.issue(cap_pointer, f"{kind} has no capability '{name}'{hint(name, declared)}"))
            continue
        definition = declared[name][0]
        cap_type = definition.get("type") if isinstance(definition, dict) else definition
        cap_chain = chain(model, "capability", cap_type) if isinstance(cap_type, str) else None
        if cap_chain and isinstance(assignment, dict) and "properties" in assignment:
            props = definitions(cap_chain, "properties")
            if props:
                check_properties(model, doc, child_pointer(cap_pointer, "properties"), assignment["properties"],
                                 props, f"capability {cap_type}")


# the VNF ----------------------------------------------------------------------------
def _given(body: dict, prop: str) -> Any:
    props = body.get("properties")
    return props.get(prop) if isinstance(props, dict) else None


def _resolved(model: TypeModel, doc: SourceDoc, node: str, body: dict, prop: str) -> Any:
    """A VNF property's value: the template's (unless a function), else the type's default,
    else the only value a valid_values/equal constraint allows; None when there is none."""
    value = _given(body, prop)
    if value is not None and not is_function(value):
        return as_written(doc, props_pointer(node, prop), value) if prop in _IDENTITY else value
    definition = definitions(chain(model, "node", body.get("type")) or [], "properties").get(prop, (None,))[0]
    if not isinstance(definition, dict):
        return None
    if definition.get("default") is not None:
        return definition["default"]
    for constraint in definition.get("constraints") or []:
        if isinstance(constraint, dict):
            if isinstance(constraint.get("valid_values"), list) and len(constraint["valid_values"]) == 1:
                return constraint["valid_values"][0]
            if "equal" in constraint:
                return constraint["equal"]
    return None


def _vnfd(model: TypeModel, templates: list[tuple[SourceDoc, str, Any]], entry: str) -> Vnfd | None:
    vnf_nodes = [(doc, node, body) for doc, node, body in templates
                 if isinstance(body, dict) and derives_from(model, "node", body.get("type"), VNF)]
    if not vnf_nodes:
        if not isinstance(model.docs[entry].data, dict):
            return None  # reported: not a service template
        model.issues.append(model.docs[entry].issue("/topology_template/node_templates" if templates else "",
                                                     f"no node template of type {VNF} (or a type derived from it) "
                                                     "in the VNFD"))
        return None
    # the top level: the entry file's VNF node (else the first one found)
    top = next((t for t in vnf_nodes if t[0].file == entry), vnf_nodes[0])
    doc, node, body = top
    _check_vnf_properties_given(model, top, entry)
    identity: dict[str, str] = {}
    for prop in _IDENTITY:
        value = _resolved(model, doc, node, body, prop)
        if value is not None:
            identity[prop] = str(value)
        elif is_function(given := _given(body, prop)):
            model.issues.append(doc.issue(props_pointer(node, prop), f"'{prop}' identifies the VNF: it must be "
                                                                      f"a value, not {next(iter(given))}"))
        elif prop not in _missing_reported(model, doc, node):
            model.issues.append(doc.issue(props_pointer(node), f"property '{prop}' of the VNF is required"))
    for other in vnf_nodes:
        if other is not top:
            _compare_with_top(model, top, other)
    flavours = _flavours(model, vnf_nodes)
    if _flavour_id_given(model, templates, top, entry) and not flavours:
        model.issues.append(doc.issue(props_pointer(node), "no deployment flavour: flavour_id has no value"))
    flavour_of = {f.source_file: f.id for f in flavours}
    vdus = []
    for tdoc, tnode, tbody in templates:
        if not isinstance(tbody, dict):
            continue
        for base, kind in ((VDU_COMPUTE, "compute"), (VDU_BLOCK_STORAGE, "storage")):
            if derives_from(model, "node", tbody.get("type"), base):
                vdus.append(read_vdu(model, tdoc, tnode, tbody, kind, flavour_of.get(tdoc.file)))
    if len(identity) < len(_IDENTITY) or not flavours:
        return None
    vnfm_info = _resolved(model, doc, node, body, "vnfm_info")
    return Vnfd(**identity, flavours=tuple(flavours),
                vnfm_info=tuple(str(v) for v in vnfm_info) if isinstance(vnfm_info, list) else (),
                vdus=tuple(vdus), vnf_node=node, vnf_type=body["type"], entry_file=entry,
                files=tuple(model.vnfd_files))


def _check_vnf_properties_given(model: TypeModel, top: tuple[SourceDoc, str, dict], entry: str) -> None:
    """The top-level VNFD's VNF node template must give properties itself: Tacker
    (``csar_utils._get_vnf_data``) reads them from that template only, never from the type's
    defaults or a flavour's template, and refuses the package when there are none."""
    doc, node, body = top
    if doc.file != entry:
        topology = model.docs[entry].data.get("topology_template")
        model.issues.append(model.docs[entry].issue(
            "/topology_template/node_templates" if _node_templates_of(model.docs[entry])
            else "/topology_template" if isinstance(topology, dict) else "",
            f"the top-level VNFD has no node template of type {VNF}: the VNF node template '{node}' is only in "
            f"{doc.file}; Tacker and SOL001 need it, with its properties, in the top-level VNFD"))
        return
    if "properties" in body and body["properties"] != {}:
        return  # given, or reported: properties must be a mapping
    pointer = props_pointer(node) if "properties" in body else node_pointer(node)
    model.issues.append(doc.issue(pointer, f"the VNF node template '{node}' gives none of its properties "
                                           f"({', '.join(_IDENTITY)}, ...): Tacker and SOL001 need them in the "
                                           "VNFD, not only as defaults of its type"))


def _node_templates_of(doc: SourceDoc) -> bool:
    return any(True for _ in _node_templates(doc))


def _flavour_id_given(model: TypeModel, templates: list[tuple[SourceDoc, str, Any]],
                      top: tuple[SourceDoc, str, dict], entry: str) -> bool:
    """Whether some template states a deployment flavour the way Tacker looks for one
    (``csar_utils._populate_flavour_data``); reports an error when none does.

    A flavour's template (an imported file whose substitution_mappings map a type of a node
    template of the top-level VNFD) counts only when its substitution_mappings give a
    ``flavour_id``. With no such template the top-level VNFD is the only flavour
    (``_get_flavour_data``): its substitution_mappings' or VNF node template's ``flavour_id``,
    or any other flavour data there (flavour_description, instantiation levels, an image)."""
    doc, node, body = top
    if doc.file != entry:
        return True  # reported: the VNF node is not in the top-level VNFD
    entry_doc = model.docs[entry]
    entry_types = {b.get("type") for d, _, b in templates if d is entry_doc and isinstance(b, dict)}
    flavour_docs = [d for d in model.package_docs() if d is not entry_doc and (m := _mappings(d)) is not None
                    and isinstance(m.get("node_type"), str) and m["node_type"] in entry_types]
    if flavour_docs:
        if any(_mapped_flavour_id(d) for d in flavour_docs):
            return True
        for fdoc in flavour_docs:
            model.issues.append(fdoc.issue(_mappings_pointer(fdoc), "no deployment flavour: no template's "
                                           "substitution_mappings gives flavour_id (Tacker takes a flavour's id "
                                           "from its template's substitution_mappings only)"))
        return False
    given = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    if (_mapped_flavour_id(entry_doc) or isinstance(given.get("flavour_id"), str) and given["flavour_id"]
            or "flavour_description" in given or _flavour_data(model, templates, entry_doc)):
        return True
    mapped = _mappings(entry_doc) is not None
    model.issues.append(entry_doc.issue(
        _mappings_pointer(entry_doc) if mapped else props_pointer(node) if given else node_pointer(node),
        f"no deployment flavour: no template's substitution_mappings gives flavour_id, nor does the VNF node "
        f"template '{node}' (a default of its type does not count: Tacker refuses a VNFD without flavours)"))
    return False


def _mapped_flavour_id(doc: SourceDoc) -> bool:
    props = (_mappings(doc) or {}).get("properties")
    return isinstance(props, dict) and bool(props.get("flavour_id"))


def _mappings_pointer(doc: SourceDoc) -> str:
    mappings = _mappings(doc) or {}
    return "/topology_template/substitution_mappings" + ("/properties" if "properties" in mappings else "")


def _flavour_data(model: TypeModel, templates: list[tuple[SourceDoc, str, Any]], doc: SourceDoc) -> bool:
    """Whether the template has instantiation levels or a VDU with an image, which Tacker
    keeps as a flavour (without an id) even when no flavour_id is given."""
    topology = doc.data.get("topology_template")
    policies = topology.get("policies") if isinstance(topology, dict) else None
    for policy in policies if isinstance(policies, list) else ():
        for definition in policy.values() if isinstance(policy, dict) else ():
            if isinstance(definition, dict) and derives_from(model, "policy", definition.get("type"),
                                                             "tosca.policies.nfv.InstantiationLevels"):
                return True
    for tdoc, _, tbody in templates:
        if tdoc is doc and isinstance(tbody, dict) and isinstance(tbody.get("artifacts"), dict) and any(
                derives_from(model, "node", tbody.get("type"), base) for base in (VDU_COMPUTE, VDU_BLOCK_STORAGE)):
            if any(isinstance(a, str) or isinstance(a, dict) and a.get("type") == SW_IMAGE
                   for a in tbody["artifacts"].values()):
                return True
    return False


def _compare_with_top(model: TypeModel, top: tuple[SourceDoc, str, dict], other: tuple[SourceDoc, str, dict]) -> None:
    """A flavour's VNF node property that differs from the top level's: the top level wins, a warning."""
    (doc, node, body), (other_doc, other_node, other_body) = top, other
    given = other_body.get("properties") if isinstance(other_body.get("properties"), dict) else {}
    for prop in dict.fromkeys((*_IDENTITY, *given)):
        if prop in _PER_FLAVOUR:
            continue
        mine = _resolved(model, doc, node, body, prop)
        theirs = _resolved(model, other_doc, other_node, other_body, prop)
        if mine is None or theirs is None or mine == theirs or (prop in _IDENTITY and str(mine) == str(theirs)):
            continue
        pointer = props_pointer(other_node, prop) if prop in given else props_pointer(other_node)
        model.issues.append(other_doc.warning(pointer, f"{prop} is {theirs!r} here but {mine!r} in the top-level "
                                                       f"VNFD {doc.file}; the top level's value is used"))


def _missing_reported(model: TypeModel, doc: SourceDoc, node: str) -> set[str]:
    pointer = props_pointer(node)
    found = set()
    for issue in model.issues:
        if issue.file == doc.file and issue.pointer == pointer and issue.message.startswith("property '"):
            found.add(issue.message.split("'")[1])
    return found


def _flavours(model: TypeModel, vnf_nodes: list[tuple[SourceDoc, str, Any]]) -> list[Flavour]:
    """The deployment flavours: one per file whose topology gives a flavour_id; a flavour's own
    template (substitution-mapped to the VNF type) wins over a VNF node elsewhere with the same id."""
    found: dict[str, Flavour] = {}
    candidates = []
    for doc in model.package_docs():
        topology = doc.data.get("topology_template")
        if not isinstance(topology, dict):
            continue
        mappings = _mappings(doc)
        flavour_id = description = None
        mapped = mappings is not None and derives_from(model, "node", mappings.get("node_type"), VNF)
        if mapped:
            props = mappings.get("properties") if isinstance(mappings.get("properties"), dict) else {}
            flavour_id = props.get("flavour_id")
            description = props.get("flavour_description")
        elif mappings is not None and isinstance(mappings.get("node_type"), str):
            chain(model, "node", mappings["node_type"], doc, "/topology_template/substitution_mappings/node_type")
        for ndoc, node, body in vnf_nodes:
            if ndoc is doc:
                flavour_id = flavour_id if isinstance(flavour_id, str) else _resolved(model, doc, node, body,
                                                                                       "flavour_id")
                description = description or _resolved(model, doc, node, body, "flavour_description")
        if isinstance(flavour_id, (str, int, float)) and not isinstance(flavour_id, bool) and str(flavour_id):
            candidates.append((not mapped, len(candidates), Flavour(
                str(flavour_id), description if isinstance(description, str) else None, doc.file)))
    for *_, flavour in sorted(candidates, key=lambda c: c[:2]):
        found.setdefault(flavour.id, flavour)
    order = {c[2].source_file: c[1] for c in candidates}
    return sorted(found.values(), key=lambda f: order[f.source_file])
