"""Safe XML reading for NFVIS package files: a small element tree where every element knows its line and path.

Parsing goes through defusedxml's expat parser: entity declarations (internal ones, the
"billion laughs" kind, and external ones, XXE), references to external resources and
DOCTYPEs that name an external DTD are refused before anything is expanded or fetched.
Each refusal, a syntax error or nesting deeper than ``MAX_DEPTH`` becomes one ERROR
:class:`~nfvo.errors.Issue` naming the file and line; nothing is raised.

An element's ``path`` is its location written like XPath: ``/image_properties/profiles/profile[2]/vcpus``,
with a 1-based ``[k]`` only where the parent has several children of that name;
``attribute_path`` gives ``.../bootstrap_file[1]/@mnt_pnt``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from nfvo.errors import Issue

MAX_DEPTH = 64


@dataclass(frozen=True)
class XmlElement:
    """One element: local tag name (namespace dropped), attributes, direct text (stripped), position."""

    tag: str
    attrib: dict[str, str]
    text: str
    line: int
    column: int  # 1-based
    path: str
    children: tuple[XmlElement, ...] = ()

    def child(self, tag: str) -> XmlElement | None:
        """The first child named ``tag``, or None."""
        return next((c for c in self.children if c.tag == tag), None)

    def named(self, tag: str) -> list[XmlElement]:
        """Every child named ``tag``, in document order."""
        return [c for c in self.children if c.tag == tag]

    def attribute_path(self, name: str) -> str:
        return f"{self.path}/@{name}"

    def issue(self, message: str, file: str, *, severity: str = "error", attribute: str | None = None) -> Issue:
        """An Issue at this element (or one of its attributes) in ``file``."""
        pointer = self.attribute_path(attribute) if attribute else self.path
        return Issue(message, file, self.line, pointer, severity)

    def walk(self) -> Iterator[XmlElement]:
        """This element and every descendant, in document order (iteratively: no recursion limit)."""
        todo = [self]
        while todo:
            element = todo.pop()
            yield element
            todo.extend(reversed(element.children))


@dataclass
class _Draft:
    tag: str
    attrib: dict[str, str]
    line: int
    column: int
    text: list[str] = field(default_factory=list)
    children: list[_Draft] = field(default_factory=list)


class _TooDeep(Exception):
    pass


class _Builder:
    """The parser's target: collects drafts with the expat position of every start tag."""

    def __init__(self) -> None:
        self.parser: _Parser | None = None
        self.stack: list[_Draft] = []
        self.root: _Draft | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _TooDeep()
        expat_parser = self.parser.parser
        draft = _Draft(_local(tag), {_local(k): v for k, v in attrib.items()},
                       expat_parser.CurrentLineNumber, expat_parser.CurrentColumnNumber + 1)
        if self.stack:
            self.stack[-1].children.append(draft)
        else:
            self.root = draft
        self.stack.append(draft)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].text.append(text)

    def close(self) -> _Draft | None:
        return self.root


class _Parser(DefusedXMLParser):
    """defusedxml's parser that also refuses a DOCTYPE naming an external DTD.

    expat would not fetch such a DTD, but a document that asks for one is not a plain
    NFVIS file; a DOCTYPE without an external identifier is read (its entity
    declarations, if any, are refused by defusedxml).
    """

    def __init__(self, target: _Builder):
        super().__init__(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)

    def defused_start_doctype_decl(self, name, sysid, pubid, has_internal_subset):
        if sysid or pubid:
            raise DTDForbidden(name, sysid, pubid)


def parse_xml(data: bytes | str, file: str) -> tuple[XmlElement | None, list[Issue]]:
    """The root element of ``data`` (the text of member ``file``), or None with one ERROR Issue.

    ``data`` as bytes lets the XML declaration choose the encoding.
    """
    builder = _Builder()
    parser = _Parser(builder)
    builder.parser = parser
    try:
        parser.feed(data)
        parser.close()
    except ParseError as exc:
        line, column = exc.position
        return None, [Issue(f"not well-formed XML (column {column + 1}): {expat.ErrorString(exc.code)}", file, line)]
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden, _TooDeep) as exc:
        return None, [Issue(_refusal(exc), file, parser.parser.CurrentLineNumber)]
    if builder.root is None:
        return None, [Issue("no XML element", file, 1)]
    return _freeze(builder.root), []


def _refusal(exc: Exception) -> str:
    if isinstance(exc, _TooDeep):
        return f"elements nested deeper than {MAX_DEPTH} levels"
    if isinstance(exc, DTDForbidden):
        return (f"external DTD {exc.sysid or exc.pubid!r} is refused: a DOCTYPE must not name a DTD "
                "outside the file")
    if isinstance(exc, ExternalReferenceForbidden):
        return f"reference to the external resource {exc.sysid!r} is refused"
    where = exc.sysid or exc.pubid
    if where:
        return (f"external entity '{exc.name}' ({where!r}) is refused: entities that read files or URLs "
                "(XXE) are not allowed")
    return (f"entity declaration '{exc.name}' is refused: entities are not allowed (nested ones expand "
            "into gigabytes, the 'billion laughs' attack)")


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _freeze(root: _Draft) -> XmlElement:
    """Frozen elements with paths, built bottom-up without recursion."""
    paths = {id(root): f"/{root.tag}"}
    order, todo = [], [root]
    while todo:
        draft = todo.pop()
        order.append(draft)
        counts: dict[str, int] = {}
        for child in draft.children:
            counts[child.tag] = counts.get(child.tag, 0) + 1
        seen: dict[str, int] = {}
        for child in draft.children:
            seen[child.tag] = seen.get(child.tag, 0) + 1
            index = f"[{seen[child.tag]}]" if counts[child.tag] > 1 else ""
            paths[id(child)] = f"{paths[id(draft)]}/{child.tag}{index}"
            todo.append(child)
    frozen: dict[int, XmlElement] = {}
    for draft in reversed(order):
        frozen[id(draft)] = XmlElement(draft.tag, draft.attrib, "".join(draft.text).strip(), draft.line,
                                       draft.column, paths[id(draft)],
                                       tuple(frozen[id(c)] for c in draft.children))
    return frozen[id(root)]
