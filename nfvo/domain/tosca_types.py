"""The TOSCA type model of a VNFD: its files and imports, the shipped definitions, type chains.

Offline by design: an import of a SOL001 definitions file (``etsi_nfv_sol001_common_types.yaml``,
``etsi_nfv_sol001_vnfd_types.yaml`` or a versioned name such as
``etsi_nfv_sol001_vnfd_2_5_1_types.yaml``; by that name, by any relative path ending in it, or by
any URL ending in it, whatever SOL001 version the URL names) resolves to nfvo's own definitions
in ``nfvo/domain/definitions/``; the TOSCA Simple Profile normative types are always loaded.
Other relative imports are files of the package, resolved against the importing file's folder
and never allowed outside the package; any other URL is an error, never fetched.

A package may declare a shipped type again (single-file VNFDs often carry SOL001 or TOSCA types
in their own ``node_types``/``data_types``).  As tosca-parser does, the package's declaration is
then the one used; when it differs from nfvo's in its parent or in the type of a property or
attribute both declare, that is one warning on the redeclared type.

Types are looked up by kind, but single-file VNFDs (Tacker's samples among them) often declare
data, capability, relationship, interface and policy types under ``node_types``: tosca-parser
keeps every kind in one namespace, so the section never mattered to it.  A type under
``node_types`` whose name nfvo knows as another kind, or that derives from a type of another kind
(``tosca.datatypes.Root``...), is read as that kind; one warning per file lists them.

A SOL001 artifact type (``tosca.artifacts.nfv.SwImage``) used without importing the SOL001
definitions is nfvo's own, with one warning per file: tosca-parser never resolves the type of a
node template's artifact and Tacker recognises the SwImage artifact by name, so such VNFDs
onboard there.  SOL001 node, data and policy types must still be imported or declared, as
tosca-parser requires too.
"""

from __future__ import annotations

import difflib
import functools
import posixpath
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlsplit

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.sources import SourceDoc, child_pointer, load_yaml
from nfvo.errors import Issue, NfvoError

TOSCA_VERSIONS = ("tosca_simple_yaml_1_0", "tosca_simple_yaml_1_1", "tosca_simple_yaml_1_2",
                  "tosca_simple_yaml_1_3")
SOL001_FILES = ("etsi_nfv_sol001_common_types.yaml", "etsi_nfv_sol001_vnfd_types.yaml")
BASE_TYPES_FILE = "tosca_simple_profile_types.yaml"
SHIPPED_PREFIX = "nfvo:definitions/"
MAX_FILES = 200  # VNFD files one package may import, all levels together

# SOL001 v2.5.1 named its files with the version (etsi_nfv_sol001_vnfd_2_5_1_types.yaml)
_SOL001_NAME = re.compile(r"^etsi_nfv_sol001_(common|vnfd)(?:_\d+_\d+_\d+)?_types\.yaml$")
TOP_LEVEL_KEYS = ("tosca_definitions_version", "namespace", "metadata", "description", "dsl_definitions",
                  "repositories", "imports", "artifact_types", "data_types", "capability_types",
                  "interface_types", "relationship_types", "node_types", "group_types", "policy_types",
                  "topology_template")
TYPE_SECTIONS = {"node_types": "node", "data_types": "data", "artifact_types": "artifact",
                 "capability_types": "capability", "interface_types": "interface",
                 "relationship_types": "relationship", "group_types": "group", "policy_types": "policy"}
PRIMITIVES = frozenset(("string", "integer", "float", "boolean", "timestamp", "version", "range", "list", "map",
                        "scalar-unit.size", "scalar-unit.frequency", "scalar-unit.time", "scalar-unit.bitrate",
                        "tosca.datatypes.json", "tosca.datatypes.xml", "any"))
_COMPARED_SECTIONS = {"properties": "property", "attributes": "attribute"}


