"""Offline package validation for ``nfvo package validate``: detect the format, read it, summarise it."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from nfvo.domain import openbaton
from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.csar import TOSCA_META, CsarArchive, CsarPackage, build_csar, is_zip, read_csar
from nfvo.errors import Issue


def is_csar_directory(path: Path) -> bool:
    """A directory laid out as a CSAR: TOSCA-Metadata/, or no Metadata.yaml and a root .yaml with its .mf."""
    if (path / TOSCA_META).is_file():
        return True
    names = {p.name.lower() for p in path.iterdir() if p.is_file()}
    if "metadata.yaml" in names:
        return False
    return any(n.endswith((".yaml", ".yml")) and f"{n.rsplit('.', 1)[0]}.mf" in names for n in names)


@dataclass(frozen=True)
class Validated:
    """What validating a package found: a summary of what was read and checked, and its warnings."""

    summary: list[str]
    warnings: tuple[Issue, ...]


def validate_path(path: Path, limits: ArchiveLimits = ArchiveLimits(), *, strict: bool = False) -> Validated:
    """Validate the package at ``path`` (file or directory, any supported format); needs no service.

    ``limits`` bound the archive: members, total size and each kind of member, as the service's
    NFVO_MAX_* settings do (a member over its limit is UnsafeArchive).

    Raises the NfvoError of the format's reader (ValidationFailed, UnsafeArchive) listing
    every finding when one is an error (or, under ``strict``, when there is any).
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nfvo-validate-") as tmp:
        work = Path(tmp)
        if path.is_dir():
            if is_csar_directory(path):
                return _csar(build_csar(path, work / f"{path.name}.csar"), limits, path.name, work, strict)
            from nfvo.client import build_package

            return _openbaton(build_package(path, work / f"{path.name}.tar"), limits, path.name, strict)
        if is_zip(path):
            return _csar(path, limits, path.name, work, strict)
        return _openbaton(path, limits, path.name, strict)


def _csar(path: Path, limits: ArchiveLimits, name: str, work: Path, strict: bool) -> Validated:
    with CsarArchive.open(path, limits, display_name=name, work_dir=work) as archive:
        package = read_csar(archive, strict=strict)
    return Validated(csar_summary(package), package.warnings)


def csar_summary(package: CsarPackage) -> list[str]:
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


def _openbaton(path: Path, limits: ArchiveLimits, name: str, strict: bool) -> Validated:
    with PackageArchive.open(path, limits, display_name=name) as archive:
        package = openbaton.read_package(archive, strict=strict)
    return Validated(openbaton_summary(package, name), package.warnings)


def openbaton_summary(package: openbaton.OpenBatonPackage, name: str) -> list[str]:
    """Sentences on a valid Open Baton package, claiming only what an offline check can know."""
    metadata, vnfd = package.metadata, package.vnfd
    vdus = len(vnfd.get("vdu", []))
    if metadata.scripts_link is None:
        scripts = (f"its {len(package.scripts)} lifecycle script{'s are' if len(package.scripts) != 1 else ' is'} "
                   "in the package")
    else:
        scripts = f"its lifecycle scripts come from {metadata.scripts_link} (not fetched offline)"
    lines = [f"{name} is a valid Open Baton package.",
             f"  VNF {metadata.name} version {metadata.version} by {metadata.vendor or 'an unnamed vendor'} has "
             f"{vdus} VDU{'s' if vdus != 1 else ''} for VIM types {', '.join(metadata.vim_types) or 'of any kind'}; "
             f"{scripts}."]
    for image in metadata.images:
        lines.append(f"  Image {image.config.name if image.config else image.key} ({_image_plan(image)}).")
    return lines


def _image_plan(image) -> str:
    """What onboarding will do with an image, by its upload rule, without a VIM to ask."""
    lookup = " or ".join(f"{what}{'s' if len(values) != 1 else ''} {', '.join(values)}"
                         for what, values in (("id", image.ids), ("name", image.names)) if values)
    source = image.file or image.link
    if image.upload == "true":
        return f"uploaded from {source}"
    if image.upload == "check":
        return f"looked up on each VIM by {lookup}, else uploaded from {source}"
    return f"looked up on each VIM by {lookup}; it must be there"


__all__ = ["Validated", "csar_summary", "is_csar_directory", "openbaton_summary", "validate_path"]
