"""OVF descriptors and OVA archives for the gold-image catalogue: import an OVA into an image record, export one (pure).

Modules:

* :mod:`~nfvo.domain.ova.model` -- the frozen :class:`OvfDescriptor` read from an ``.ovf`` and the
  :class:`OvfRecord` it fills (name, description, OS, architecture, processors, memory, disks);
* :mod:`~nfvo.domain.ova.descriptor` -- :func:`read_ovf`, OVF 1.x and 2.x, every finding at once;
* :mod:`~nfvo.domain.ova.guest` -- the distribution, version and architecture an OperatingSystemSection implies;
* :mod:`~nfvo.domain.ova.package` -- :func:`read_ova` over an opened
  :class:`~nfvo.domain.archive.PackageArchive` (opened with ``kind_of=ova_kind``): the descriptor,
  the ``.mf`` manifest and the referenced files, the disks verified while the caller streams them;
* :mod:`~nfvo.domain.ova.export` -- :func:`build_ovf` and :func:`write_ova`, a streaming tar writer.
"""

from nfvo.domain.ova.descriptor import allocation_unit, disk_format, read_ovf
from nfvo.domain.ova.export import FORMAT_URIS, build_ovf, write_ova
from nfvo.domain.ova.guest import Guest, derive
from nfvo.domain.ova.model import DISK_FORMATS, DiskRecord, OsType, OvfDescriptor, OvfDisk, OvfFile, OvfRecord
from nfvo.domain.ova.package import (
    ManifestEntry,
    Ova,
    OvaFile,
    ova_kind,
    read_manifest,
    read_ova,
    verifying,
)

__all__ = ["DISK_FORMATS", "FORMAT_URIS", "DiskRecord", "Guest", "ManifestEntry", "OsType", "Ova", "OvaFile",
           "OvfDescriptor", "OvfDisk", "OvfFile", "OvfRecord", "allocation_unit", "build_ovf", "derive",
           "disk_format", "ova_kind", "read_manifest", "read_ova", "read_ovf", "verifying", "write_ova"]
