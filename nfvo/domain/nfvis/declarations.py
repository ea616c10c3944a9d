"""The repeated declarations of image_properties.xml: profiles, bootstrap files, custom properties, volumes;
and system_generated_properties.xml."""

from __future__ import annotations

import re

from nfvo.domain.archive import normalise_member_name
from nfvo.domain.nfvis.fields import FieldReader, did_you_mean
from nfvo.domain.nfvis.model import (
    CONTROLLERS,
    DISK_FORMATS,
    HA_VMS,
    MAX_BOOTSTRAP_FILES,
    MAX_VOLUME_GB,
    PROPERTY_TYPES,
    TOKEN_NAME,
    VOLUME_DEVICE_TYPES,
    BootstrapFile,
    Choice,
    CustomProperty,
    Profile,
    Range,
    SystemProperty,
    Volume,
)
from nfvo.domain.nfvis.tokens import platform_token
from nfvo.domain.nfvis.xmltree import XmlElement, parse_xml
from nfvo.errors import WARNING, Issue

LEGACY_BOOTSTRAP = re.compile(r"^bootstrap_file_([0-9]+)$")
MAX_MOUNT_DEPTH = 7  # ISO 9660 allows 8 levels of folders, the root included
_PROPERTY_CHILDREN = ("name", "type", "val", "default", "description")
_PROFILE_CHILDREN = ("name", "description", "vcpus", "memory_mb", "root_disk_mb")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_UNSAFE = re.compile(r"[\\*:;?]")  # not allowed in Joliet names (and a backslash is no separator)
MAX_NAME_LENGTH = 64  # the longest Joliet name


# profiles ---------------------------------------------------------------------------------
def read_profiles(root: XmlElement, reader: FieldReader, vcpu: Range, memory_mb: Range,
                  root_disk_gb: Range) -> tuple[Profile, ...]:
    """Every ``<profile>`` of ``<profiles>``; each must have a unique name and fit the min/max ranges."""
    container = reader.single(root, "profiles")
    if container is None:
        return ()
    profiles: list[Profile] = []
    for element in container.children:
        if element.tag != "profile":
            reader.warning(element, f"unknown element <{element.tag}> in <profiles> is ignored")
            continue
        name = reader.text(element, "name", required=True)
        for child in element.children:
            if child.tag not in _PROFILE_CHILDREN:
                close = did_you_mean(child.tag, _PROFILE_CHILDREN)
                reader.warning(child, f"unknown element <{child.tag}> in a profile is ignored"
                               + (f" (did you mean <{close}>?)" if close else ""))
        vcpus = reader.integer(element, "vcpus", minimum=1, required=True)
        memory = reader.integer(element, "memory_mb", minimum=1, required=True)
        disk = reader.integer(element, "root_disk_mb", minimum=0)
        _fits(reader, element, "vcpus", vcpus, vcpu, "vcpu_min..vcpu_max", "", 1)
        _fits(reader, element, "memory_mb", memory, memory_mb, "memory_mb_min..memory_mb_max", " MB", 1)
        _fits(reader, element, "root_disk_mb", disk, root_disk_gb, "root_disk_gb_min..root_disk_gb_max", " MB",
              1024)
        if name is None:
            continue
        first = next((p for p in profiles if p.name == name), None)
        if first is not None:
            reader.error(element.child("name"), f"profile '{name}' is defined twice (first at line {first.line})")
            continue
        profiles.append(Profile(name, reader.text(element, "description"), vcpus, memory, disk, element.line,
                                element.path))
    return tuple(profiles)


def _fits(reader: FieldReader, profile: XmlElement, tag: str, value: int | None, allowed: Range, names: str,
          unit: str, scale: int) -> None:
    if value is not None and not allowed.holds(value, scale):
        reader.error(profile.child(tag), f"<{tag}> {value} is outside {names} ({allowed.text(unit, scale)})")


