"""The frozen model of an NFVIS package's ``image_properties.xml`` (and ``system_generated_properties.xml``).

Every declaration keeps the ``line`` and element ``pointer`` it came from, so later checks
(day-0 tokens, payloads) can point back into the file.  The vocabularies below are what
:mod:`nfvo.domain.nfvis.properties` accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VNF_TYPES = ("ROUTER", "FIREWALL", "LOADBALANCER", "OTHER", "vWAAS", "vWLC", "WLC")
DISK_BUSES = ("virtio", "ide")
DISK_FORMATS = ("qcow2", "raw", "vmdk")
#: image file extension -> the disk format it holds (an ISO is read as raw bytes)
IMAGE_EXTENSIONS = {".qcow2": "qcow2", ".img": "raw", ".raw": "raw", ".iso": "iso", ".vmdk": "vmdk"}
PROPERTY_TYPES = ("string", "password", "ipv4", "uint", "selection")
CONTROLLERS = ("vManage", "non-vManage")
HA_VMS = (0, 1, 2)
MONITORING_METHODS = ("ICMPPing",)
VOLUME_DEVICE_TYPES = ("disk", "cdrom")
MAX_BOOTSTRAP_FILES = 20
MAX_VOLUME_GB = 256
BOOTUP_TIME_RANGE = (600, 3000)  # seconds; -1: not monitored
VNIC_MAX_RANGE = (8, 256)
FLAGS = ("monitoring_supported", "low_latency", "privileged_vm", "disable_spoof_check", "sriov_supported",
         "console_type_serial", "cdrom", "nocloud", "interface_hot_add", "interface_hot_delete",
         "thick_disk_provisioning", "eager_zero")
#: config-drive files and the NoCloud files a ``nocloud`` package's drive holds them as
NOCLOUD_NAMES = {"openstack/latest/user_data": "user-data", "openstack/latest/meta_data.json": "meta-data",
                 "openstack/latest/vendor_data.json": "vendor-data"}
#: words in a property name that mark its value as a secret, whatever its type
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "AUTH_KEY", "PASSPHRASE", "PSK")
TOKEN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Range:
    """``<x>_min`` .. ``<x>_max``; either bound may be absent."""

    minimum: int | None = None
    maximum: int | None = None

    def holds(self, value: int, scale: int = 1) -> bool:
        return ((self.minimum is None or value >= self.minimum * scale)
                and (self.maximum is None or value <= self.maximum * scale))

    def text(self, unit: str = "", scale: int = 1) -> str:
        low = "" if self.minimum is None else f"{self.minimum * scale}"
        high = "" if self.maximum is None else f"{self.maximum * scale}"
        return f"{low}..{high}{unit}"


@dataclass(frozen=True)
class Profile:
    """A flavour the package offers: ``<profile>`` of ``<profiles>``."""

    name: str
    description: str | None
    vcpus: int | None
    memory_mb: int | None
    root_disk_mb: int | None
    line: int
    pointer: str

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "vcpus": self.vcpus,
                "memory_mb": self.memory_mb, "root_disk_mb": self.root_disk_mb}


@dataclass(frozen=True)
class Disk:
    """Bus and format of the root disk (``index`` 0) or of ephemeral disk N (``disk_<N>_*``)."""

    index: int
    bus: str | None
    format: str | None
    line: int | None = None  # of the format (else the bus) element
    pointer: str | None = None


@dataclass(frozen=True)
class Volume:
    """A ``storage/volumes/volume``: an extra disk or CD-ROM NFVIS creates empty."""

    name: str | None
    device_type: str | None
    format: str | None
    size_gb: int | None
    line: int
    pointer: str


@dataclass(frozen=True)
class BootstrapFile:
    """A day-0 file: ``source`` is the member of the package, ``mount_point`` where the VM sees it.

    ``parse`` means tokens (``${NAME}``) in it are substituted.  ``controller`` and ``vm``
    restrict it to SD-WAN managed (vManage) or unmanaged deployments and to one VM of an
    HA pair.  ``index`` is the N of the legacy ``<bootstrap_file_N>`` form.
    """

    source: str
    mount_point: str
    parse: bool
    controller: str | None
    vm: int | None
    index: int | None
    line: int
    pointer: str


@dataclass(frozen=True)
class Choice:
    """One ``<val>`` of a ``selection`` property."""

    value: str
    display: str | None = None


@dataclass(frozen=True)
class CustomProperty:
    """A token the deployment supplies: ``<custom_property>``."""

    name: str
    type: str
    mandatory: bool
    default: str | None
    choices: tuple[Choice, ...]
    display: str | None
    controller: str | None
    special: str | None
    line: int
    pointer: str
    default_line: int | None = None
    default_pointer: str | None = None

    @property
    def secret(self) -> bool:
        """A password (by type) or a secret (by name): its value is never shown in a finding."""
        return is_secret(self.name, self.type)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)


@dataclass(frozen=True)
class SystemProperty:
    """A token whose value the package fixes: ``<system_property>`` of system_generated_properties.xml."""

    name: str
    value: str
    file: str
    line: int
    pointer: str


@dataclass(frozen=True)
class ImageProperties:
    """``image_properties.xml`` read and checked; absent optional fields are None."""

    file: str
    line: int
    name: str | None
    version: str | None
    vnf_type: str | None
    vendor: str | None
    image_type: str | None
    bootup_time: int | None
    root_disk: Disk
    disks: tuple[Disk, ...]  # ephemeral disks by index
    vcpu: Range
    memory_mb: Range
    root_disk_gb: Range
    vnic_max: int | None
    vnic_names: tuple[tuple[int, str], ...]
    mgmt_vnic: int | None
    flags: dict[str, bool]
    monitoring_methods: tuple[str, ...]
    profiles: tuple[Profile, ...]
    default_profile: str | None
    bootstrap_files: tuple[BootstrapFile, ...]
    custom_properties: tuple[CustomProperty, ...]
    volumes: tuple[Volume, ...] = ()
    system_properties: tuple[SystemProperty, ...] = ()
    other: dict[str, str] = field(default_factory=dict)  # every other top-level element's text

    @property
    def nocloud(self) -> bool:
        """True: the day-0 drive is NoCloud (``cidata``); False: an OpenStack config-drive (``config-2``)."""
        return self.flags.get("nocloud", False)

    def profile(self, name: str) -> Profile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def custom_property(self, name: str) -> CustomProperty | None:
        return next((p for p in self.custom_properties if p.name == name), None)

    def system_property(self, name: str) -> SystemProperty | None:
        return next((p for p in self.system_properties if p.name == name), None)


def is_secret(name: str, type_: str) -> bool:
    """Whether a property's value must never be shown: type ``password``, or a name with a SECRET_WORDS word."""
    upper = name.upper()
    return type_ == "password" or any(word in upper for word in SECRET_WORDS)
