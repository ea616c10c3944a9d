"""The ETSI NFV SOL001 VNFD subset nfvo reads: TOSCA imports and types, node templates, VDUs and images.

Offline by design: an import of ``etsi_nfv_sol001_common_types.yaml`` or
``etsi_nfv_sol001_vnfd_types.yaml`` (by that name, by any relative path ending in it, or by
any URL ending in it) resolves to nfvo's own definitions in ``nfvo/domain/definitions/``;
other relative imports are files of the package, resolved against the importing file's
folder and never allowed outside the package; any other URL is an error, never fetched.

What is checked: ``tosca_definitions_version``, the top-level keys, imports, type
definitions (known parents, no cycles, no type defined twice), every node template's
type, properties (known names, required ones present, values of the declared type,
constraints), capabilities' properties and artifacts.  Values of the primitive types,
``list``/``map`` with ``entry_schema``, every data type nfvo or the package defines, and the
TOSCA scalar units (``scalar-unit.size``, ``.frequency``, ``.time``, ``.bitrate``) are checked;
a ``tosca.*`` data type that nfvo does not define is accepted as it is.  Values that are
TOSCA functions (``{get_input: x}``) are not checked.  Policies, requirements, interfaces,
groups and workflows are read but not checked.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import posixpath
import re
from collections.abc import Iterator
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
VNF = "tosca.nodes.nfv.VNF"
VDU_COMPUTE = "tosca.nodes.nfv.Vdu.Compute"
VDU_BLOCK_STORAGE = "tosca.nodes.nfv.Vdu.VirtualBlockStorage"
SW_IMAGE = "tosca.artifacts.nfv.SwImage"
MAX_FILES = 200  # VNFD files one package may import, all levels together

_TOP_LEVEL_KEYS = ("tosca_definitions_version", "namespace", "metadata", "description", "dsl_definitions",
                   "repositories", "imports", "artifact_types", "data_types", "capability_types",
                   "interface_types", "relationship_types", "node_types", "group_types", "policy_types",
                   "topology_template")
_TYPE_SECTIONS = {"node_types": "node", "data_types": "data", "artifact_types": "artifact",
                  "capability_types": "capability", "interface_types": "interface",
                  "relationship_types": "relationship", "group_types": "group", "policy_types": "policy"}
_TEMPLATE_KEYS = ("type", "description", "metadata", "directives", "properties", "attributes", "requirements",
                  "capabilities", "interfaces", "artifacts", "node_filter", "copy")
_FUNCTIONS = frozenset(("get_input", "get_property", "get_attribute", "get_operation_output", "get_artifact",
                        "get_nodes_of_type", "concat", "join", "token"))
_PRIMITIVES = frozenset(("string", "integer", "float", "boolean", "timestamp", "version", "range", "list", "map",
                         "scalar-unit.size", "scalar-unit.frequency", "scalar-unit.time", "scalar-unit.bitrate",
                         "tosca.datatypes.json", "tosca.datatypes.xml", "any"))
_VERSION = re.compile(r"^\d+\.\d+(\.\d+(\.[A-Za-z0-9_]+(-\d+)?)?)?$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")


# scalar units -----------------------------------------------------------------------
SIZE_UNITS = {"B": 1, "kB": 10**3, "KiB": 2**10, "MB": 10**6, "MiB": 2**20, "GB": 10**9, "GiB": 2**30,
              "TB": 10**12, "TiB": 2**40}
FREQUENCY_UNITS = {"Hz": 1, "kHz": 10**3, "MHz": 10**6, "GHz": 10**9}
TIME_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
BITRATE_UNITS = {"bps": 1, "Kbps": 10**3, "Kibps": 2**10, "Mbps": 10**6, "Mibps": 2**20, "Gbps": 10**9,
                 "Gibps": 2**30, "Tbps": 10**12, "Tibps": 2**40, "Bps": 8, "KBps": 8 * 10**3, "KiBps": 8 * 2**10,
                 "MBps": 8 * 10**6, "MiBps": 8 * 2**20, "GBps": 8 * 10**9, "GiBps": 8 * 2**30,
                 "TBps": 8 * 10**12, "TiBps": 8 * 2**40}
_SCALAR_KINDS = {"size": (SIZE_UNITS, False), "frequency": (FREQUENCY_UNITS, False), "time": (TIME_UNITS, False),
                 "bitrate": (BITRATE_UNITS, True)}
_SCALAR = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$")


def parse_scalar(value: Any, kind: str) -> float:
    """A TOSCA scalar-unit value (``"512 MiB"``, ``"2.4 GHz"``, ``"10 ms"``, ``"1 Gbps"``) in its base unit.

    ``kind`` is ``size`` (bytes), ``frequency`` (Hz), ``time`` (seconds) or ``bitrate`` (bits per
    second).  Units of size, frequency and time are matched in any case (``1 gb``), as the TOSCA
    Simple Profile allows; bitrate units are case-sensitive, since ``Bps`` (bytes) and ``bps``
    (bits) differ.  Raises ValueError with a message fit for a user.
    """
    units, case_sensitive = _SCALAR_KINDS[kind]
    match = _SCALAR.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not a scalar-unit.{kind}: write a number and a unit, "
                         f"e.g. '1 {next(reversed(units)) if kind == 'size' else next(iter(units))}'")
    number, unit = float(match.group(1)), match.group(2)
    factor = units.get(unit)
    if factor is None and not case_sensitive:
        factor = next((f for u, f in units.items() if u.lower() == unit.lower()), None)
    if factor is None:
        raise ValueError(f"unknown scalar-unit.{kind} unit {unit!r} in {value!r} "
                         f"(known: {', '.join(units)})")
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number * factor


def size_in_bytes(value: Any) -> int:
    """A scalar-unit.size as a whole number of bytes (rounded up); ValueError as parse_scalar."""
    return math.ceil(parse_scalar(value, "size"))


# hash algorithms --------------------------------------------------------------------
HASH_ALGORITHMS = ("sha224", "sha256", "sha384", "sha512")


def digest_name(algorithm: Any) -> str | None:
    """The hashlib name of ``SHA-224/256/384/512`` written in any case, with or without the dash
    (``sha-256``, ``SHA256``), or None for anything else."""
    if not isinstance(algorithm, str):
        return None
    name = algorithm.strip().lower().replace("-", "").replace("_", "")
    return name if name in HASH_ALGORITHMS else None


def hash_problem(algorithm: str, value: Any) -> str | None:
    """Why ``value`` is not a hex digest of the hashlib ``algorithm`` (any case), or None."""
    size = hashlib.new(algorithm).digest_size * 2
    if not isinstance(value, str) or not _HEX.match(value):
        return f"hash must be hexadecimal, not {value!r}"
    if len(value) != size:
        return f"a {algorithm} hash has {size} hex digits, not {len(value)}"
    return None


# results ----------------------------------------------------------------------------
class PackageFiles(Protocol):
    """The package as the VNFD reader sees it: member names are normalised paths."""

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a regular file of the package."""

    def read_text(self, name: str) -> str:
        """UTF-8 text of a member; raises NfvoError (with Issues) when it cannot be read as text."""