def read_default_profile(root: XmlElement, reader: FieldReader, profiles: tuple[Profile, ...]) -> str | None:
    """``<default_profile>``: one of the profiles; without it a package that has profiles gets a warning."""
    name = reader.text(root, "default_profile")
    element = root.child("default_profile")
    if name is None:
        if profiles:
            reader.issues.append(Issue("no <default_profile>: every deployment must name one of the profiles",
                                       reader.file, root.line, f"{root.path}/default_profile", WARNING))
        return None
    if not profiles:
        reader.error(element, f"<default_profile> '{name}' names a profile, but the package defines none")
        return None
    if all(p.name != name for p in profiles):
        reader.error(element, f"<default_profile> '{name}' is not one of the profiles "
                              f"({', '.join(p.name for p in profiles)})")
        return None
    return name


# bootstrap files --------------------------------------------------------------------------
def read_bootstrap_files(root: XmlElement, reader: FieldReader) -> tuple[BootstrapFile, ...]:
    """Both forms: ``<bootstrap_file parse= mnt_pnt=>name</bootstrap_file>`` and legacy ``<bootstrap_file_N>``."""
    found: list[BootstrapFile] = []
    legacy_seen: dict[int, XmlElement] = {}
    places: dict[tuple[str, str | None, int | None], BootstrapFile] = {}
    for element in root.children:
        legacy = LEGACY_BOOTSTRAP.match(element.tag)
        if element.tag != "bootstrap_file" and not legacy:
            continue
        index = None
        if legacy:
            index = reader.integer_of(element, legacy.group(1), minimum=1, maximum=MAX_BOOTSTRAP_FILES,
                                      what=f"the N of <{element.tag}>")
            if index is not None and index in legacy_seen:
                reader.error(element, f"<{element.tag}> is given more than once (first at line "
                                      f"{legacy_seen[index].line})")
                continue
            if index is not None:
                legacy_seen[index] = element
        declared = _bootstrap_file(element, index, reader)
        if declared is None:
            continue
        if len(found) == MAX_BOOTSTRAP_FILES:
            reader.error(element, f"more than {MAX_BOOTSTRAP_FILES} bootstrap files")
            break
        place = (mount_path(declared.mount_point).casefold(), declared.controller, declared.vm)
        if place in places:
            reader.error(element, f"mount point '{declared.mount_point}' is already used by "
                                  f"'{places[place].source}' (line {places[place].line})")
            continue
        places[place] = declared
        found.append(declared)
    return tuple(found)


def _bootstrap_file(element: XmlElement, index: int | None, reader: FieldReader) -> BootstrapFile | None:
    if element.children:
        reader.error(element, f"<{element.tag}> must hold a file name, not elements")
        return None
    if not element.text:
        reader.error(element, f"<{element.tag}> names no file")
        return None
    source, problem = normalise_member_name(element.text)
    if problem or not source:
        reader.error(element, f"bootstrap file name '{element.text}': {problem or 'empty path'}")
        return None
    attrib = element.attrib
    for name in attrib:
        if name not in ("parse", "mnt_pnt", "controller", "vm"):
            reader.warning(element, f"unknown attribute {name} is ignored", attribute=name)
    parse = reader.boolean_of(element, attrib["parse"], attribute="parse") if "parse" in attrib else False
    mount = attrib.get("mnt_pnt", "").strip() or source
    mount_issue = mount_problem(mount)
    if mount_issue:
        reader.error(element, f"mount point '{mount[:80]}': {mount_issue}",
                     attribute="mnt_pnt" if "mnt_pnt" in attrib else None)
    controller = None
    if "controller" in attrib:
        controller = reader.choice_of(element, attrib["controller"], CONTROLLERS, attribute="controller")
    vm = None
    if "vm" in attrib:
        vm = reader.integer_of(element, attrib["vm"], minimum=min(HA_VMS), maximum=max(HA_VMS), attribute="vm",
                               what="attribute vm")
    if mount_issue or parse is None:
        return None
    return BootstrapFile(source, mount, parse, controller, vm, index, element.line, element.path)


def mount_path(mount: str) -> str:
    """A mount point as a path on the day-0 drive: ``/openstack/latest/user_data`` -> ``openstack/latest/user_data``."""
    return "/".join(part for part in mount.split("/") if part not in ("", "."))


