"""``image_properties.xml`` (and the optional ``system_generated_properties.xml``): read, checked, modelled.

Every problem is reported at once, each an :class:`~nfvo.errors.Issue` with the file,
line and element path (``/image_properties/profiles/profile[2]/vcpus``).  ERRORs:

* not XML, hostile XML (entities, XXE, an external DTD), a root other than ``<image_properties>``;
* ``name``, ``version`` or ``vnf_type`` missing; a ``version`` not digits and dots; a
  ``vnf_type`` not in ``VNF_TYPES``; an ``imageType`` other than ``virtualmachine``;
* a field given twice; an integer field that is not one or is out of its range
  (``bootup_time`` 600..3000 or -1, ``vnic_max`` 8..256, ``vcpu_*``/``memory_mb_*`` >= 1,
  ``root_disk_gb_*`` >= 0, ``mgmt_vnic`` below ``vnic_max``); a ``*_min`` above its ``*_max``;
* a disk bus not in ``DISK_BUSES``, a disk format not in ``DISK_FORMATS``; a flag that is not
  true/false; a monitoring method not in ``MONITORING_METHODS``; a malformed or repeated
  ``vnic_names`` entry;
* a profile without a name, vcpus or memory_mb, defined twice, or outside the ranges
  (``root_disk_mb`` against ``root_disk_gb_*`` x 1024); a ``default_profile`` not among the
  profiles;
* a bootstrap file without a name or with an unsafe one, an unsafe mount point, two files
  at one mount point (for the same controller and VM), more than 20 files, a ``parse`` not
  true/false, a ``controller`` not vManage/non-vManage, a ``vm`` not 0, 1 or 2;
* a custom property whose name is not a token name, declared twice, with an unknown type
  or ``mandatory``, a selection without values or a value listed twice; a system property
  declared twice or also declared as a custom property; a volume of the wrong type,
  format or size.

WARNINGs: a ``vnf_type``, bus, format or controller in another case (read as listed), no
``applicationVendor``, profiles without ``default_profile``, an unknown element close to a
known one ("did you mean"), a custom property without ``<type>`` (string), a ``<val>`` of a
non-selection (read as the default), a password with a default, a declaration of a
platform-filled token (ignored), a ``nocloud`` package whose bootstrap file is mounted
under ``/openstack/`` (a NoCloud drive has no such folder: it is written as ``user-data``
and the like, see :mod:`nfvo.domain.nfvis.iso`).
"""

from __future__ import annotations

import re
from dataclasses import replace

from nfvo.domain.nfvis.declarations import (
    LEGACY_BOOTSTRAP,
    mount_path,
    read_bootstrap_files,
    read_custom_properties,
    read_default_profile,
    read_profiles,
    read_system_properties,
    read_volumes,
)
from nfvo.domain.nfvis.fields import FieldReader, did_you_mean
from nfvo.domain.nfvis.model import (
    BOOTUP_TIME_RANGE,
    DISK_BUSES,
    DISK_FORMATS,
    FLAGS,
    MONITORING_METHODS,
    NOCLOUD_NAMES,
    VNF_TYPES,
    VNIC_MAX_RANGE,
    Disk,
    ImageProperties,
    Range,
)
from nfvo.domain.nfvis.xmltree import XmlElement, parse_xml
from nfvo.errors import WARNING, Issue

IMAGE_PROPERTIES = "image_properties.xml"
SYSTEM_PROPERTIES = "system_generated_properties.xml"
DEFAULT_VNIC_MAX = 8
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_DISK = re.compile(r"^disk_([1-9][0-9]*)_(file_disk_bus|image_format)$")
_VNIC_NAME = re.compile(r"^vnics:([0-9]+):(\S+)$")
_SCALARS = ("vnf_type", "name", "version", "applicationVendor", "imageType", "bootup_time", "root_file_disk_bus",
            "root_image_disk_format", "vcpu_min", "vcpu_max", "memory_mb_min", "memory_mb_max", "root_disk_gb_min",
            "root_disk_gb_max", "vnic_max", "vnic_names", "mgmt_vnic", "monitoring_methods", "default_profile") + FLAGS
_STRUCTURED = ("profiles", "bootstrap_file", "custom_property", "storage")
_KEPT = ("sriov_driver_list", "default_property")  # known, kept as text in ImageProperties.other (as pcie_*)


