"""Offline package validation for ``nfvo package validate``: detect the format, read it, summarise it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from nfvo.domain import openbaton
from nfvo.domain.archive import ArchiveLimits, PackageArchive
from nfvo.domain.csar import MAX_COMPRESSION_RATIO, TOSCA_META, CsarArchive, CsarPackage, build_csar, is_zip, read_csar
from nfvo.errors import ValidationFailed


def is_csar_directory(path: Path) -> bool:
    """A directory laid out as a CSAR: TOSCA-Metadata/, or no Metadata.yaml and a root .yaml with its .mf."""
    if (path / TOSCA_META).is_file():
        return True
    names = {p.name.lower() for p in path.iterdir() if p.is_file()}
    if "metadata.yaml" in names:
        return False
    return any(n.endswith((".yaml", ".yml")) and f"{n.rsplit('.', 1)[0]}.mf" in names for n in names)


def validate_path(path: Path, limits: ArchiveLimits = ArchiveLimits(), *,
                  max_ratio: int = MAX_COMPRESSION_RATIO) -> list[str]:
    """Validate the package at ``path`` (file or directory, any supported format); needs no service.

    Returns the lines of a short summary of what was read.  Raises the NfvoError of the
    format's reader (ValidationFailed, UnsafeArchive) listing every problem.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="nfvo-validate-") as tmp:
        work = Path(tmp)
        if path.is_dir():
            if is_csar_directory(path):
                return _csar(build_csar(path, work / f"{path.name}.csar"), limits, max_ratio, path.name, work)
            from nfvo.client import build_package

            return _openbaton(build_package(path, work / f"{path.name}.tar"), limits, path.name)
        if is_zip(path):
            return _csar(path, limits, max_ratio, path.name, work)
        return _openbaton(path, limits, path.name)


def _csar(path: Path, limits: ArchiveLimits, max_ratio: int, name: str, work: Path) -> list[str]:
    with CsarArchive.open(path, limits, max_ratio=max_ratio, display_name=name, work_dir=work) as archive:
        package = read_csar(archive)
    return csar_summary(package)


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
    lines = [f"{package.display_name}: valid ETSI SOL004 CSAR ({layout}, {signed})",
             f"  VNF {vnfd.product_name} {vnfd.software_version} by {vnfd.provider}: descriptor "
             f"{vnfd.descriptor_id} version {vnfd.descriptor_version}, "
             f"flavour{'s' if len(vnfd.flavours) != 1 else ''} {', '.join(f.id for f in vnfd.flavours)}"]
    for vdu in vnfd.vdus:
        image = vdu.image
        what = "no image"
        if image:
            where = image.file or image.link or "already on the VIM"
            what = f"image {image.name} {image.version} ({image.disk_format}, {where})"
        lines.append(f"  VDU {vdu.node} ({vdu.kind}): {what}")
    listed = [e for e in package.manifest.entries if not e.is_url]
    lines.append(f"  manifest {package.manifest.file}: {len(listed)} files, "
                 f"{'every hash verified' if package.hashes_verified else 'hashes not verified'}")
    return lines


def _openbaton(path: Path, limits: ArchiveLimits, name: str) -> list[str]:
    with PackageArchive.open(path, limits, display_name=name) as archive:
        package = openbaton.read_package(archive)
    metadata, vnfd = package.metadata, package.vnfd
    scripts = [s.rsplit("/", 1)[-1] for s in package.scripts]
    if metadata.scripts_link is None:
        missing = openbaton.missing_scripts(package, scripts)
        if missing:
            raise ValidationFailed(f"{len(missing)} problems in package {name}", errors=missing)
        script_note = f"{len(scripts)} scripts in the package"
    else:
        script_note = f"scripts from {metadata.scripts_link} (not fetched offline)"
    lines = [f"{name}: valid Open Baton package",
             f"  VNF {metadata.name} version {metadata.version} by {metadata.vendor}: {len(vnfd.get('vdu', []))} "
             f"VDU(s), VIM types {', '.join(metadata.vim_types) or 'any'}; {script_note}"]
    for image in metadata.images:
        source = image.file or image.link or "on the VIM"
        lines.append(f"  image {image.key}: upload {image.upload}, from {source}")
    return lines


__all__ = ["csar_summary", "is_csar_directory", "validate_path"]
