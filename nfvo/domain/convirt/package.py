"""A ConVirt image directory read from a tar (or any listing of member texts): layout, both config files, variables.

The tar holds one image directory, as ConVirt's image store does: ``vm_conf.template``,
``image.conf``, ``provision.sh``, optionally ``description.htm`` and ``custom_scripts/``.
They lie under one top directory ``<ImageName>/`` (the usual case: the tar is untarred in
the image store, and the directory names the image) or at the root of the tar (the image
is then named by ``image_name``, else by the tar's name without ``.tar``/``.tar.gz``/``.tgz``).
Scripts are listed, never read nor run.

ERROR: a required file missing; several top directories holding image files; an image
name that is not letters, digits and ``_ . + -`` (not starting with ``.``, ``+`` or ``-``);
``image.conf`` or ``vm_conf.template`` not UTF-8, or any finding of
:func:`~nfvo.domain.convirt.config.parse_config`; an undefined template variable (``image.conf``
may use VM_NAME, IMAGE_STORE and IMAGE_NAME, ``vm_conf.template`` those and the options of
``image.conf``), see :func:`~nfvo.domain.convirt.template.check_uses`.  Disk image files of the
image directory, the VM size and the version are read as :mod:`~nfvo.domain.convirt.deployment`
says, with its warnings.  WARNING: any other file in the image directory (but ``custom_scripts/``
and disk images) or outside it (ignored);
``description.htm`` not UTF-8 (not shown); an image named ``common`` or ``example``
(ConVirt does not list those as images).  macOS ``._*`` files are skipped.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Protocol

from nfvo.domain import findings
from nfvo.domain.archive import ARTIFACT, DESCRIPTOR, IMAGE, SCRIPT
from nfvo.domain.convirt import deployment
from nfvo.domain.convirt.config import parse_config
from nfvo.domain.convirt.model import (
    CUSTOM_SCRIPTS,
    DESCRIPTION,
    IMAGE_CONF,
    NOT_IMAGES,
    PREDEFINED,
    PROVISION,
    REQUIRED_FILES,
    VM_CONF,
    ConfigFile,
    ConvirtTemplate,
)
from nfvo.domain.convirt.template import check_uses
from nfvo.errors import WARNING, Issue, ValidationFailed

IMAGE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$")
_KNOWN = (*REQUIRED_FILES, DESCRIPTION, CUSTOM_SCRIPTS)
_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar")
_IMAGE_CONF_USES = "image.conf can use $VM_NAME, $IMAGE_STORE and $IMAGE_NAME"
_VM_CONF_USES = "vm_conf.template can use $VM_NAME, $IMAGE_STORE, $IMAGE_NAME and the options of image.conf"


class TemplateSource(Protocol):
    """What the reader needs of an archive; :class:`nfvo.domain.archive.PackageArchive` is one."""

    display_name: str

    def files(self) -> list[str]:
        """Names of the regular files, sorted."""

    def read_text(self, name: str) -> str:
        """UTF-8 text of a member; ValidationFailed (file, line) when it is not UTF-8."""


class TemplateFiles:
    """A :class:`TemplateSource` over a mapping of member name -> text (``str``, or ``bytes``
    decoded as UTF-8, a BOM dropped)."""

    def __init__(self, files: Mapping[str, str | bytes], display_name: str = "template"):
        self._files, self.display_name = dict(files), display_name

    def files(self) -> list[str]:
        return sorted(self._files)

    def read_text(self, name: str) -> str:
        data = self._files[name]
        if isinstance(data, str):
            return data.removeprefix("\ufeff")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(f"{name} is not UTF-8 text", errors=[
                Issue("not UTF-8 text", name, data.count(b"\n", 0, exc.start) + 1)]) from None


def convirt_kind(name: str) -> str:
    """The archive kind of a member (for ``PackageArchive.open(kind_of=...)``): the config
    files and ``description.htm`` are descriptors, ``provision.sh`` and ``custom_scripts/...``
    scripts, disk image files (see :func:`~nfvo.domain.convirt.deployment.is_disk_image`)
    images, anything else an artifact; at the root or under one top directory."""
    parts = name.split("/")
    relative = parts if parts[0] in _KNOWN or len(parts) == 1 else parts[1:]
    if relative and relative[0] in (VM_CONF, IMAGE_CONF, DESCRIPTION) and len(relative) == 1:
        return DESCRIPTOR
    if relative and (relative == [PROVISION] or relative[0] == CUSTOM_SCRIPTS and len(relative) > 1):
        return SCRIPT
    if relative and deployment.is_disk_image("/".join(relative)):
        return IMAGE
    return ARTIFACT


def read_template(source: TemplateSource, *, image_name: str | None = None, strict: bool = False) -> ConvirtTemplate:
    """Read and check the image directory of ``source`` (see the module docstring).

    ``image_name`` names an image whose files lie at the root of the tar (ignored when they
    lie under a top directory).  Raises ValidationFailed listing every finding, warnings
    included (see :func:`nfvo.domain.findings.settle`) when one is an error (or any is, under
    ``strict``); UnsafeArchive (from ``source.read_text``) when a config file is over the
    archive's text limit.
    """
    issues: list[Issue] = []
    files = [f for f in source.files() if not posixpath.basename(f).startswith("._")]
    prefix = _layout(files, issues)
    name = prefix.rstrip("/") if prefix else (image_name or _stem(source.display_name))
    _check_image_name(name, prefix or source.display_name, issues)
    custom: list[str] = []
    for member in files:
        relative = member[len(prefix):] if member.startswith(prefix) else None
        if relative is None:
            issues.append(Issue(f"outside the image directory {prefix}: ignored", member, severity=WARNING))
        elif relative.startswith(f"{CUSTOM_SCRIPTS}/"):
            custom.append(member)
        elif relative not in (*REQUIRED_FILES, DESCRIPTION) and not deployment.is_disk_image(relative):
            issues.append(Issue(f"not a file of a ConVirt image ({', '.join(REQUIRED_FILES)}, {DESCRIPTION}, "
                                f"{CUSTOM_SCRIPTS}/): ignored", member, severity=WARNING))
    for required in REQUIRED_FILES:
        if prefix + required not in files:
            issues.append(Issue(f"{required} is missing from the image directory", prefix + required))
    image_conf = _config(source, prefix + IMAGE_CONF, files, issues)
    vm_conf = _config(source, prefix + VM_CONF, files, issues)
    if image_conf is not None:
        issues += check_uses(image_conf, dict.fromkeys(PREDEFINED, ""), _IMAGE_CONF_USES)
        if vm_conf is not None and image_conf.parsed:
            defined = {**dict.fromkeys(image_conf.refused, ""), **image_conf.values(), **dict.fromkeys(PREDEFINED, "")}
            issues += check_uses(vm_conf, defined, _VM_CONF_USES)
    description = _description(source, prefix + DESCRIPTION, files, issues)
    disks = deployment.disk_images(files, prefix, name, image_conf, vm_conf)
    size = deployment.vm_size(image_conf, vm_conf, issues)
    version = deployment.version(image_conf, issues)
    warnings = findings.settle(issues, source.display_name, strict=strict)
    return ConvirtTemplate(name, prefix, vm_conf, image_conf, prefix + PROVISION, tuple(custom), description,
                           warnings, disks, size, version)


def read_files(files: Mapping[str, str | bytes], display_name: str = "template", *, image_name: str | None = None,
               strict: bool = False) -> ConvirtTemplate:
    """:func:`read_template` over a mapping of member name -> text (see :class:`TemplateFiles`)."""
    return read_template(TemplateFiles(files, display_name), image_name=image_name, strict=strict)


def _layout(files: list[str], issues: list[Issue]) -> str:
    """The member prefix of the image directory: ``""`` (files at the root) or ``"<top>/"``."""
    if any(f in files for f in REQUIRED_FILES) or not files:
        return ""
    tops = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    if len(tops) == 1:
        return tops[0] + "/"
    images = [t for t in tops if any(f"{t}/{r}" in files for r in REQUIRED_FILES)]
    if len(images) == 1:
        return images[0] + "/"
    if images:
        issues.append(Issue(f"the tar holds several image directories ({', '.join(t + '/' for t in images)}): "
                            "one image per tar", images[1] + "/"))
    else:
        issues.append(Issue(f"no image directory: none of the top directories ({', '.join(t + '/' for t in tops)}) "
                            f"holds {', '.join(REQUIRED_FILES)}", tops[0] + "/"))
    return (images or tops)[0] + "/"


def _stem(display_name: str) -> str:
    base = posixpath.basename(display_name)
    for suffix in _TAR_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _check_image_name(name: str, file: str, issues: list[Issue]) -> None:
    if not IMAGE_NAME.match(name):
        issues.append(Issue(f"image name {name[:60]!r} must be 1 to 128 letters, digits, '_', '.', '+' or '-' "
                            "(not starting with '.', '+' or '-'): it names a directory of the image store", file))
    elif name in NOT_IMAGES:
        issues.append(Issue(f"an image named {name!r}: ConVirt does not list the image store's {name}/ as an image",
                            file, severity=WARNING))


def _config(source: TemplateSource, member: str, files: list[str], issues: list[Issue]) -> ConfigFile | None:
    if member not in files:
        return None
    try:
        text = source.read_text(member)
    except ValidationFailed as exc:
        issues += exc.errors
        return None
    config, found = parse_config(text, member)
    issues += found
    return config


def _description(source: TemplateSource, member: str, files: list[str], issues: list[Issue]) -> str | None:
    if member not in files:
        return None
    try:
        return source.read_text(member)
    except ValidationFailed as exc:
        issues += [e.as_warning() for e in exc.errors]
        return None