def mount_problem(mount: str) -> str | None:
    """Why ``mount`` cannot be a file's place on the day-0 drive, or None."""
    if _CONTROL.search(mount) or _UNSAFE.search(mount):
        return "control characters and \\ * : ; ? are not allowed"
    parts = mount_path(mount).split("/")
    if parts == [""]:
        return "no file name"
    if ".." in parts:
        return "'..' is not allowed"
    if len(parts) > MAX_MOUNT_DEPTH:
        return f"more than {MAX_MOUNT_DEPTH - 1} folders deep"
    if any(len(part) > MAX_NAME_LENGTH for part in parts):
        return f"a name longer than {MAX_NAME_LENGTH} characters"
    return None


# custom properties ------------------------------------------------------------------------
def read_custom_properties(root: XmlElement, reader: FieldReader) -> tuple[CustomProperty, ...]:
    """Every ``<custom_property>`` (and the older form naming the token by an element); names unique."""
    found: list[CustomProperty] = []
    for element in root.named("custom_property"):
        declared = (_current_property(element, reader) if element.child("name") is not None
                    else _older_properties(element, reader))
        for prop in declared:
            if platform_token(prop.name):
                reader.issues.append(Issue(f"'{prop.name}' is filled by the platform from the deployment's vNICs: "
                                           "this declaration is ignored", reader.file, prop.line, prop.pointer,
                                           WARNING))
                continue
            first = next((p for p in found if p.name == prop.name), None)
            if first is not None:
                reader.issues.append(Issue(f"custom_property '{prop.name}' is declared twice (first at line "
                                           f"{first.line})", reader.file, prop.line, prop.pointer))
                continue
            found.append(prop)
    return tuple(found)


def _attributes(element: XmlElement, reader: FieldReader) -> tuple[bool | None, str | None, str | None]:
    attrib = element.attrib
    for name in attrib:
        if name not in ("mandatory", "controller", "special"):
            reader.warning(element, f"unknown attribute {name} is ignored", attribute=name)
    mandatory = (reader.boolean_of(element, attrib["mandatory"], attribute="mandatory")
                 if "mandatory" in attrib else False)
    controller = (reader.choice_of(element, attrib["controller"], CONTROLLERS, attribute="controller")
                  if "controller" in attrib else None)
    return mandatory, controller, attrib.get("special")


def _current_property(element: XmlElement, reader: FieldReader) -> list[CustomProperty]:
    mandatory, controller, special = _attributes(element, reader)
    name_element = reader.single(element, "name")
    name = name_element.text
    if not TOKEN_NAME.match(name):
        reader.error(name_element, f"custom_property name {name[:60]!r} is not a token name (letters, digits "
                                   "and _, not starting with a digit)")
        return []
    for child in element.children:
        if child.tag not in _PROPERTY_CHILDREN:
            close = did_you_mean(child.tag, _PROPERTY_CHILDREN)
            reader.warning(child, f"unknown element <{child.tag}> in custom_property '{name}' is ignored"
                           + (f" (did you mean <{close}>?)" if close else ""))
    type_element = reader.single(element, "type")
    if type_element is None or not type_element.text:
        reader.warning(type_element or element, f"custom_property '{name}' has no <type>: read as string")
        kind = "string"
    else:
        kind = reader.choice_of(type_element, type_element.text, PROPERTY_TYPES)
    default_element = reader.single(element, "default")
    default = default_element.text if default_element is not None and default_element.text else None
    choices = _choices(element, name, kind, reader)
    # A declaration with an error still declares its token (the package is refused anyway): a
    # second finding on every use of the token would only repeat the first.
    kind = kind or "string"
    if kind != "selection" and choices:
        if default is None:
            reader.warning(element.named("val")[0], f"<val> of {kind} property '{name}' is read as its default "
                                                    "(write <default>)")
            default, default_element = choices[0].value, element.named("val")[0]
        else:
            reader.warning(element.named("val")[0], f"<val> of {kind} property '{name}' is ignored: it has a "
                                                    "<default>")
    if kind == "password" and default is not None:
        reader.warning(default_element, f"password '{name}' has a default: every deployment that does not set it "
                                        "gets a password written in the package")
    return [CustomProperty(name, kind, bool(mandatory), default, choices if kind == "selection" else (),
                           name_element.attrib.get("display"), controller, special, element.line, element.path,
                           default_element.line if default is not None else None,
                           default_element.path if default is not None else None)]


