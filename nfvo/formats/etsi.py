"""The ETSI SOL004 VNF package format (a CSAR: a zip with TOSCA-Metadata/ or a root YAML).

The checks (layout, TOSCA.meta, manifest, every hash while streaming, signatures, the SOL001
VNFD) are :mod:`nfvo.domain.csar`'s; this module maps the package onto nfvo's onboarding.
Software images are matched by content: an image with a file or URL is uploaded unless an
image with the same bytes is on the VIM; one without must exist by name. An image given by
URL is downloaded and checked against its ``sw_image_data`` checksum before any VIM sees it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from nfvo.domain.archive import ArchiveLimits
from nfvo.domain.csar import TOSCA_META, CsarPackage, build_csar, read_csar
from nfvo.domain.csar_zip import CsarArchive, is_zip
from nfvo.formats.base import Fetchers, Files, Package, PackageFormat, Record

#: the name an inner CSAR (of a signed zip, security option 2) is kept under, beside the package
INNER_FILE = "inner.csar"


class EtsiFormat(PackageFormat):
    name = "etsi-sol004"
    title = "ETSI SOL004 CSAR"
    stored_as = "package.csar"
    media_type = "application/zip"
    own_package_info = True
    priority = 900  # the fallback for any zip: its reader says what a CSAR lacks
    opens_streams = True

    def recognises(self, path: Path) -> bool:
        return is_zip(path)

    def recognises_directory(self, path: Path) -> bool:
        """TOSCA-Metadata/, or no Metadata.yaml and a root .yaml with its .mf."""
        if (path / TOSCA_META).is_file():
            return True
        names = {p.name.lower() for p in path.iterdir() if p.is_file()}
        if "metadata.yaml" in names:
            return False
        return any(n.endswith((".yaml", ".yml")) and f"{n.rsplit('.', 1)[0]}.mf" in names for n in names)

    def build(self, directory: Path, out: Path) -> Path:
        return build_csar(directory, out)

    @contextlib.contextmanager
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool, opener=None) -> Iterator[Package]:
        with CsarArchive.open(path, limits, display_name=display_name, work_dir=work, opener=opener) as archive:
            package = read_csar(archive, strict=strict)
            vnfd = package.vnfd
            images = tuple(dataclasses.replace(r, upload="true") if r.file or r.link else r for r in package.images)
            yield Package(format=self.name, identity=(self.name, vnfd.descriptor_id),
                          describe=f"A package with vnfdId {vnfd.descriptor_id!r}", name=vnfd.product_name,
                          vendor=vnfd.provider, version=vnfd.software_version, images=images,
                          members=_Verified(archive, package), warnings=package.warnings,
                          native=_Native(package, archive, path))

    def summary(self, package: Package) -> list[str]:
        return summary(package.native.package)

    def files(self, package: Package, fetch: Fetchers, work: Path) -> Files:
        """The inner CSAR of a signed zip (security option 2), kept beside it for its downloads."""
        native = package.native
        return Files(stored={INNER_FILE: native.archive.path} if native.archive.path != native.source else {})

    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        """Open Baton's name/vendor/version/vdu (each compute VDU with the images its software
        image became), and the SOL001 identity under ``etsi``."""
        csar = package.native.package
        vnfd = csar.vnfd
        vdus = []
        for vdu in vnfd.vdus:
            if vdu.kind != "compute":
                continue
            keys = [r.key for r in package.images if vdu.image and vdu.image.name in r.names]
            names = [name for key in keys for name in image_names.get(key, [])]
            vdus.append({"name": vdu.name or vdu.node, "vm_image": list(dict.fromkeys(names)) or
                         ([vdu.image.name] if vdu.image else []), "vimInstanceName": []})
        return {"name": vnfd.product_name, "vendor": vnfd.provider, "version": vnfd.software_version,
                "type": vnfd.product_name, "vdu": vdus,
                "etsi": {"vnfdId": vnfd.descriptor_id, "vnfdVersion": vnfd.descriptor_version,
                         "flavourId": vnfd.flavour_id, "entryDefinitions": csar.entry_definitions}}

    def record(self, package: Package) -> Record:
        csar = package.native.package
        return Record(meta={"format": self.name, "vnfdId": csar.descriptor_id,
                            "entryDefinitions": csar.entry_definitions})

    def package_info(self, package: Package, sizes: Mapping[str, int], sha256: str) -> dict:
        """The VnfPkgInfo attributes, and what nfvo needs to serve the package's files. An image's
        ``size`` is its real one (``sizes``, by file or link), the declared one only when unknown."""
        return package_info(package.native.package, sizes, sha256)


@dataclasses.dataclass(frozen=True)
class _Native:
    package: CsarPackage
    archive: CsarArchive
    source: Path


class _Verified:
    """The archive as uploads read it: each member stream verifies its declared hash, so that a
    member changed since it was checked fails the upload instead of reaching the VIM."""

    def __init__(self, archive: CsarArchive, package: CsarPackage):
        self._archive, self._package = archive, package
        self.members = archive.members
        self.display_name = archive.display_name

    def open_member(self, name: str) -> contextlib.AbstractContextManager[BinaryIO]:
        return self._package.open_verified(self._archive, name)


def _algorithm(name: str) -> str:
    """hashlib's ``sha256`` as SOL005 writes it, ``SHA-256``."""
    return name.upper().replace("SHA", "SHA-", 1) if name.lower().startswith("sha") else name.upper()


