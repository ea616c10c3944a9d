"""The frozen model of a ConVirt image template: its two config files, their options, and the image directory.

Option values are plain Python values (``str``, ``int``, ``float``, ``bool``, ``list``,
``dict``) read from the files' syntax tree; nothing in a file is ever run.  Treat them as
read-only: they are shared, not copied.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from nfvo.errors import Issue

VM_CONF, IMAGE_CONF, PROVISION, DESCRIPTION, CUSTOM_SCRIPTS = (
    "vm_conf.template", "image.conf", "provision.sh", "description.htm", "custom_scripts")
REQUIRED_FILES = (VM_CONF, IMAGE_CONF, PROVISION)
#: the variables ConVirt fills at provisioning, usable in both files
PREDEFINED = ("VM_NAME", "IMAGE_STORE", "IMAGE_NAME")
#: names that describe a file's options rather than being options
COMPUTED_OPTIONS, CUSTOMIZABLE_OPTIONS = "computed_options", "customizable_options"
SPECIAL_NAMES = (COMPUTED_OPTIONS, CUSTOMIZABLE_OPTIONS)
DEFAULT_IMAGE_STORE = "/var/cache/convirt/image_store"
#: directories of an image store that hold no image (the guide's "common" and "example")
NOT_IMAGES = ("common", "example")
#: the disk format of a disk image file of an image directory, by its extension
DISK_FORMATS = {".img": "raw", ".raw": "raw", ".qcow2": "qcow2", ".iso": "iso", ".vmdk": "vmdk", ".vdi": "vdi",
                ".vhd": "vhd", ".vhdx": "vhdx"}
#: file names of Xen kernels and ramdisks, which are not disk images whatever their extension
KERNEL_PREFIXES = ("vmlinuz", "initrd", "initramfs")
DEFAULT_VERSION = "1.0"


@dataclass(frozen=True)
class Use:
    """One ``$`` placeholder in a string of a file, at 1-based ``line`` and ``column``.

    ``name`` is the variable (``$NAME`` or ``${NAME}``), None for a ``$`` not followed by a
    name (left as written); ``written`` is the placeholder as it appears.
    """

    name: str | None
    written: str
    line: int
    column: int


@dataclass(frozen=True)
class Option:
    """One ``name = value`` of a config file.

    ``computed`` options keep their ``expression`` (a checked syntax tree, evaluated by
    :func:`nfvo.domain.convirt.expressions.evaluate`) and the names it ``references``;
    ``value`` is its result from the file's own literals.  ``uses`` are the placeholders in
    the strings of ``value``.
    """

    name: str
    value: Any
    line: int
    computed: bool = False
    expression: ast.expr | None = field(default=None, compare=False, repr=False)
    references: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()


@dataclass(frozen=True)
class ConfigFile:
    """A python-syntax config file (``image.conf`` or ``vm_conf.template``) that was read.

    ``file`` is the member name (``Fedora/image.conf``); ``options`` are in file order
    (``computed_options`` and ``customizable_options`` are not among them);
    ``customizable`` is None when the file has no ``customizable_options`` list.  A file
    with errors also says which assignments were ``refused`` and whether it was ``parsed``
    at all, so that other checks need not report what follows from them.
    """

    file: str
    options: tuple[Option, ...] = ()
    computed: tuple[str, ...] = ()
    customizable: tuple[str, ...] | None = None
    refused: tuple[str, ...] = ()
    parsed: bool = True

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def values(self) -> dict[str, Any]:
        """name -> value, in file order."""
        return {o.name: o.value for o in self.options}

    def customizable_names(self) -> tuple[str, ...]:
        """The options a render payload may set: those of ``customizable_options``, else
        (as the guide says, all are customizable by default) every option that is not computed."""
        if self.customizable is not None:
            return self.customizable
        return tuple(o.name for o in self.options if not o.computed)


@dataclass(frozen=True)
class DiskImage:
    """A disk image file of the image directory: ``member`` its member name (``Fedora/hda.img``),
    ``relative`` its name in the directory (``hda.img``), its ``disk_format``; ``file``, ``line``
    and ``pointer`` say where the template names it (the option whose value holds its path), or
    ``file`` is the member itself when no option does."""

    member: str
    relative: str
    disk_format: str
    file: str
    line: int | None = None
    pointer: str | None = None


@dataclass(frozen=True)
class VmSize:
    """The VM size a template states: ``vcpus``, ``memory`` in MB, ``disk`` in GB (0: unstated),
    at the ``memory`` option (``file``, ``line``, ``pointer``)."""

    vcpus: int
    memory: int
    disk: int
    file: str
    line: int
    pointer: str


@dataclass(frozen=True)
class ConvirtTemplate:
    """An image directory whose files passed every check.

    ``directory`` is the member prefix of the image's files (``Fedora/``, or ``""`` when
    they lie at the root of the tar); ``provision_script`` and ``custom_scripts`` are member
    names; ``description`` is the text of ``description.htm``, if any.  ``disk_images``,
    ``size`` and ``version`` are what nfvo deploys of it (see
    :mod:`nfvo.domain.convirt.deployment`).
    """

    image_name: str
    directory: str
    vm_conf: ConfigFile
    image_conf: ConfigFile
    provision_script: str
    custom_scripts: tuple[str, ...] = ()
    description: str | None = None
    warnings: tuple[Issue, ...] = ()
    disk_images: tuple[DiskImage, ...] = ()
    size: VmSize | None = None
    version: str = DEFAULT_VERSION