def _choices(element: XmlElement, name: str, kind: str | None, reader: FieldReader) -> tuple[Choice, ...]:
    choices: list[Choice] = []
    for val in element.named("val"):
        if not val.text:
            continue
        if any(c.value == val.text for c in choices):
            reader.error(val, f"value '{val.text}' of '{name}' is listed twice")
            continue
        choices.append(Choice(val.text, val.attrib.get("display")))
    if kind == "selection" and not choices:
        reader.error(element, f"selection property '{name}' lists no <val> to choose from")
    elif kind not in ("selection", None) and len(choices) > 1:
        reader.error(element.named("val")[1], f"{kind} property '{name}' has several <val>: only a selection "
                                              "lists values")
        return ()
    return tuple(choices)


def _older_properties(element: XmlElement, reader: FieldReader) -> list[CustomProperty]:
    """``<custom_property><HOSTNAME>default</HOSTNAME></custom_property>``: one string token per child."""
    mandatory, controller, special = _attributes(element, reader)
    if not element.children:
        reader.error(element, "custom_property has no <name> (nor a token element)")
        return []
    found = []
    for child in element.children:
        if not TOKEN_NAME.match(child.tag):
            reader.error(child, f"<{child.tag}> is not a token name")
            continue
        found.append(CustomProperty(child.tag, "string", bool(mandatory), child.text or None, (), None, controller,
                                    special, child.line, child.path, child.line if child.text else None,
                                    child.path if child.text else None))
    return found


# volumes ---------------------------------------------------------------------------------
def read_volumes(root: XmlElement, reader: FieldReader) -> tuple[Volume, ...]:
    """``<storage><volumes><volume>``: deviceType disk or cdrom, format raw/qcow2/vmdk, size 1..256 (GiB)."""
    storage = reader.single(root, "storage")
    volumes = reader.single(storage, "volumes") if storage is not None else None
    if volumes is None:
        return ()
    found = []
    for element in volumes.named("volume"):
        device = reader.choice(element, "deviceType", VOLUME_DEVICE_TYPES)
        disk_format = reader.choice(element, "format", DISK_FORMATS)
        size = reader.integer(element, "size", minimum=1, maximum=MAX_VOLUME_GB)
        found.append(Volume(reader.text(element, "name"), device, disk_format, size, element.line, element.path))
    return tuple(found)


# system_generated_properties.xml ---------------------------------------------------------
def read_system_properties(data: bytes | str, file: str) -> tuple[tuple[SystemProperty, ...], list[Issue]]:
    """``<system_generated_properties><system_property><name/><val/></system_property>...``."""
    root, issues = parse_xml(data, file)
    if root is None:
        return (), issues
    reader = FieldReader(file, issues)
    if root.tag != "system_generated_properties":
        reader.error(root, f"the root element must be <system_generated_properties>, not <{root.tag}>")
        return (), issues
    found: list[SystemProperty] = []
    for element in root.children:
        if element.tag != "system_property":
            reader.warning(element, f"unknown element <{element.tag}> is ignored")
            continue
        name = reader.text(element, "name", required=True)
        value_element = reader.single(element, "val")
        if name is None:
            continue
        if not TOKEN_NAME.match(name):
            reader.error(element.child("name"), f"system_property name {name[:60]!r} is not a token name")
            continue
        first = next((p for p in found if p.name == name), None)
        if first is not None:
            reader.error(element, f"system_property '{name}' is declared twice (first at line {first.line})")
            continue
        found.append(SystemProperty(name, value_element.text if value_element is not None else "", file,
                                    element.line, element.path))
    return tuple(found), issues