def package_info(package: CsarPackage, sizes: Mapping[str, int], sha256: str) -> dict:
    """See :meth:`EtsiFormat.package_info`."""
    vnfd = package.vnfd
    now = datetime.now(UTC).isoformat()
    images, seen = [], set()
    for image in vnfd.images:
        if (image.name, image.hash, image.file, image.link) in seen:
            continue
        seen.add((image.name, image.hash, image.file, image.link))
        images.append({
            "id": image.node, "name": image.name, "provider": vnfd.provider, "version": image.version,
            "checksum": {"algorithm": _algorithm(image.algorithm), "hash": image.hash},
            "containerFormat": image.container_format.upper(), "diskFormat": image.disk_format.upper(),
            "createdAt": now, "minDisk": image.min_disk, "minRam": image.min_ram,
            "size": sizes.get(image.file or image.link, image.size),
            "imagePath": image.file or image.link or "", "userMetadata": {}})
    not_artifacts = set(vnfd.files) | {i.file for i in vnfd.images if i.file} | {package.manifest.file}
    artifacts = [{"artifactPath": e.source, "checksum": {"algorithm": _algorithm(e.algorithm), "hash": e.hash},
                  "metadata": {}} for e in package.manifest.entries if e.source not in not_artifacts]
    pkg_info = {"vnfdId": vnfd.descriptor_id, "vnfProvider": vnfd.provider, "vnfProductName": vnfd.product_name,
                "vnfSoftwareVersion": vnfd.software_version, "vnfdVersion": vnfd.descriptor_version,
                "checksum": {"algorithm": "SHA-256", "hash": sha256}, "softwareImages": images,
                "additionalArtifacts": artifacts, "packageFormat": EtsiFormat.name}
    meta = [package.tosca_meta and TOSCA_META]
    return {"pkgInfo": pkg_info, "files": list(package.files), "vnfdFiles": list(vnfd.files),
            "zipExtras": [m for m in meta if m], "securityOption": package.security.option}


def summary(package: CsarPackage) -> list[str]:
    """Lines describing a valid CSAR: layout, security, the VNF, its VDUs and images, the manifest."""
    vnfd, security = package.vnfd, package.security
    layout = "TOSCA-Metadata" if package.layout == "tosca-metadata" else "single root YAML"
    if security.option is None:
        signed = "unsigned"
    else:
        checks = [c for c in (security.package_signature, security.manifest_signature) if c]
        checks += list(security.artifact_signatures)
        signers = sorted({c.signer for c in checks})
        signed = (f"security option {security.option}, {len(checks)} signature{'s' if len(checks) != 1 else ''} "
                  f"verified (signed by {', '.join(signers)})")
    lines = [f"{package.display_name} is a valid ETSI SOL004 CSAR ({layout}, {signed}).",
             f"  VNF {vnfd.product_name} {vnfd.software_version} by {vnfd.provider}: descriptor "
             f"{vnfd.descriptor_id} version {vnfd.descriptor_version}, "
             f"flavour{'s' if len(vnfd.flavours) != 1 else ''} {', '.join(f.id for f in vnfd.flavours)}."]
    for vdu in vnfd.vdus:
        image = vdu.image
        what = "has no software image"
        if image:
            where = (f"from {image.file or image.link}" if image.file or image.link
                     else "not in the package: it must be on the VIM by this name")
            what = f"uses image {image.name} {image.version} ({image.disk_format}, {where})"
        lines.append(f"  VDU {vdu.node} ({vdu.kind}) {what}.")
    listed = [e for e in package.manifest.entries if not e.is_url]
    verified = "every hash was verified" if package.hashes_verified else "hashes were not verified"
    if package.manifest.declared:
        lines.append(f"  Manifest {package.manifest.file} lists {len(listed)} files; {verified}.")
    elif listed:
        lines.append(f"  There is no manifest; {package.manifest.file} declares the hashes of {len(listed)} files; "
                     f"{verified}.")
    else:
        lines.append("  There is no manifest, and no file's hash is declared.")
    return lines