@dataclass(frozen=True)
class SwImage:
    """``sw_image_data`` of one VDU node, with the file or URL of its SwImage artifact.

    Sizes are in bytes.  ``algorithm`` is the hashlib name, ``hash`` lower-case hex.
    ``file`` is a package member, ``link`` an http(s) URL; neither is set when the node has
    no SwImage artifact (the image must then already be on the VIM).  ``source_file`` and
    ``pointer`` locate ``sw_image_data`` in the VNFD; ``artifact_pointer`` the artifact.
    """

    node: str
    name: str
    version: str
    algorithm: str
    hash: str
    container_format: str
    disk_format: str
    min_disk: int
    min_ram: int
    size: int
    file: str | None
    link: str | None
    source_file: str
    pointer: str
    line: int | None
    artifact_pointer: str | None = None
    operating_system: str | None = None


@dataclass(frozen=True)
class Vdu:
    """A ``Vdu.Compute`` or ``Vdu.VirtualBlockStorage`` node template (``kind`` compute/storage)."""

    node: str
    type: str
    kind: str
    name: str | None  # the ``name`` property of a Vdu.Compute
    image: SwImage | None
    flavour: str | None  # the deployment flavour whose topology template holds the node
    source_file: str
    pointer: str


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


# loading ----------------------------------------------------------------------------
@functools.cache
def _shipped(name: str) -> SourceDoc:
    text = resources.files("nfvo.domain").joinpath("definitions", name).read_text("utf-8")
    return load_yaml(text, f"nfvo:definitions/{name}")


def shipped_import(target: str) -> str | None:
    """The shipped definitions file an import names (by file name, path or URL), or None."""
    path = urlsplit(target).path if "://" in target else target
    base = posixpath.basename(path)
    return base if base in SOL001_FILES else None


@dataclass
class _Type:
    name: str
    kind: str
    body: dict
    doc: SourceDoc
    pointer: str


