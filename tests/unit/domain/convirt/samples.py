"""Look-alike ConVirt image directories, written here: a Fedora-style network install and a CD-ROM install.

Each sample is a dict of member name -> bytes under one top directory, as a tar made to be
untarred in the image store holds it.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

FEDORA_IMAGE_CONF = """\
# How to provision a Fedora network install (a look-alike written for these tests).
KERNEL_TYPE = 'fc-xen'
kernel_src = 'http://mirror.example.org/fedora/os/images/xen/vmlinuz'
ramdisk_src = 'http://mirror.example.org/fedora/os/images/xen/initrd.img'
hda_disk_size = 8
hda_fs_type = 'ext3'
hda_disk_create = 'yes'
create_root_acct = 'no'
firewall = 'on'
admin_user = 'admin'
admin_group = 'admin'
log_dir = '/var/log/convirt/$IMAGE_NAME'
custom_list = ['fedora_tweaks']
swap_size_mb = 512
computed_options = ['hda_disk_size_mb', 'label']
hda_disk_size_mb = hda_disk_size * 1024 + swap_size_mb
label = '%s-%d' % (KERNEL_TYPE, hda_disk_size)
customizable_options = ['hda_disk_size', 'firewall', 'admin_user', 'swap_size_mb']
"""

FEDORA_VM_CONF = """\
kernel = '$IMAGE_STORE/$IMAGE_NAME/vmlinuz.$KERNEL_TYPE'
ramdisk = '$IMAGE_STORE/$IMAGE_NAME/initrd.img.$KERNEL_TYPE'
name = '$VM_NAME'
memory = 256
vcpus = 1
disk = ['file:/vm_disks/$VM_NAME.disk.xm,hda,w']
vif = ['bridge=xenbr0']
extra = 'text ks=http://ks.example.org/$VM_NAME.cfg'
on_reboot = 'destroy'
on_crash = 'destroy'
"""

CD_IMAGE_CONF = """\
hda_disk_size = 6
hda_disk_create = 'yes'
"""

CD_VM_CONF = """\
builder = 'hvm'
kernel = '/usr/lib/xen/boot/hvmloader'
arch_libdir = 'lib64'
computed_options = ['device_model']
device_model = '/usr/' + arch_libdir + '/xen/bin/qemu-dm'
name = '$VM_NAME'
memory = 512
disk = ['file:/vm_disks/${VM_NAME}.disk.xm,hda,w', 'phy:/dev/cdrom,hdc:cdrom,r']
boot = 'd'
vnc = 1
"""

PROVISION = b"#!/bin/sh\n# provisions the disk named in image.conf\nexit 0\n"
DESCRIPTION = "<b>Fedora</b> network install: kickstart from ks.example.org."


def fedora(top: str = "Fedora_Core_Install") -> dict[str, bytes]:
    return {f"{top}/vm_conf.template": FEDORA_VM_CONF.encode(), f"{top}/image.conf": FEDORA_IMAGE_CONF.encode(),
            f"{top}/provision.sh": PROVISION, f"{top}/description.htm": DESCRIPTION.encode(),
            f"{top}/custom_scripts/fedora_tweaks/10-firewall.sh": b"#!/bin/sh\n",
            f"{top}/custom_scripts/fedora_tweaks/20-admin.sh": b"#!/bin/sh\n"}


def cd_install(top: str = "Linux_CD_Install") -> dict[str, bytes]:
    return {f"{top}/vm_conf.template": CD_VM_CONF.encode(), f"{top}/image.conf": CD_IMAGE_CONF.encode(),
            f"{top}/provision.sh": PROVISION}


def at_root(files: dict[str, bytes]) -> dict[str, bytes]:
    """The same files without their top directory."""
    return {name.split("/", 1)[1]: data for name, data in files.items()}


def write_tar(path: Path, files: dict[str, bytes], *, directories: bool = True, gz: bool = True) -> Path:
    """``files`` as a tar.gz (a plain tar unless ``gz``) at ``path``, with an entry for each directory
    (as ``tar czf`` makes)."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        made: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if directories and folder not in made:
                    made.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


DISK = b"\xeb\x63\x90" + b"look-alike boot sector " * 200  # raw bytes, no real file system


def with_disk(files: dict[str, bytes], data: bytes = DISK, name: str = "hda.img") -> dict[str, bytes]:
    """The sample with a disk image file ``name``, which its image.conf names as ``ref_disk``."""
    top = next(iter(files)).split("/", 1)[0]
    conf = f"{top}/image.conf"
    return {**files, conf: files[conf] + f"ref_disk = '$IMAGE_STORE/$IMAGE_NAME/{name}'\n".encode(),
            f"{top}/{name}": data}


def renamed(files: dict[str, bytes], top: str) -> dict[str, bytes]:
    """The sample under another top directory: another image name."""
    return {f"{top}/{name.split('/', 1)[1]}": data for name, data in files.items()}


def unpack(directory: Path, files: dict[str, bytes]) -> Path:
    """``files`` written under ``directory``, without their top directory (an image directory)."""
    for name, data in files.items():
        path = directory / name.split("/", 1)[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return directory
