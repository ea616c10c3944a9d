"""What nfvo keeps of an OVF: the descriptor read from an ``.ovf``, the catalogue record it fills or is built from."""

from __future__ import annotations

from dataclasses import dataclass, replace

OVF1 = "http://schemas.dmtf.org/ovf/envelope/1"
OVF2 = "http://schemas.dmtf.org/ovf/envelope/2"
#: envelope namespace -> OVF major version
OVF_NAMESPACES = {OVF1: "1", OVF2: "2"}
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
VMW = "http://www.vmware.com/schema/ovf"
#: nfvo's extension section (``ovf:required="false"``): what a catalogue record holds that OVF has no field for
NFVO = "https://nfvo.dev/ovf/1"

#: disk formats nfvo names (the Glance ``disk_format`` values)
DISK_FORMATS = ("vmdk", "qcow2", "raw", "iso", "vhd", "vhdx")


@dataclass(frozen=True)
class OsType:
    """What an OperatingSystemSection says: the CIM_OperatingSystem ``OSType`` number of its
    ``ovf:id`` (0, "Unknown", is None), VMware's ``vmw:osType`` guest id and its ``Description``."""

    cim_id: int | None = None
    vmware: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class DiskRecord:
    """One volume of a catalogue image: the file ``href`` inside the OVA (None: an empty disk the
    hypervisor creates), its ``size`` in exact bytes, its ``capacity`` (virtual size) in bytes and
    its ``format`` (one of :data:`DISK_FORMATS`)."""

    href: str | None
    size: int | None = None
    capacity: int | None = None
    format: str | None = None


@dataclass(frozen=True)
class OvfRecord:
    """The image record an OVF fills (:meth:`OvfDescriptor.record`) and :func:`~nfvo.domain.ova.export.build_ovf`
    writes; ``disks`` lists the boot disk first.  ``memory_mb`` is in MiB."""

    name: str
    description: str | None = None
    os_type: OsType | None = None
    os_distro: str | None = None
    os_version: str | None = None
    architecture: str | None = None
    cpus: int | None = None
    memory_mb: int | None = None
    disks: tuple[DiskRecord, ...] = ()


@dataclass(frozen=True)
class OvfFile:
    """One ``References/File``: ``href`` normalised (``./a`` is ``a``), ``size`` its ``ovf:size``
    (None when not given); ``line``/``pointer`` locate the element."""

    id: str
    href: str
    size: int | None
    line: int
    pointer: str


@dataclass(frozen=True)
class OvfDisk:
    """One ``DiskSection/Disk``: its ``ovf:diskId``, the File its ``ovf:fileRef`` names (None: an
    empty disk), ``capacity`` in bytes, ``format`` (see :data:`DISK_FORMATS`, None when unknown)
    with the ``ovf:format`` URI it came from, and whether it is the ``boot`` disk."""

    disk_id: str
    file: OvfFile | None
    capacity: int | None
    format: str | None
    format_uri: str | None
    populated_size: int | None
    boot: bool
    line: int
    pointer: str

    @property
    def href(self) -> str | None:
        return self.file.href if self.file else None

    @property
    def size(self) -> int | None:
        return self.file.size if self.file else None

    def record(self) -> DiskRecord:
        return DiskRecord(self.href, self.size, self.capacity, self.format)


@dataclass(frozen=True)
class OvfDescriptor:
    """An ``.ovf`` as nfvo reads it (see :func:`~nfvo.domain.ova.descriptor.read_ovf` for where each
    field comes from); ``ovf_version`` is "1" or "2" (by the envelope namespace), ``files`` and
    ``disks`` are in document order."""

    file: str
    ovf_version: str
    system_id: str | None
    name: str
    description: str | None
    product: str | None
    vendor: str | None
    version: str | None
    os_type: OsType | None
    os_distro: str | None
    os_version: str | None
    architecture: str | None
    cpus: int | None
    memory_mb: int | None
    files: tuple[OvfFile, ...]
    disks: tuple[OvfDisk, ...]

    @property
    def boot_disk(self) -> OvfDisk | None:
        return next((d for d in self.disks if d.boot), None)

    def record(self) -> OvfRecord:
        """The catalogue record: the boot disk first, the others in DiskSection order."""
        disks = sorted(self.disks, key=lambda d: not d.boot)
        return OvfRecord(self.name, self.description, self.os_type, self.os_distro, self.os_version,
                         self.architecture, self.cpus, self.memory_mb, tuple(d.record() for d in disks))

    def with_sizes(self, sizes: dict[str, int]) -> OvfDescriptor:
        """This descriptor with each File's missing ``size`` taken from ``sizes`` (href -> bytes)."""
        files = {f.id: replace(f, size=sizes.get(f.href)) if f.size is None else f for f in self.files}
        disks = tuple(replace(d, file=files[d.file.id]) if d.file else d for d in self.disks)
        return replace(self, files=tuple(files.values()), disks=disks)