@dataclass
class _Model:
    files: PackageFiles
    issues: list[Issue]
    docs: dict[str, SourceDoc] = field(default_factory=dict)  # loaded files, package and shipped, in order
    types: dict[str, dict[str, _Type]] = field(default_factory=dict)
    bad_types: set[tuple] = field(default_factory=set)  # problems already reported
    vnfd_files: list[str] = field(default_factory=list)
    chains: dict[tuple[str, str], list[_Type]] = field(default_factory=dict)  # _chain's found chains


def read_vnfd(files: PackageFiles, entry: str, issues: list[Issue]) -> Vnfd | None:
    """Read and check the VNFD whose entry definitions file is the member ``entry``.

    Appends every problem to ``issues`` (file, line, JSON pointer) and returns None when
    there was any in the VNFD; reading never stops at the first problem of a file.
    """
    before = len(issues)
    model = _Model(files, issues, types={kind: {} for kind in _TYPE_SECTIONS.values()})
    _load_shipped(model, BASE_TYPES_FILE)
    _load_package_file(model, entry, None, None)
    if len(issues) > before and entry not in model.docs:
        return None
    for kind in model.types:
        for typedef in model.types[kind].values():
            _chain(model, kind, typedef.name, typedef.doc, typedef.pointer)
    for name, doc in model.docs.items():
        if name in model.vnfd_files:
            _check_type_definitions(model, doc)
    templates = [(doc, node, body) for doc in (model.docs[f] for f in model.vnfd_files)
                 for node, body in _node_templates(doc)]
    for doc, node, body in templates:
        _check_node_template(model, doc, node, body, _substituted(doc, body))
    vnfd = _vnfd(model, templates, entry)
    return vnfd if len(issues) == before else None


def _load_shipped(model: _Model, name: str) -> None:
    doc = _shipped(name)
    if doc.file in model.docs:
        return
    model.docs[doc.file] = doc
    for target in doc.data.get("imports") or ():
        _load_shipped(model, target)
    _collect_types(model, doc)


def _load_package_file(model: _Model, name: str, by: SourceDoc | None, pointer: str | None) -> None:
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


def _load_import(model: _Model, doc: SourceDoc, pointer: str, item: Any) -> None:
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
    member = _package_path(doc.file, target)
    if member is None:
        model.issues.append(doc.issue(pointer, f"import {target!r} leaves the package"))
    elif not model.files.exists(member):
        model.issues.append(doc.issue(pointer, f"unknown import {target!r}: the package has no file {member}"))
    else:
        _load_package_file(model, member, doc, pointer)


def _package_path(relative_to: str, target: str) -> str | None:
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
        if key not in _TOP_LEVEL_KEYS:
            issues.append(doc.issue(child_pointer("", key), f"unknown key '{key}'{_hint(key, _TOP_LEVEL_KEYS)}"))


def _collect_types(model: _Model, doc: SourceDoc) -> None:
    for section, kind in _TYPE_SECTIONS.items():
        defined = doc.data.get(section)
        if defined is None:
            continue
        pointer = child_pointer("", section)
        if not isinstance(defined, dict):
            model.issues.append(doc.issue(pointer, f"{section} must be a mapping of type names"))
            continue
        for name, body in defined.items():
            type_pointer = child_pointer(pointer, name)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                model.issues.append(doc.issue(type_pointer, "a type definition must be a mapping"))
                continue
            known = model.types[kind].get(name)
            if known is not None:
                model.issues.append(doc.issue(type_pointer, f"{kind} type {name} is already defined in "
                                                            f"{known.doc.file}"))
                continue
            model.types[kind][name] = _Type(name, kind, body, doc, type_pointer)


# types ------------------------------------------------------------------------------
def _chain(model: _Model, kind: str, name: str, doc: SourceDoc | None = None,
           pointer: str | None = None) -> list[_Type] | None:
    """The type and its ancestors (the type first), or None when unknown (reported at ``pointer``)."""
    found = model.chains.get((kind, name))
    if found is not None:  # only a chain that was found is kept: a problem is reported at each pointer
        return found
    chain: list[_Type] = []
    seen: set[str] = set()
    current = name
    report = doc is not None
    while current is not None:
        typedef = model.types[kind].get(current)
        if typedef is None:
            if report and (kind, current, doc.file, pointer) not in model.bad_types:
                model.bad_types.add((kind, current, doc.file, pointer))
                what = "unknown" if current == name else f"{name} derives from the unknown"
                model.issues.append(doc.issue(pointer, f"{what} {kind} type {current!r}"
                                                       f"{_hint(current, model.types[kind])}"))
            return None
        if current in seen:
            if report and (kind, name, "cycle") not in model.bad_types:
                model.bad_types.add((kind, name, "cycle"))
                model.issues.append(typedef.doc.issue(typedef.pointer, f"{kind} type {current} derives from itself"))
            return None
        seen.add(current)
        chain.append(typedef)
        parent = typedef.body.get("derived_from")
        if parent is not None and not isinstance(parent, str):
            return None
        doc, pointer = typedef.doc, child_pointer(typedef.pointer, "derived_from")
        current = parent
    model.chains[(kind, name)] = chain
    return chain


