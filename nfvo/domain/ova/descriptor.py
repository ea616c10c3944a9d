"""``.ovf`` descriptors (OVF 1.x and 2.x) read into an :class:`~nfvo.domain.ova.model.OvfDescriptor`, with all findings.

XML goes through :func:`nfvo.domain.nfvis.xmltree.parse_xml` (defusedxml: DTD entities, external
references and external DTDs are refused as one ERROR at their line).  Elements are matched by
local name; the envelope's namespace must be OVF 1.x or 2.x.  Where each field comes from:

* ``name``: the VirtualSystem's ``Name``, else its ``ovf:id``; ``description``: the
  ``AnnotationSection/Annotation``, else the ``ProductSection/Product`` (whose ``Product``,
  ``Vendor`` and ``Version``/``FullVersion`` are also kept as ``product``, ``vendor``, ``version``);
* ``os_type``: the OperatingSystemSection (``ovf:id``, ``vmw:osType``, ``Description``);
  ``os_distro``, ``os_version``, ``architecture``: when the VirtualSystem holds nfvo's own
  ``ImageSection`` (namespace :data:`~nfvo.domain.ova.model.NFVO`, written by
  :func:`~nfvo.domain.ova.export.build_ovf`), its ``OsDistro``, ``OsVersion`` and ``Architecture``
  (absent or empty: None); otherwise derived by :mod:`nfvo.domain.ova.guest`, the OperatingSystemSection's
  ``ovf:version`` being the last resort for the version;
* ``cpus`` and ``memory_mb``: the first VirtualHardwareSection (OVF allows one per platform), the
  sum of its items of ResourceType 3 (``VirtualQuantity`` processors) and 4 (``VirtualQuantity``
  in ``AllocationUnits`` such as ``byte * 2^20`` or ``MegaBytes``; rounded up to whole MiB);
* ``disks``: each ``DiskSection/Disk``, its ``ovf:fileRef`` resolved to the ``References/File``,
  ``ovf:capacity`` in ``ovf:capacityAllocationUnits`` (default bytes), its format by
  :func:`disk_format`.  The boot disk is the one attached first in that hardware section: among the
  items whose ``HostResource`` is ``ovf:/disk/<diskId>``, the one on the controller listed first,
  at the lowest ``AddressOnParent``; when no item attaches a disk, the first Disk.

Findings, each with the file, line and element path:

* ERROR: not XML or hostile XML; the root not an OVF 1.x/2.x ``Envelope``; no VirtualSystem, or
  several; a VirtualSystem with neither ``Name`` nor ``ovf:id``; a File without ``ovf:id`` or
  ``ovf:href``, or whose href is absolute, a URL, holds ``..``, a backslash or control characters;
  a File id or href given twice; a compressed (``ovf:compression``) or chunked (``ovf:chunkSize``)
  File; ``ovf:size``, ``ovf:capacity`` or ``ovf:populatedSize`` not a non-negative integer; unknown
  capacity units; a Disk without ``ovf:diskId`` or with a duplicate one; an ``ovf:fileRef`` or
  ``HostResource`` naming no File or Disk.
* WARNING: a Disk without ``ovf:capacity``; processor or memory quantities or units nfvo cannot
  read (left unset), memory not a whole MiB, memory without ``AllocationUnits`` (taken as MiB); an
  OperatingSystemSection ``ovf:id`` that is not a number; a section nfvo does not read that is
  required (``ovf:required="true"``, or an extension section in another namespace that does not
  say ``ovf:required="false"``).  Other sections (StartupSection, NetworkSection, EulaSection, ...)
  are ignored: deployment settings are not imported.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.nfvis.xmltree import XmlElement, parse_xml
from nfvo.domain.ova import guest
from nfvo.domain.ova.model import (
    DISK_FORMATS,
    NFVO,
    OVF1,
    OVF2,
    OVF_NAMESPACES,
    OsType,
    OvfDescriptor,
    OvfDisk,
    OvfFile,
)
from nfvo.errors import WARNING, Issue

_READ_SECTIONS = frozenset({"DiskSection", "AnnotationSection", "ProductSection", "OperatingSystemSection",
                            "VirtualHardwareSection"})
_STRUCTURE = frozenset({"Info", "Name", "References", "Strings", "VirtualSystem", "VirtualSystemCollection"})
_ITEMS = ("Item", "StorageItem", "EthernetPortItem")
_PROCESSOR, _MEMORY = "3", "4"
_DISK_HOST = re.compile(r"^(?:ovf:)?/disk/(.+)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_INTEGER = re.compile(r"^[0-9]{1,20}$")
_POWER_UNIT = re.compile(r"^byte(?:\s*\*\s*([0-9]{1,4})\s*\^\s*([0-9]{1,2}))?$", re.I)
_NAMED_UNITS = {"byte": 1, "bytes": 1, "kilobytes": 2**10, "megabytes": 2**20, "gigabytes": 2**30,
                "terabytes": 2**40, "kb": 2**10, "mb": 2**20, "gb": 2**30, "tb": 2**40}
_MAX_UNIT = 2**60
_EXTENSIONS = {".vmdk": "vmdk", ".qcow2": "qcow2", ".qcow": "qcow2", ".img": "raw", ".raw": "raw", ".iso": "iso",
               ".vhd": "vhd", ".vhdx": "vhdx"}
MIB = 2**20


def read_ovf(text: str | bytes, file: str) -> tuple[OvfDescriptor | None, list[Issue]]:
    """The descriptor in ``text`` (the content of ``file``; bytes let the XML declaration choose the
    encoding) and every finding about it (see the module), by line.  The descriptor is None when ``text`` is
    not an OVF envelope describing a virtual system; otherwise it is returned even when findings
    hold errors (the caller settles them)."""
    root, issues = parse_xml(text, file)
    if root is None:
        return None, issues
    namespaces = _namespaces(text, root)
    namespace = namespaces.get(id(root), "")
    version = OVF_NAMESPACES.get(namespace)
    if root.tag != "Envelope" or version is None:
        where = f" in namespace {namespace}" if namespace else " without a namespace"
        issues.append(root.issue(f"not an OVF descriptor: the root element is <{root.tag}>{where}, not an OVF "
                                 f"1.x or 2.x <Envelope> ({OVF1} or {OVF2})", file))
        return None, issues
    descriptor = _Reader(file, namespaces, issues).envelope(root, version)
    issues.sort(key=lambda i: i.line or 0)
    return descriptor, issues


def disk_format(uri: str | None, href: str | None) -> str | None:
    """The format of a disk from its ``ovf:format`` URI: VMware's (``.../vmdk.html#streamOptimized``,
    ``#sparse``, ...) -> vmdk, qemu's qcow URIs -> qcow2, Microsoft's -> vhd, a URI whose last part is
    a format name (``.../raw``) -> that; otherwise from the href's extension (.vmdk, .qcow2, .img or
    .raw, .iso, .vhd, .vhdx), else raw; None for a disk without a file and without a known URI."""
    if uri:
        lowered = uri.strip().lower()
        if "vmware.com" in lowered or "vmdk" in lowered:
            return "vmdk"
        if "qcow" in lowered:
            return "qcow2"
        if "microsoft.com" in lowered:
            return "vhd"
        tail = re.split(r"[/#]", lowered.rstrip("/"))[-1]
        if tail in DISK_FORMATS:
            return tail
    if not href:
        return None
    return _EXTENSIONS.get(posixpath.splitext(href)[1].lower(), "raw")


def allocation_unit(text: str) -> int | None:
    """Bytes per unit of a DMTF programmatic unit (``byte``, ``byte * 2^30``, ``byte * 10^9``) or of
    the names older tools write (``KiloBytes`` ... ``TeraBytes``, binary); None when unknown."""
    text = " ".join(text.split())
    named = _NAMED_UNITS.get(text.lower())
    if named:
        return named
    match = _POWER_UNIT.match(text)
    if not match:
        return None
    if match.group(1) is None:
        return 1
    unit = int(match.group(1)) ** int(match.group(2))
    return unit if 0 < unit <= _MAX_UNIT else None


class _Reader:
    def __init__(self, file: str, namespaces: dict[int, str], issues: list[Issue]):
        self.file, self.namespaces, self.issues = file, namespaces, issues

    def error(self, element: XmlElement, message: str, attribute: str | None = None) -> None:
        self.issues.append(element.issue(message, self.file, attribute=attribute))

    def warning(self, element: XmlElement, message: str, attribute: str | None = None) -> None:
        self.issues.append(element.issue(message, self.file, severity=WARNING, attribute=attribute))

    def envelope(self, root: XmlElement, version: str) -> OvfDescriptor | None:
        files = self.references(root)
        system = self.virtual_system(root)
        self.ignored_sections(root)
        if system is None:
            return None
        disks = self.disks([*root.named("DiskSection"), *system.named("DiskSection")], files)
        system_id = system.attrib.get("id") or None
        name_element = system.child("Name")
        name = (name_element.text if name_element is not None else "") or system_id
        if not name:
            self.error(system, "the VirtualSystem has neither a <Name> nor an ovf:id: nfvo cannot name the image")
        annotation = _text(system.child("AnnotationSection"), "Annotation")
        product_section = system.child("ProductSection")
        product = _text(product_section, "Product")
        version_text = _text(product_section, "Version") or _text(product_section, "FullVersion")
        os_type, os_section_version = self.operating_system(system)
        cpus, memory_mb, boot = self.hardware(system, [d.disk_id for d in disks])
        own = self.own_section(system)
        derived = guest.derive(os_type, os_version=os_section_version)
        if own is not None:
            derived = guest.Guest(own.get("OsDistro"), own.get("OsVersion"), own.get("Architecture"))
        self.ignored_sections(system)
        boot = boot or (disks[0].disk_id if disks else None)
        disks = [replace(d, boot=True) if d.disk_id == boot else d for d in disks]
        return OvfDescriptor(
            file=self.file, ovf_version=version, system_id=system_id, name=name or "",
            description=annotation or product, product=product, vendor=_text(product_section, "Vendor"),
            version=version_text, os_type=os_type, os_distro=derived.distro, os_version=derived.version,
            architecture=derived.architecture, cpus=cpus, memory_mb=memory_mb,
            files=tuple(files.values()), disks=tuple(disks))

    # References, DiskSection --------------------------------------------------------
    def references(self, root: XmlElement) -> dict[str, OvfFile]:
        files: dict[str, OvfFile] = {}
        hrefs: dict[str, OvfFile] = {}
        for element in (f for section in root.named("References") for f in section.named("File")):
            file_id, href = element.attrib.get("id"), element.attrib.get("href")
            if not file_id:
                self.error(element, "a <File> needs an ovf:id")
            if not href:
                self.error(element, "a <File> needs an ovf:href (the file's name in the OVA)")
                href = ""
            else:
                href, problem = check_href(href)
                if problem:
                    self.error(element, f"ovf:href {element.attrib['href']!r}: {problem}", "href")
            size = self.size(element, "size")
            compression = element.attrib.get("compression")
            if compression not in (None, "", "identity"):
                self.error(element, f"the file is compressed ({compression}): nfvo imports uncompressed files",
                           "compression")
            if "chunkSize" in element.attrib:
                self.error(element, "the file is split in chunks (ovf:chunkSize): nfvo imports whole files",
                           "chunkSize")
            if not file_id:
                continue
            if file_id in files:
                self.error(element, f"File id {file_id!r} is given twice (first at line {files[file_id].line})", "id")
                continue
            entry = OvfFile(file_id, href, size, element.line, element.path)
            if href and href in hrefs:
                self.error(element, f"{href!r} is referenced twice (first at line {hrefs[href].line})", "href")
            hrefs.setdefault(href, entry)
            files[file_id] = entry
        return files

    def disks(self, sections: list[XmlElement], files: dict[str, OvfFile]) -> list[OvfDisk]:
        disks: dict[str, OvfDisk] = {}
        for element in (d for section in sections for d in section.named("Disk")):
            disk_id = element.attrib.get("diskId")
            if not disk_id:
                self.error(element, "a <Disk> needs an ovf:diskId")
                continue
            if disk_id in disks:
                self.error(element, f"Disk id {disk_id!r} is given twice (first at line {disks[disk_id].line})",
                           "diskId")
                continue
            ref = element.attrib.get("fileRef")
            file = files.get(ref) if ref else None
            if ref and file is None:
                self.error(element, f"ovf:fileRef {ref!r} names no File of <References>", "fileRef")
            uri = element.attrib.get("format") or None
            href = file.href if file else None
            disks[disk_id] = OvfDisk(disk_id, file, self.capacity(element), disk_format(uri, href), uri,
                                     self.size(element, "populatedSize"), False, element.line, element.path)
        return list(disks.values())

    def size(self, element: XmlElement, attribute: str) -> int | None:
        value = element.attrib.get(attribute)
        if value is None:
            return None
        if not _INTEGER.match(value.strip()):
            self.error(element, f"ovf:{attribute} must be a non-negative integer number of bytes, not {value[:40]!r}",
                       attribute)
            return None
        return int(value)

    def capacity(self, element: XmlElement) -> int | None:
        value = element.attrib.get("capacity")
        if value is None:
            self.warning(element, "the Disk has no ovf:capacity (its virtual size)")
            return None
        if not _INTEGER.match(value.strip()):
            self.error(element, f"ovf:capacity must be a non-negative integer, not {value[:40]!r}", "capacity")
            return None
        units = element.attrib.get("capacityAllocationUnits", "byte")
        unit = allocation_unit(units)
        if unit is None:
            self.error(element, f"unknown ovf:capacityAllocationUnits {units[:40]!r} (expected e.g. 'byte * 2^30')",
                       "capacityAllocationUnits")
            return None
        return int(value) * unit

    # VirtualSystem -------------------------------------------------------------------
    def virtual_system(self, root: XmlElement) -> XmlElement | None:
        systems = [*root.named("VirtualSystem"),
                   *(s for c in root.named("VirtualSystemCollection") for s in c.named("VirtualSystem"))]
        if not systems:
            self.error(root, "no <VirtualSystem>: the descriptor describes no virtual machine")
            return None
        for extra in systems[1:]:
            self.error(extra, f"a second <VirtualSystem> (the first is at line {systems[0].line}): nfvo imports "
                              "one virtual machine per image")
        return systems[0]

    def operating_system(self, system: XmlElement) -> tuple[OsType | None, str | None]:
        section = system.child("OperatingSystemSection")
        if section is None:
            return None, None
        raw, cim_id = section.attrib.get("id"), None
        if raw is not None:
            if _INTEGER.match(raw.strip()):
                cim_id = int(raw) or None
            else:
                self.warning(section, f"ovf:id {raw[:40]!r} is not a CIM operating system number; ignored", "id")
        vmware = section.attrib.get("osType") or None
        description = _text(section, "Description")
        os_type = OsType(cim_id, vmware, description) if (cim_id, vmware, description) != (None,) * 3 else None
        return os_type, section.attrib.get("version") or None

    def hardware(self, system: XmlElement, disk_ids: list[str]) -> tuple[int | None, int | None, str | None]:
        """(processors, memory in MiB, the boot disk's id or None) from the first VirtualHardwareSection."""
        section = system.child("VirtualHardwareSection")
        if section is None:
            return None, None, None
        items = [c for c in section.children if c.tag in _ITEMS]
        positions: dict[str, int] = {}
        for index, item in enumerate(items):
            positions.setdefault(_text(item, "InstanceID") or "", index)
        cpus, memory, attached = None, None, []
        for index, item in enumerate(items):
            kind = _text(item, "ResourceType")
            if kind == _PROCESSOR:
                count = self.quantity(item, "processors")
                cpus = cpus if count is None else (cpus or 0) + count
            elif kind == _MEMORY:
                size = self.memory(item)
                memory = memory if size is None else (memory or 0) + size
            for host in item.named("HostResource"):
                match = _DISK_HOST.match(host.text)
                if not match:
                    continue
                if match.group(1) not in disk_ids:
                    self.error(host, f"HostResource {host.text!r} names no Disk of the DiskSection")
                    continue
                address = _text(item, "AddressOnParent") or ""
                key = (positions.get(_text(item, "Parent") or "", len(items)),
                       int(address) if _INTEGER.match(address) else len(items), index)
                attached.append((key, match.group(1)))
        memory_mb = None
        if memory is not None:
            memory_mb = -(-memory // MIB)
            if memory % MIB:
                self.warning(section, f"memory of {memory} bytes is not a whole number of MiB: "
                                      f"taken as {memory_mb} MiB")
        return cpus, memory_mb, (min(attached)[1] if attached else None)

    def quantity(self, item: XmlElement, what: str) -> int | None:
        element = item.child("VirtualQuantity")
        if element is None or not _INTEGER.match(element.text):
            said = f" {element.text[:40]!r}" if element is not None else ""
            self.warning(element or item, f"the number of {what}{said} is not a non-negative integer; left unset")
            return None
        return int(element.text)

    def memory(self, item: XmlElement) -> int | None:
        count = self.quantity(item, "memory units")
        if count is None:
            return None
        units = item.child("AllocationUnits")
        if units is None or not units.text:
            self.warning(item, "memory without AllocationUnits: taken as MiB ('byte * 2^20')")
            return count * MIB
        unit = allocation_unit(units.text)
        if unit is None:
            self.warning(units, f"unknown memory AllocationUnits {units.text[:40]!r}; memory left unset")
            return None
        return count * unit

    def own_section(self, system: XmlElement) -> dict[str, str] | None:
        """nfvo's ImageSection as {element: text} (an empty element is a value nfvo does not know), or None."""
        section = next((c for c in system.named("ImageSection") if self.namespaces.get(id(c)) == NFVO), None)
        return {c.tag: c.text for c in section.children if c.text} if section is not None else None

    def ignored_sections(self, parent: XmlElement) -> None:
        for child in parent.children:
            namespace = self.namespaces.get(id(child), "")
            standard = namespace in OVF_NAMESPACES
            if standard and (child.tag in _STRUCTURE or child.tag in _READ_SECTIONS):
                continue
            if namespace == NFVO and child.tag == "ImageSection":
                continue
            required = (child.attrib.get("required") or "").strip().lower()
            if required in ("true", "1") or (not standard and not required):
                self.warning(child, f"<{child.tag}> is required (ovf:required) but nfvo does not read it: "
                                    "it is not imported")


def check_href(href: str) -> tuple[str, str | None]:
    """(normalised href, None), or (href, the problem) when it is absolute, a URL or drive path, holds
    ``..``, a backslash or control characters, or is empty."""
    if "\\" in href:
        return href, "a backslash in the path (use '/')"
    if href.startswith("/"):
        return href, "an absolute path: a File's href is relative to the descriptor"
    if _SCHEME.match(href):
        return href, "a URL or drive path: nfvo reads only files inside the OVA"
    name, problem = normalise_member_name(href)
    if problem:
        return href, problem
    return (name, None) if name else (href, "an empty path")


def _text(element: XmlElement | None, tag: str) -> str | None:
    child = element.child(tag) if element is not None else None
    if child is None:
        return None
    return child.text or None


class _Tags:
    """Parser target that keeps the namespace of each element, in document order."""

    def __init__(self) -> None:
        self.namespaces: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.namespaces.append(tag[1:].split("}", 1)[0] if tag.startswith("{") else "")

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def close(self) -> None:
        pass


def _namespaces(text: str | bytes, root: XmlElement) -> dict[int, str]:
    """id(element) -> its namespace URI, for every element of ``root`` (parsed from ``text``)."""
    tags = _Tags()
    parser = DefusedXMLParser(target=tags, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(text)
        parser.close()
    except (ParseError, DefusedXmlException):
        return {}
    elements = list(root.walk())
    if len(elements) != len(tags.namespaces):
        return {}
    return {id(element): namespace for element, namespace in zip(elements, tags.namespaces, strict=True)}
