"""What nfvo deploys of a ConVirt image: its disk image files, its VM size and its version.

*Disk images.*  A file of the image directory (not under ``custom_scripts/``) whose name ends
in one of ``DISK_FORMATS`` (``.img``/``.raw`` raw, ``.qcow2``, ``.iso``, ``.vmdk``, ``.vdi``,
``.vhd``, ``.vhdx``) is a disk image, except Xen kernels and ramdisks (``vmlinuz*``,
``initrd*``, ``initramfs*``).  Each is *named* by the first option (``image.conf`` first,
then ``vm_conf.template``, in file order) one of whose strings, its variables filled
(IMAGE_STORE, IMAGE_NAME, and in ``vm_conf.template`` the options of ``image.conf``), is the
file's name in the directory, or holds ``<image name>/<file>`` as a path (after the start
or a ``/ : , =`` or blank, before the end or a ``, : ;`` or blank): ``'$IMAGE_STORE/$IMAGE_NAME/hda.img'``,
``['file:$IMAGE_STORE/$IMAGE_NAME/hda.img,hda,w']``.  A disk image no option names is still one.

*VM size*, when ``vm_conf.template``'s ``memory`` is a whole number (MB): ``vcpus`` (1 when
the file has none), and the disk in GB from ``image.conf``'s ``hda_disk_size`` in MB
(rounded up; 0 when the file has none).  The values are the files' own (computed options
included), before any day-0 property.  WARNING, at the option: ``memory`` or ``vcpus`` that
is not a whole number from 1 to its bound (no size then); ``hda_disk_size`` that is not a
positive number (no disk size then).

*Version*: ``image.conf``'s ``image_version`` (a non-empty string of at most 64 printable
characters without ``/``, or a number), else ``DEFAULT_VERSION``.  WARNING: an
``image_version`` of another kind (the default is used).
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable
from typing import Any

from nfvo.domain.convirt.model import (
    CUSTOM_SCRIPTS,
    DEFAULT_IMAGE_STORE,
    DEFAULT_VERSION,
    DISK_FORMATS,
    KERNEL_PREFIXES,
    ConfigFile,
    DiskImage,
    VmSize,
)
from nfvo.domain.convirt.template import as_text, strings, substitute
from nfvo.errors import WARNING, Issue

MEMORY, VCPUS, DISK_SIZE, VERSION = "memory", "vcpus", "hda_disk_size", "image_version"
MAX_VCPUS, MAX_MEMORY_MB = 4096, 2**31 - 1
MAX_VERSION = 64


def disk_format(name: str) -> str | None:
    """The disk format of the file ``name`` (its last path part) when it is a disk image, else None."""
    base = posixpath.basename(name)
    if base.lower().startswith(KERNEL_PREFIXES):
        return None
    return DISK_FORMATS.get(posixpath.splitext(base)[1].lower())


def is_disk_image(relative: str) -> bool:
    """Whether ``relative`` (a name inside the image directory) is a disk image file."""
    return not relative.startswith(f"{CUSTOM_SCRIPTS}/") and disk_format(relative) is not None


def disk_images(members: Iterable[str], prefix: str, image_name: str, image_conf: ConfigFile | None,
                vm_conf: ConfigFile | None) -> tuple[DiskImage, ...]:
    """The disk images among ``members`` (those of the image directory ``prefix``), in member
    order, each with the option that names it (see the module docstring)."""
    configs = _filled(image_name, image_conf, vm_conf)
    found = []
    for member in members:
        relative = member[len(prefix):]
        if not member.startswith(prefix) or not is_disk_image(relative):
            continue
        pattern = re.compile(r"(?<![^/:,=\s])" + re.escape(f"{image_name}/{relative}") + r"(?![^,:;\s])")
        where = next(((config.file, option.line, f"/{option.name}") for config, option, texts in configs
                      if any(text == relative or pattern.search(text) for text in texts)), (member, None, None))
        found.append(DiskImage(member, relative, disk_format(relative), *where))
    return tuple(found)


def _filled(image_name: str, image_conf: ConfigFile | None, vm_conf: ConfigFile | None) -> list[tuple]:
    """(config, option, its strings with variables filled) of both files, image.conf first."""
    predefined = {"IMAGE_NAME": image_name, "IMAGE_STORE": DEFAULT_IMAGE_STORE}
    found = []
    variables = dict(predefined)
    if image_conf is not None:
        for option in image_conf.options:
            found.append((image_conf, option, list(strings(substitute(option.value, predefined)))))
        variables.update({o.name: text for o in image_conf.options if (text := as_text(o.value)) is not None})
        variables.update(predefined)
    if vm_conf is not None:
        found += [(vm_conf, o, list(strings(substitute(o.value, variables)))) for o in vm_conf.options]
    return found


def vm_size(image_conf: ConfigFile | None, vm_conf: ConfigFile | None, issues: list[Issue]) -> VmSize | None:
    """The VM size the template states, or None (see the module docstring); warnings into ``issues``."""
    memory = vm_conf.option(MEMORY) if vm_conf is not None else None
    vcpus = vm_conf.option(VCPUS) if vm_conf is not None else None
    if memory is None:
        return None
    ram = _whole(vm_conf, memory, MAX_MEMORY_MB, "a whole number of MB", issues)
    cpus = _whole(vm_conf, vcpus, MAX_VCPUS, "a whole number of virtual CPUs", issues) if vcpus else 1
    disk = 0
    size = image_conf.option(DISK_SIZE) if image_conf is not None else None
    if size is not None:
        if _number(size.value) and 0 < size.value <= MAX_MEMORY_MB * 1024:
            disk = math.ceil(size.value / 1024)
        else:
            issues.append(Issue(f"{DISK_SIZE} is not a positive number of MB: nfvo states no disk size in the VM's "
                                "flavour", image_conf.file, size.line, f"/{DISK_SIZE}", WARNING))
    if ram is None or cpus is None:
        return None
    return VmSize(cpus, ram, disk, vm_conf.file, memory.line, f"/{MEMORY}")


def _whole(config: ConfigFile, option, bound: int, what: str, issues: list[Issue]) -> int | None:
    value = option.value
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= bound:
        return value
    issues.append(Issue(f"{option.name} is not {what} from 1 to {bound}: nfvo asks for no flavour for this VM",
                        config.file, option.line, f"/{option.name}", WARNING))
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def version(image_conf: ConfigFile | None, issues: list[Issue]) -> str:
    """The template's version (see the module docstring); a warning into ``issues``."""
    option = image_conf.option(VERSION) if image_conf is not None else None
    if option is None:
        return DEFAULT_VERSION
    value = option.value
    text = str(value) if _number(value) else value
    if (isinstance(text, str) and text and len(text) <= MAX_VERSION and text.isprintable() and "/" not in text
            and text.strip() == text):
        return text
    issues.append(Issue(f"{VERSION} must be a number or a string of 1 to {MAX_VERSION} printable characters without "
                        f"'/' or surrounding blanks: the version is {DEFAULT_VERSION}", image_conf.file, option.line,
                        f"/{VERSION}", WARNING))
    return DEFAULT_VERSION