def _derives_from(model: _Model, kind: str, name: Any, base: str) -> bool:
    chain = _chain(model, kind, name) if isinstance(name, str) else None
    return bool(chain) and any(t.name == base for t in chain)


def _definitions(chain: list[_Type], section: str) -> dict[str, tuple[Any, _Type]]:
    """``properties`` (or ``capabilities``) declared along a type chain; the most derived wins."""
    merged: dict[str, tuple[Any, _Type]] = {}
    for typedef in reversed(chain):
        declared = typedef.body.get(section)
        if isinstance(declared, dict):
            for key, definition in declared.items():
                merged[key] = (definition, typedef)
    return merged


def _check_type_definitions(model: _Model, doc: SourceDoc) -> None:
    """Property definitions in the package's own types must name known types."""
    for section in ("node_types", "data_types", "capability_types"):
        defined = doc.data.get(section)
        for name, body in (defined.items() if isinstance(defined, dict) else ()):
            props = body.get("properties") if isinstance(body, dict) else None
            for prop, definition in (props.items() if isinstance(props, dict) else ()):
                pointer = child_pointer(child_pointer(child_pointer(child_pointer("", section), name),
                                                      "properties"), prop)
                if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
                    model.issues.append(doc.issue(pointer, "a property definition needs a 'type'"))
                    continue
                _check_declared_type(model, doc, pointer, definition)
                if "default" in definition:
                    _check_value(model, doc, child_pointer(pointer, "default"), definition["default"], definition)


def _check_declared_type(model: _Model, doc: SourceDoc, pointer: str, definition: dict) -> None:
    kind = definition["type"]
    if kind not in _PRIMITIVES and not kind.startswith("tosca."):
        _chain(model, "data", kind, doc, child_pointer(pointer, "type"))
    schema = definition.get("entry_schema")
    if isinstance(schema, dict) and isinstance(schema.get("type"), str):
        _check_declared_type(model, doc, child_pointer(pointer, "entry_schema"), schema)