def parse_properties(data: bytes | str, file: str = IMAGE_PROPERTIES, *, system: bytes | str | None = None,
                     system_file: str = SYSTEM_PROPERTIES) -> tuple[ImageProperties | None, list[Issue]]:
    """The model of image_properties.xml ``data`` (plus system_generated_properties.xml ``system``, if
    given) and every finding; the model is None only when the file is not readable as XML at all."""
    root, issues = parse_xml(data, file)
    if root is None:
        return None, issues
    reader = FieldReader(file, issues)
    if root.tag != "image_properties":
        reader.error(root, f"the root element must be <image_properties>, not <{root.tag}>")
        return None, issues
    _unknown_elements(root, reader)
    vcpu = _range(root, reader, "vcpu", 1)
    memory = _range(root, reader, "memory_mb", 1)
    disk_gb = _range(root, reader, "root_disk_gb", 0)
    vnic_max = reader.integer(root, "vnic_max", minimum=VNIC_MAX_RANGE[0], maximum=VNIC_MAX_RANGE[1])
    vnics = vnic_max or DEFAULT_VNIC_MAX
    profiles = read_profiles(root, reader, vcpu, memory, disk_gb)
    flags = {flag: value for flag in FLAGS if (value := reader.boolean(root, flag)) is not None}
    properties = ImageProperties(
        file=file,
        line=root.line,
        name=reader.text(root, "name", required=True),
        version=_version(root, reader),
        vnf_type=reader.choice(root, "vnf_type", VNF_TYPES, required=True),
        vendor=_vendor(root, reader),
        image_type=_image_type(root, reader),
        bootup_time=reader.integer(root, "bootup_time", minimum=BOOTUP_TIME_RANGE[0], maximum=BOOTUP_TIME_RANGE[1],
                                   also=(-1,)),
        root_disk=_root_disk(root, reader),
        disks=_disks(root, reader),
        vcpu=vcpu,
        memory_mb=memory,
        root_disk_gb=disk_gb,
        vnic_max=vnic_max,
        vnic_names=_vnic_names(root, reader, vnics),
        mgmt_vnic=reader.integer(root, "mgmt_vnic", minimum=0, maximum=vnics - 1),
        flags=flags,
        monitoring_methods=_monitoring_methods(root, reader),
        profiles=profiles,
        default_profile=read_default_profile(root, reader, profiles),
        bootstrap_files=read_bootstrap_files(root, reader),
        custom_properties=read_custom_properties(root, reader),
        volumes=read_volumes(root, reader),
        other={c.tag: c.text for c in root.children if c.tag not in _SCALARS and c.tag not in _STRUCTURED
               and not _DISK.match(c.tag) and not LEGACY_BOOTSTRAP.match(c.tag)},
    )
    _check_nocloud_mounts(properties, issues)
    if system is not None:
        system_properties, found = read_system_properties(system, system_file)
        issues.extend(found)
        for prop in system_properties:
            if properties.custom_property(prop.name):
                issues.append(Issue(f"'{prop.name}' is both a system_property and a custom_property of {file}",
                                    system_file, prop.line, prop.pointer))
        properties = replace(properties, system_properties=system_properties)
    return properties, issues


def _check_nocloud_mounts(properties: ImageProperties, issues: list[Issue]) -> None:
    if not properties.nocloud:
        return
    for declared in properties.bootstrap_files:
        path = mount_path(declared.mount_point)
        if path in NOCLOUD_NAMES:
            message = f"is written as {NOCLOUD_NAMES[path]}, where NoCloud reads it"
        elif path.startswith("openstack/"):
            message = "is written as is, but NoCloud reads no openstack/ folder"
        else:
            continue
        issues.append(Issue(f"nocloud is true, so the day-0 drive is NoCloud (cidata): '{declared.mount_point}' "
                            f"{message}", properties.file, declared.line, declared.pointer, WARNING))


def _unknown_elements(root: XmlElement, reader: FieldReader) -> None:
    known = _SCALARS + _STRUCTURED + _KEPT
    for child in root.children:
        if child.tag in known or _DISK.match(child.tag) or LEGACY_BOOTSTRAP.match(child.tag) \
                or child.tag.startswith("pcie_"):
            continue
        close = did_you_mean(child.tag, known)
        if close:
            reader.warning(child, f"unknown element <{child.tag}> is ignored (did you mean <{close}>?)")