class PackageFiles(Protocol):
    """The package as the VNFD reader sees it: member names are normalised paths."""

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a regular file of the package."""

    def read_text(self, name: str) -> str:
        """UTF-8 text of a member; raises NfvoError (with Issues) when it cannot be read as text."""


@dataclass
class TypeDef:
    """One type definition, where it was read."""

    name: str
    kind: str
    body: dict
    doc: SourceDoc
    pointer: str


@dataclass
class TypeModel:
    """Everything read so far: the files (package and shipped), their types, the findings."""

    files: PackageFiles
    issues: list[Issue]
    docs: dict[str, SourceDoc] = field(default_factory=dict)  # loaded files, package and shipped, in order
    types: dict[str, dict[str, TypeDef]] = field(
        default_factory=lambda: {kind: {} for kind in TYPE_SECTIONS.values()})
    bad_types: set[tuple] = field(default_factory=set)  # problems already reported
    vnfd_files: list[str] = field(default_factory=list)
    chains: dict[tuple[str, str], list[TypeDef]] = field(default_factory=dict)  # chain()'s found chains
    borrowed: dict[str, tuple[SourceDoc, str, list[str]]] = field(default_factory=dict)  # by file: first use

    def package_docs(self) -> list[SourceDoc]:
        """The package's VNFD files that are TOSCA service templates (mappings), the entry first."""
        return [doc for doc in (self.docs[name] for name in self.vnfd_files) if isinstance(doc.data, dict)]