# values -----------------------------------------------------------------------------
def _is_function(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _FUNCTIONS


def _check_value(model: _Model, doc: SourceDoc, pointer: str, value: Any, definition: Any) -> None:
    """Check ``value`` against a property definition ``{type, entry_schema, constraints}``."""
    if _is_function(value) or not isinstance(definition, dict):
        return
    kind = definition.get("type")
    if isinstance(definition.get("entry_schema"), str):
        definition = dict(definition, entry_schema={"type": definition["entry_schema"]})
    problem = _type_problem(model, doc, pointer, value, kind, definition)
    if problem:
        model.issues.append(doc.issue(pointer, problem))
        return
    constraints = definition.get("constraints")
    for constraint in constraints if isinstance(constraints, list) else ():
        problem = _constraint_problem(value, kind, constraint)
        if problem:
            model.issues.append(doc.issue(pointer, problem))


def _type_problem(model: _Model, doc: SourceDoc, pointer: str, value: Any, kind: Any,
                  definition: dict) -> str | None:
    if value is None:
        return f"must be a {kind}, not null"
    if kind == "string":
        return None if isinstance(value, str) else f"must be a string, not {_shown(doc, pointer, value)} " \
                                                    f"(quote it: '{_as_written(doc, pointer, value)}')"
    if kind == "integer":
        return None if isinstance(value, int) and not isinstance(value, bool) else \
            f"must be an integer, not {_shown(doc, pointer, value)}"
    if kind == "float":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else \
            f"must be a number, not {_shown(doc, pointer, value)}"
    if kind == "boolean":
        return None if isinstance(value, bool) else f"must be true or false, not {_shown(doc, pointer, value)}"
    if kind == "version":
        text = _as_written(doc, pointer, value)
        return None if isinstance(value, (str, int, float)) and not isinstance(value, bool) \
            and _VERSION.match(text) else f"{text!r} is not a TOSCA version (major.minor[.fix[.qualifier[-build]]])"
    if isinstance(kind, str) and kind.startswith("scalar-unit."):
        try:
            parse_scalar(value, kind.split(".", 1)[1])
        except (ValueError, KeyError) as exc:
            return str(exc)
        return None
    if kind in ("list", "map"):
        container = list if kind == "list" else dict
        if not isinstance(value, container):
            return f"must be a {kind}, not {_shown(doc, pointer, value)}"
        schema = definition.get("entry_schema")
        items = enumerate(value) if kind == "list" else value.items()
        for key, item in items:
            _check_value(model, doc, child_pointer(pointer, key), item, schema)
        return None
    if not isinstance(kind, str) or kind in _PRIMITIVES:
        return None
    chain = _chain(model, "data", kind)
    if chain is None:
        return None  # unknown tosca.* types are accepted; others were reported at their definition
    base = next((t.body.get("derived_from") for t in reversed(chain)
                 if t.body.get("derived_from") in _PRIMITIVES), None)
    if base:
        return _type_problem(model, doc, pointer, value, base, definition)
    if not isinstance(value, dict):
        return f"must be a mapping ({kind}), not {_shown(doc, pointer, value)}"
    _check_properties(model, doc, pointer, value, _definitions(chain, "properties"), f"data type {kind}")
    return None


def _check_properties(model: _Model, doc: SourceDoc, pointer: str, values: Any,
                      declared: dict[str, tuple[Any, _Type]], owner: str, supplied: set[str] = frozenset()) -> None:
    values = values if isinstance(values, dict) else {}
    for key, value in values.items():
        if key not in declared:
            model.issues.append(doc.issue(child_pointer(pointer, key),
                                          f"unknown property '{key}' of {owner}{_hint(key, declared)}"))
            continue
        _check_value(model, doc, child_pointer(pointer, key), value, declared[key][0])
    for key, (definition, _) in declared.items():
        if key in values or key in supplied or not isinstance(definition, dict):
            continue
        if definition.get("required", True) is not False and "default" not in definition:
            model.issues.append(doc.issue(pointer, f"property '{key}' of {owner} is required"))


def _constraint_problem(value: Any, kind: Any, constraint: Any) -> str | None:
    if not isinstance(constraint, dict) or len(constraint) != 1:
        return None
    operator, limit = next(iter(constraint.items()))
    scalar = kind.split(".", 1)[1] if isinstance(kind, str) and kind.startswith("scalar-unit.") else None

    def number(item: Any) -> Any:
        return parse_scalar(item, scalar) if scalar else item

    try:
        current = number(value)
        if operator == "valid_values" and isinstance(limit, list):
            if current not in [number(v) for v in limit]:
                return f"must be one of {', '.join(map(str, limit))}, not {value!r}"
        elif operator == "equal" and current != number(limit):
            return f"must be {limit!r}, not {value!r}"
        elif operator in ("greater_than", "greater_or_equal", "less_than", "less_or_equal"):
            bound = number(limit)
            ok = {"greater_than": current > bound, "greater_or_equal": current >= bound,
                  "less_than": current < bound, "less_or_equal": current <= bound}[operator]
            if not ok:
                return f"must be {operator.replace('_', ' ')} {limit}, not {value!r}"
        elif operator == "in_range" and isinstance(limit, list) and len(limit) == 2:
            low, high = number(limit[0]), number(limit[1])
            if not low <= current <= high:
                return f"must be in the range {limit[0]}..{limit[1]}, not {value!r}"
        elif operator in ("length", "min_length", "max_length") and isinstance(value, (str, list, dict)):
            size = len(value)
            ok = {"length": size == limit, "min_length": size >= limit, "max_length": size <= limit}[operator]
            if not ok:
                return f"{operator.replace('_', ' ')} must be {limit}, not {size}"
        elif operator == "pattern" and isinstance(value, str) and isinstance(limit, str):
            if not re.fullmatch(limit, value):
                return f"{value!r} does not match the pattern {limit!r}"
    except (TypeError, ValueError, re.error):
        return None  # a malformed constraint in the type, or a value already reported as of a wrong type
    return None


def _as_written(doc: SourceDoc, pointer: str, value: Any) -> str:
    return doc.texts.get(pointer, str(value)) if not isinstance(value, str) else value


def _shown(doc: SourceDoc, pointer: str, value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {_as_written(doc, pointer, value)}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _hint(key: str, known: Any) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# node templates ---------------------------------------------------------------------
def _node_templates(doc: SourceDoc) -> Iterator[tuple[str, dict]]:
    topology = doc.data.get("topology_template") if isinstance(doc.data, dict) else None
    templates = topology.get("node_templates") if isinstance(topology, dict) else None
    yield from (templates.items() if isinstance(templates, dict) else ())


def _node_pointer(node: str) -> str:
    return child_pointer("/topology_template/node_templates", node)


def _substituted(doc: SourceDoc, body: Any) -> set[str]:
    """Properties the template's substitution_mappings give a node of the substituted type
    (a flavour file's ``flavour_id``), which that node then need not repeat."""
    topology = doc.data.get("topology_template") if isinstance(doc.data, dict) else None
    mappings = topology.get("substitution_mappings") if isinstance(topology, dict) else None
    if not isinstance(mappings, dict) or not isinstance(body, dict) or mappings.get("node_type") != body.get("type"):
        return set()
    props = mappings.get("properties")
    return set(props) if isinstance(props, dict) else set()


def _check_node_template(model: _Model, doc: SourceDoc, node: str, body: Any, supplied: set[str]) -> None:
    pointer = _node_pointer(node)
    if not isinstance(body, dict):
        model.issues.append(doc.issue(pointer, "a node template must be a mapping"))
        return
    for key in body:
        if key not in _TEMPLATE_KEYS:
            model.issues.append(doc.issue(child_pointer(pointer, key),
                                          f"unknown key '{key}' in a node template{_hint(key, _TEMPLATE_KEYS)}"))
    kind = body.get("type")
    if not isinstance(kind, str):
        model.issues.append(doc.issue(child_pointer(pointer, "type"), "a node template needs a 'type'"))
        return
    chain = _chain(model, "node", kind, doc, child_pointer(pointer, "type"))
    if chain is None:
        return
    for section in ("properties", "capabilities", "artifacts"):
        if section in body and not isinstance(body[section], dict):
            model.issues.append(doc.issue(child_pointer(pointer, section), f"{section} must be a mapping"))
    _check_properties(model, doc, child_pointer(pointer, "properties"), body.get("properties"),
                      _definitions(chain, "properties"), f"{kind}", supplied)
    capabilities = body.get("capabilities") if isinstance(body.get("capabilities"), dict) else {}
    declared = _definitions(chain, "capabilities")
    for name, assignment in capabilities.items():
        cap_pointer = child_pointer(child_pointer(pointer, "capabilities"), name)
        if name not in declared:
            model.issues.append(doc.issue(cap_pointer, f"{kind} has no capability '{name}'{_hint(name, declared)}"))
            continue
        definition = declared[name][0]
        cap_type = definition.get("type") if isinstance(definition, dict) else definition
        cap_chain = _chain(model, "capability", cap_type) if isinstance(cap_type, str) else None
        if cap_chain and isinstance(assignment, dict) and "properties" in assignment:
            props = _definitions(cap_chain, "properties")
            if props:
                _check_properties(model, doc, child_pointer(cap_pointer, "properties"), assignment["properties"],
                                  props, f"capability {cap_type}")
    artifacts = body.get("artifacts") if isinstance(body.get("artifacts"), dict) else {}
    for name, artifact in artifacts.items():
        art_pointer = child_pointer(child_pointer(pointer, "artifacts"), name)
        if isinstance(artifact, str):
            continue
        if not isinstance(artifact, dict):
            model.issues.append(doc.issue(art_pointer, "an artifact must be a file name or a mapping"))
            continue
        if not isinstance(artifact.get("type"), str):
            model.issues.append(doc.issue(child_pointer(art_pointer, "type"), "an artifact needs a 'type'"))
        else:
            _chain(model, "artifact", artifact["type"], doc, child_pointer(art_pointer, "type"))
        if not isinstance(artifact.get("file"), str) or not artifact["file"].strip():
            model.issues.append(doc.issue(child_pointer(art_pointer, "file"), "an artifact needs a 'file'"))


# the VNF ----------------------------------------------------------------------------
_IDENTITY = ("descriptor_id", "provider", "product_name", "software_version", "descriptor_version")


def _resolved(model: _Model, doc: SourceDoc, node: str, body: dict, prop: str) -> Any:
    """A VNF property's value: the template's (unless a function), else the type's default,
    else the only value a valid_values/equal constraint allows; None when there is none."""
    value = (body.get("properties") or {}).get(prop) if isinstance(body.get("properties"), dict) else None
    if value is not None and not _is_function(value):
        return _as_written(doc, child_pointer(child_pointer(_node_pointer(node), "properties"), prop), value)
    chain = _chain(model, "node", body.get("type")) or []
    definition = _definitions(chain, "properties").get(prop, (None, None))[0]
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


def _vnfd(model: _Model, templates: list[tuple[SourceDoc, str, Any]], entry: str) -> Vnfd | None:
    vnf_nodes = [(doc, node, body) for doc, node, body in templates
                 if isinstance(body, dict) and _derives_from(model, "node", body.get("type"), VNF)]
    entry_doc = model.docs.get(entry)
    if not vnf_nodes:
        if entry_doc is not None:
            model.issues.append(entry_doc.issue("/topology_template/node_templates" if templates else "",
                                                f"no node template of type {VNF} (or a type derived from it) "
                                                "in the VNFD"))
        return None
    doc, node, body = vnf_nodes[0]
    identity: dict[str, str] = {}
    for prop in _IDENTITY:
        value = _resolved(model, doc, node, body, prop)
        if value is None:
            given = (body.get("properties") or {}).get(prop) if isinstance(body.get("properties"), dict) else None
            if _is_function(given):
                model.issues.append(doc.issue(child_pointer(child_pointer(_node_pointer(node), "properties"), prop),
                                              f"'{prop}' identifies the VNF: it must be a value, not "
                                              f"{next(iter(given))}"))
            elif prop not in _missing_reported(model, doc, node):
                model.issues.append(doc.issue(child_pointer(_node_pointer(node), "properties"),
                                              f"property '{prop}' of the VNF is required"))
            continue
        identity[prop] = str(value)
        for other_doc, other_node, other_body in vnf_nodes[1:]:
            other = _resolved(model, other_doc, other_node, other_body, prop)
            if other is not None and str(other) != str(value):
                model.issues.append(other_doc.issue(
                    child_pointer(child_pointer(_node_pointer(other_node), "properties"), prop),
                    f"{prop} '{other}' differs from '{value}' in {doc.file}"))
    flavours = _flavours(model, vnf_nodes)
    if not flavours:
        model.issues.append(doc.issue(child_pointer(_node_pointer(node), "properties"),
                                      "no deployment flavour: flavour_id has no value"))
    flavour_of = {f.source_file: f.id for f in flavours}
    vdus = []
    for tdoc, tnode, tbody in templates:
        if not isinstance(tbody, dict):
            continue
        for base, kind in ((VDU_COMPUTE, "compute"), (VDU_BLOCK_STORAGE, "storage")):
            if _derives_from(model, "node", tbody.get("type"), base):
                vdus.append(_vdu(model, tdoc, tnode, tbody, kind, flavour_of.get(tdoc.file)))
    if len(identity) < len(_IDENTITY) or not flavours:
        return None
    vnfm_info = _resolved(model, doc, node, body, "vnfm_info")
    return Vnfd(**identity, flavours=tuple(flavours),
                vnfm_info=tuple(str(v) for v in vnfm_info) if isinstance(vnfm_info, list) else (),
                vdus=tuple(vdus), vnf_node=node, vnf_type=body["type"], entry_file=entry,
                files=tuple(model.vnfd_files))


def _missing_reported(model: _Model, doc: SourceDoc, node: str) -> set[str]:
    pointer = child_pointer(_node_pointer(node), "properties")
    found = set()
    for issue in model.issues:
        if issue.file == doc.file and issue.pointer == pointer and issue.message.startswith("property '"):
            found.add(issue.message.split("'")[1])
    return found


def _flavours(model: _Model, vnf_nodes: list[tuple[SourceDoc, str, Any]]) -> list[Flavour]:
    found: dict[str, Flavour] = {}
    for doc in (model.docs[f] for f in model.vnfd_files):
        topology = doc.data.get("topology_template") if isinstance(doc.data, dict) else None
        if not isinstance(topology, dict):
            continue
        mappings = topology.get("substitution_mappings")
        flavour_id = description = None
        if isinstance(mappings, dict) and _derives_from(model, "node", mappings.get("node_type"), VNF):
            props = mappings.get("properties") if isinstance(mappings.get("properties"), dict) else {}
            flavour_id = props.get("flavour_id")
            description = props.get("flavour_description")
        elif isinstance(mappings, dict) and mappings.get("node_type") is not None:
            _chain(model, "node", mappings["node_type"], doc, "/topology_template/substitution_mappings/node_type")
        for ndoc, node, body in vnf_nodes:
            if ndoc is doc:
                flavour_id = flavour_id if isinstance(flavour_id, str) else _resolved(model, doc, node, body,
                                                                                       "flavour_id")
                description = description or _resolved(model, doc, node, body, "flavour_description")
        if isinstance(flavour_id, (str, int, float)) and not isinstance(flavour_id, bool) and str(flavour_id):
            found.setdefault(str(flavour_id), Flavour(str(flavour_id), description if isinstance(description, str)
                                                      else None, doc.file))
    return list(found.values())


def _vdu(model: _Model, doc: SourceDoc, node: str, body: dict, kind: str, flavour: str | None) -> Vdu:
    pointer = _node_pointer(node)
    props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    artifacts = body.get("artifacts") if isinstance(body.get("artifacts"), dict) else {}
    images = [(name, a) for name, a in artifacts.items()
              if isinstance(a, dict) and _derives_from(model, "artifact", a.get("type"), SW_IMAGE)]
    artifacts_pointer = child_pointer(pointer, "artifacts")
    if len(images) > 1:
        model.issues.append(doc.issue(artifacts_pointer, f"a VDU has one {SW_IMAGE} artifact, not {len(images)}"))
    data = props.get("sw_image_data")
    data_pointer = child_pointer(child_pointer(pointer, "properties"), "sw_image_data")
    image = None
    if images and not isinstance(data, dict):
        model.issues.append(doc.issue(child_pointer(artifacts_pointer, images[0][0]),
                                      f"a {SW_IMAGE} artifact needs the node's sw_image_data property"))
    elif isinstance(data, dict):
        file = link = art_pointer = None
        if images:
            art_pointer = child_pointer(artifacts_pointer, images[0][0])
            file, link = _artifact_target(model, doc, child_pointer(art_pointer, "file"), images[0][1].get("file"))
        image = _sw_image(model, doc, node, data, data_pointer, file, link, art_pointer)
    name = props.get("name") if isinstance(props.get("name"), str) else None
    return Vdu(node, body["type"], kind, name, image, flavour, doc.file, pointer)


def _artifact_target(model: _Model, doc: SourceDoc, pointer: str, value: Any) -> tuple[str | None, str | None]:
    """(member, None) or (None, URL) for an artifact's ``file``: a path relative to the VNFD file's
    folder, else to the package root; or an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    if "://" in value:
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            model.issues.append(doc.issue(pointer, f"'{value}' is neither a file in the package nor an http(s) URL"))
            return None, None
        return None, value
    relative = _package_path(doc.file, value)
    if relative and model.files.exists(relative):
        return relative, None
    rooted = _package_path("", value)
    if rooted and model.files.exists(rooted):
        return rooted, None
    if relative is None and rooted is None:
        model.issues.append(doc.issue(pointer, f"'{value}' leaves the package"))
    else:
        model.issues.append(doc.issue(pointer, f"the package has no file '{value}' "
                                               f"(looked for {relative or rooted})"))
    return None, None


def _sw_image(model: _Model, doc: SourceDoc, node: str, data: dict, pointer: str, file: str | None,
              link: str | None, artifact_pointer: str | None) -> SwImage | None:
    checksum = data.get("checksum") if isinstance(data.get("checksum"), dict) else {}
    algorithm = digest_name(checksum.get("algorithm"))
    if "algorithm" in checksum and algorithm is None:
        model.issues.append(doc.issue(f"{pointer}/checksum/algorithm",
                                      f"unsupported checksum algorithm {checksum['algorithm']!r} "
                                      "(use SHA-224, SHA-256, SHA-384 or SHA-512)"))
    elif algorithm and "hash" in checksum and (problem := hash_problem(algorithm, checksum["hash"])):
        model.issues.append(doc.issue(f"{pointer}/checksum/hash", problem))
        algorithm = None
    try:
        min_disk = size_in_bytes(data.get("min_disk"))
        size = size_in_bytes(data.get("size"))
        min_ram = size_in_bytes(data["min_ram"]) if data.get("min_ram") is not None else 0
    except ValueError:
        return None  # reported by the property check
    texts = [data.get(k) for k in ("name", "version", "container_format", "disk_format")]
    if algorithm is None or not all(isinstance(t, str) for t in texts) or not isinstance(checksum.get("hash"), str):
        return None
    system = data.get("operating_system")
    return SwImage(node=node, name=texts[0], version=texts[1], algorithm=algorithm,
                   hash=checksum["hash"].lower(), container_format=texts[2], disk_format=texts[3],
                   min_disk=min_disk, min_ram=min_ram, size=size, file=file, link=link, source_file=doc.file,
                   pointer=pointer, line=doc.line_of(pointer), artifact_pointer=artifact_pointer,
                   operating_system=system if isinstance(system, str) else None)