def _version(root: XmlElement, reader: FieldReader) -> str | None:
    version = reader.text(root, "version", required=True)
    if version is not None and not _VERSION.match(version):
        reader.error(root.child("version"), f"<version> must be digits and dots, such as 17.3.1 (got {version[:40]!r})")
        return None
    return version


def _vendor(root: XmlElement, reader: FieldReader) -> str | None:
    vendor = reader.text(root, "applicationVendor")
    if vendor is None:
        reader.issues.append(Issue("no <applicationVendor>: the package does not say who made it", reader.file,
                                   root.line, f"{root.path}/applicationVendor", WARNING))
    return vendor


def _image_type(root: XmlElement, reader: FieldReader) -> str | None:
    image_type = reader.text(root, "imageType")
    if image_type is not None and image_type != "virtualmachine":
        reader.error(root.child("imageType"), f"<imageType> must be virtualmachine (got {image_type[:40]!r})")
        return None
    return image_type


def _range(root: XmlElement, reader: FieldReader, stem: str, minimum: int) -> Range:
    low = reader.integer(root, f"{stem}_min", minimum=minimum)
    high = reader.integer(root, f"{stem}_max", minimum=minimum)
    if low is not None and high is not None and low > high:
        reader.error(root.child(f"{stem}_max"), f"<{stem}_max> {high} is below <{stem}_min> {low}")
    return Range(low, high)


def _root_disk(root: XmlElement, reader: FieldReader) -> Disk:
    bus = reader.choice(root, "root_file_disk_bus", DISK_BUSES)
    disk_format = reader.choice(root, "root_image_disk_format", DISK_FORMATS)
    where = root.child("root_image_disk_format") or root.child("root_file_disk_bus")
    return Disk(0, bus, disk_format, where.line if where else None, where.path if where else None)


def _disks(root: XmlElement, reader: FieldReader) -> tuple[Disk, ...]:
    by_index: dict[int, dict[str, str | None]] = {}
    where: dict[int, XmlElement] = {}
    for child in root.children:
        match = _DISK.match(child.tag)
        if not match:
            continue
        index, what = int(match.group(1)), match.group(2)
        slot = by_index.setdefault(index, {})
        if what in slot:
            reader.error(child, f"<{child.tag}> is given more than once")
            continue
        if what == "image_format" or index not in where:
            where[index] = child
        allowed = DISK_BUSES if what == "file_disk_bus" else DISK_FORMATS
        slot[what] = reader.choice_of(child, child.text, allowed) if child.text else None
    return tuple(Disk(index, slot.get("file_disk_bus"), slot.get("image_format"), where[index].line,
                      where[index].path) for index, slot in sorted(by_index.items()))


def _vnic_names(root: XmlElement, reader: FieldReader, vnics: int) -> tuple[tuple[int, str], ...]:
    """``vnics:<n>:<name>`` entries, separated by commas or spaces, each vNIC once and below vnic_max."""
    text = reader.text(root, "vnic_names")
    if text is None:
        return ()
    element = root.child("vnic_names")
    names: dict[int, str] = {}
    for entry in (e for e in re.split(r"[,\s]+", text) if e):
        match = _VNIC_NAME.match(entry)
        if not match:
            reader.error(element, f"vnic_names entry {entry[:60]!r} is not vnics:<n>:<name>")
            continue
        index = int(match.group(1))
        if index >= vnics:
            reader.error(element, f"vnic_names entry {entry!r}: vNIC {index} is not below vnic_max ({vnics})")
        elif index in names:
            reader.error(element, f"vnic_names names vNIC {index} twice")
        else:
            names[index] = match.group(2)
    return tuple(sorted(names.items()))


def _monitoring_methods(root: XmlElement, reader: FieldReader) -> tuple[str, ...]:
    text = reader.text(root, "monitoring_methods")
    if text is None:
        return ()
    element = root.child("monitoring_methods")
    methods = []
    for method in (m for m in re.split(r"[,\s]+", text) if m):
        chosen = reader.choice_of(element, method, MONITORING_METHODS)
        if chosen is not None:
            methods.append(chosen)
    return tuple(methods)