def hint(key: Any, known: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest other name in ``known``, or nothing."""
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, [k for k in known if isinstance(k, str) and k != key], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# loading ----------------------------------------------------------------------------
@functools.cache
def _shipped(name: str) -> SourceDoc:
    text = resources.files("nfvo.domain").joinpath("definitions", name).read_text("utf-8")
    return load_yaml(text, f"{SHIPPED_PREFIX}{name}")


def is_shipped(doc: SourceDoc) -> bool:
    return doc.file.startswith(SHIPPED_PREFIX)


def shipped_import(target: str) -> str | None:
    """The shipped definitions file an import names (by file name, path or URL), or None."""
    path = urlsplit(target).path if "://" in target else target
    match = _SOL001_NAME.match(posixpath.basename(path))
    return f"etsi_nfv_sol001_{match.group(1)}_types.yaml" if match else None


def load_model(files: PackageFiles, entry: str, issues: list[Issue]) -> TypeModel:
    """Read the entry file, everything it imports and the shipped types; report every problem."""
    model = TypeModel(files, issues)
    _load_shipped(model, BASE_TYPES_FILE)
    _load_package_file(model, entry, None, None)
    return model


def _load_shipped(model: TypeModel, name: str) -> None:
    doc = _shipped(name)
    if doc.file in model.docs:
        return
    model.docs[doc.file] = doc
    for target in doc.data.get("imports") or ():
        _load_shipped(model, target)
    _collect_types(model, doc)


def _load_package_file(model: TypeModel, name: str, by: SourceDoc | None, pointer: str | None) -> None:
    if name in model.docs:
        return
    if len(model.vnfd_files) >= MAX_FILES:
        model.issues.append(by.issue(pointer, f"more than {MAX_FILES} VNFD files are imported"))
        return
    try:
        doc = load_yaml(model.files.read_text(name), name)
    except NfvoError as exc:
        model.issues.extend(exc.errors or [Issue(exc.detail, file=name)])
        return
    model.docs[name] = doc
    model.vnfd_files.append(name)
    if not isinstance(doc.data, dict):
        model.issues.append(doc.issue("", "a TOSCA service template must be a mapping"))
        return
    _check_header(doc, model.issues)
    imports = doc.data.get("imports")
    if imports is not None and not isinstance(imports, list):
        model.issues.append(doc.issue("/imports", "imports must be a list"))
        imports = []
    for index, item in enumerate(imports or []):
        _load_import(model, doc, child_pointer("/imports", index), item)
    _collect_types(model, doc)


def _load_import(model: TypeModel, doc: SourceDoc, pointer: str, item: Any) -> None:
    target = item
    if isinstance(item, dict) and "file" not in item and len(item) == 1:  # TOSCA 1.0: {name: file}
        pointer = child_pointer(pointer, next(iter(item)))
        target = next(iter(item.values()))
    if isinstance(target, dict):
        if "repository" in target:
            model.issues.append(doc.issue(child_pointer(pointer, "repository"),
                                          "imports from repositories are not supported: nfvo reads "
                                          "definitions only from the package and its own SOL001 types"))
            return
        pointer = child_pointer(pointer, "file")
        target = target.get("file")
    if not isinstance(target, str) or not target.strip():
        model.issues.append(doc.issue(pointer, "an import must be a file name or {file: name}"))
        return
    shipped = shipped_import(target)
    if shipped:
        _load_shipped(model, shipped)
        return
    if "://" in target:
        model.issues.append(doc.issue(pointer, f"unknown import {target!r}: nfvo never fetches definitions from "
                                               f"the network; only {' and '.join(SOL001_FILES)} are known by URL"))
        return
    member = package_path(doc.file, target)
    if member is None:
        model.issues.append(doc.issue(pointer, f"import {target!r} leaves the package"))
    elif not model.files.exists(member):
        model.issues.append(doc.issue(pointer, f"unknown import {target!r}: the package has no file {member}"))
    else:
        _load_package_file(model, member, doc, pointer)


def package_path(relative_to: str, target: str) -> str | None:
    """The member ``target`` names from the file ``relative_to``, or None if it is not a safe path."""
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(relative_to), target))
    name, problem = normalise_member_name(joined)
    if problem or not name or joined.startswith("../") or joined == "..":
        return None
    return name


def _check_header(doc: SourceDoc, issues: list[Issue]) -> None:
    data = doc.data
    version = data.get("tosca_definitions_version")
    if version is None:
        issues.append(doc.issue("/tosca_definitions_version", "'tosca_definitions_version' is required"))
    elif version not in TOSCA_VERSIONS:
        issues.append(doc.issue("/tosca_definitions_version",
                                f"must be one of {', '.join(TOSCA_VERSIONS)}, not {version!r}"))
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            issues.append(doc.issue(child_pointer("", key), f"unknown key '{key}'{hint(key, TOP_LEVEL_KEYS)}"))


def _collect_types(model: TypeModel, doc: SourceDoc) -> None:
    for section, declared_kind in TYPE_SECTIONS.items():
        defined = doc.data.get(section)
        if defined is None:
            continue
        pointer = child_pointer("", section)
        if not isinstance(defined, dict):
            model.issues.append(doc.issue(pointer, f"{section} must be a mapping of type names"))
            continue
        misplaced: dict[str, str] = {}
        for name, body in defined.items():
            type_pointer = child_pointer(pointer, name)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                model.issues.append(doc.issue(type_pointer, "a type definition must be a mapping"))
                continue
            kind = _kind_under_node_types(model, doc, name) if section == "node_types" else declared_kind
            if kind != declared_kind:
                misplaced[name] = kind
            new = TypeDef(name, kind, body, doc, type_pointer)
            known = model.types[kind].get(name)
            if known is None:
                model.types[kind][name] = new
            elif not is_shipped(known.doc) and not is_shipped(doc):
                model.issues.append(doc.issue(type_pointer, f"{kind} type {name} is already defined in "
                                                            f"{known.doc.file}"))
            elif is_shipped(known.doc) != is_shipped(doc):
                ours, theirs = (known, new) if is_shipped(known.doc) else (new, known)
                differences = _differences(ours.body, theirs.body)
                if differences:
                    model.issues.append(theirs.doc.warning(
                        theirs.pointer, f"{kind} type {name} is declared again unlike nfvo's definition in "
                                        f"{ours.doc.file.removeprefix(SHIPPED_PREFIX)}: {'; '.join(differences)}; "
                                        "the package's declaration is used"))
                model.types[kind][name] = theirs
        if misplaced and not is_shipped(doc):
            model.issues.append(doc.warning(pointer, _misplaced_message(misplaced)))


def _kind_under_node_types(model: TypeModel, doc: SourceDoc, name: str) -> str:
    """What a type declared under node_types is: a node type, unless its name or its first ancestor
    that is not another type of this node_types section is known as another kind (or is a primitive)."""
    own = doc.data["node_types"]
    current: Any = name
    seen: set[str] = set()
    while isinstance(current, str) and current not in seen:
        seen.add(current)
        if current in model.types["node"]:
            return "node"
        for kind, known in model.types.items():
            if kind != "node" and current in known:
                return kind
        for section, kind in TYPE_SECTIONS.items():  # the file's own types of other kinds (read after node_types)
            declared = doc.data.get(section)
            if kind != "node" and isinstance(declared, dict) and current in declared:
                return kind
        if current != name and current in PRIMITIVES:
            return "data"
        body = own.get(current)
        current = body.get("derived_from") if isinstance(body, dict) else None
    return "node"


def _misplaced_message(misplaced: dict[str, str]) -> str:
    names = list(misplaced)
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    if 1 < len(names) <= 3:
        shown = f"{', '.join(names[:-1])} and {names[-1]}"
    kinds = [kind for kind in TYPE_SECTIONS.values() if kind in misplaced.values()]
    kinds_text = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"
    if len(names) == 1:
        article = "an" if kinds_text[0] in "aeiou" else "a"
        return f"1 type under node_types is not a node type ({shown}): read as {article} {kinds_text} type"
    return f"{len(names)} types under node_types are not node types ({shown}): read as {kinds_text} types"


# SOL001 types used without their import ---------------------------------------------
_BORROWABLE = ("artifact",)  # kinds tosca-parser never resolves, so Tacker onboards them undeclared


@functools.cache
def _sol001_types() -> dict[tuple[str, str], tuple[SourceDoc, str, dict]]:
    """Every type of nfvo's SOL001 definitions: (kind, name) -> (file, pointer, body)."""
    found = {}
    for file in SOL001_FILES:
        doc = _shipped(file)
        for section, kind in TYPE_SECTIONS.items():
            for name, body in (doc.data.get(section) or {}).items():
                found[(kind, name)] = (doc, child_pointer(child_pointer("", section), name), body or {})
    return found


def _borrow(model: TypeModel, kind: str, name: str, doc: SourceDoc, pointer: str | None) -> TypeDef | None:
    """nfvo's SOL001 definition of a type the package uses without importing it, where tosca-parser
    would not have needed one; the use is remembered for :func:`report_borrowed`."""
    found = _sol001_types().get((kind, name)) if kind in _BORROWABLE and not is_shipped(doc) else None
    if found is None:
        return None
    shipped, type_pointer, body = found
    typedef = model.types[kind][name] = TypeDef(name, kind, body, shipped, type_pointer)
    _, _, names = model.borrowed.setdefault(doc.file, (doc, pointer or "", []))
    names.append(f"{name} ({shipped.file.removeprefix(SHIPPED_PREFIX)})")
    return typedef


def report_borrowed(model: TypeModel) -> None:
    """One warning per file that used SOL001 types without importing them, at its first use."""
    for doc, pointer, names in model.borrowed.values():
        model.issues.append(doc.warning(pointer, f"uses SOL001 types without importing their definitions: "
                                                 f"{', '.join(names)}; nfvo's are used"))
    model.borrowed.clear()


def _type_of(definition: Any) -> tuple[Any, Any]:
    if not isinstance(definition, dict):
        return definition, None
    schema = definition.get("entry_schema")
    return definition.get("type"), schema.get("type") if isinstance(schema, dict) else schema


def _differences(ours: dict, theirs: dict) -> list[str]:
    """How a package's declaration of a shipped type departs from nfvo's: parent and the types of
    properties and attributes both declare (SOL001 versions add and drop properties; that is not
    counted)."""
    found = []
    if ours.get("derived_from") != theirs.get("derived_from"):
        found.append(f"derived_from is {theirs.get('derived_from')!r}, not {ours.get('derived_from')!r}")
    for section, noun in _COMPARED_SECTIONS.items():
        mine, other = ours.get(section), theirs.get(section)
        if not isinstance(mine, dict) or not isinstance(other, dict):
            continue
        for key in mine.keys() & other.keys():
            if _type_of(mine[key]) != _type_of(other[key]):
                declared = "/".join(str(t) for t in _type_of(other[key]) if t is not None)
                expected = "/".join(str(t) for t in _type_of(mine[key]) if t is not None)
                found.append(f"{noun} '{key}' is {declared or 'untyped'}, "
                             f"not {expected}")
    return sorted(found)


def node_pointer(node: str) -> str:
    """The JSON pointer of a node template."""
    return child_pointer("/topology_template/node_templates", node)


def props_pointer(node: str, prop: str | None = None) -> str:
    """The JSON pointer of a node template's properties, or of one of them."""
    pointer = child_pointer(node_pointer(node), "properties")
    return child_pointer(pointer, prop) if prop is not None else pointer


# types ------------------------------------------------------------------------------
def template_types(model: TypeModel, doc: SourceDoc, pointer: str, body: dict, kind: str, what: str,
                   known_keys: tuple[str, ...]) -> tuple[str, list[TypeDef]] | None:
    """The type name and type chain of the template ``body`` (``what``: "a node template", "a policy").

    Reports at ``pointer`` each key not in ``known_keys``, a missing ``type`` and an unknown
    one; None when there is no type to check the body against.
    """
    for key in body:
        if key not in known_keys:
            model.issues.append(doc.issue(child_pointer(pointer, key),
                                          f"unknown key '{key}' in {what}{hint(key, known_keys)}"))
    name = body.get("type")
    if not isinstance(name, str):
        model.issues.append(doc.issue(child_pointer(pointer, "type"), f"{what} needs a 'type'"))
        return None
    types = chain(model, kind, name, doc, child_pointer(pointer, "type"))
    return None if types is None else (name, types)


def chain(model: TypeModel, kind: str, name: str, doc: SourceDoc | None = None,
          pointer: str | None = None) -> list[TypeDef] | None:
    """The type and its ancestors (the type first), or None when unknown (reported at ``pointer``)."""
    found = model.chains.get((kind, name))
    if found is not None:  # only a chain that was found is kept: a problem is reported at each pointer
        return found
    types: list[TypeDef] = []
    seen: set[str] = set()
    current = name
    report = doc is not None
    while current is not None:
        typedef = model.types[kind].get(current)
        if typedef is None and report:
            typedef = _borrow(model, kind, current, doc, pointer)
        if typedef is None:
            if report and (kind, current, doc.file, pointer) not in model.bad_types:
                model.bad_types.add((kind, current, doc.file, pointer))
                what = "unknown" if current == name else f"{name} derives from the unknown"
                model.issues.append(doc.issue(pointer, f"{what} {kind} type {current!r}"
                                                       f"{_unknown_hint(model, kind, current)}"))
            return None
        if current in seen:
            if report and (kind, name, "cycle") not in model.bad_types:
                model.bad_types.add((kind, name, "cycle"))
                model.issues.append(typedef.doc.issue(typedef.pointer, f"{kind} type {current} derives from itself"))
            return None
        seen.add(current)
        types.append(typedef)
        parent = typedef.body.get("derived_from")
        if parent is not None and not isinstance(parent, str):
            return None
        if kind == "data" and parent in PRIMITIVES and parent not in model.types[kind]:
            break  # a data type derived from string, integer...
        doc, pointer = typedef.doc, child_pointer(typedef.pointer, "derived_from")
        current = parent
    model.chains[(kind, name)] = types
    return types


def sol001_import_hint(kind: str, name: str) -> str:
    """``: it is a SOL001 type; import <file>`` for a SOL001 type neither imported nor declared, or nothing."""
    found = _sol001_types().get((kind, name))
    return f": it is a SOL001 type; import {found[0].file.removeprefix(SHIPPED_PREFIX)}" if found else ""


def _unknown_hint(model: TypeModel, kind: str, name: str) -> str:
    return sol001_import_hint(kind, name) or hint(name, model.types[kind])


def check_chains(model: TypeModel) -> None:
    """Every type's parents are known and never cycle (each problem reported once, at the type)."""
    for kind in model.types:
        for typedef in list(model.types[kind].values()):
            chain(model, kind, typedef.name, typedef.doc, typedef.pointer)


def derives_from(model: TypeModel, kind: str, name: Any, base: str) -> bool:
    found = chain(model, kind, name) if isinstance(name, str) else None
    return bool(found) and any(t.name == base for t in found)


def definitions(types: list[TypeDef], section: str) -> dict[str, tuple[Any, TypeDef]]:
    """``properties`` (or ``capabilities``...) declared along a type chain; the most derived wins."""
    merged: dict[str, tuple[Any, TypeDef]] = {}
    for typedef in reversed(types):
        declared = typedef.body.get(section)
        if isinstance(declared, dict):
            for key, definition in declared.items():
                merged[key] = (definition, typedef)
    return merged
