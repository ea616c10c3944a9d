"""Build SONATA (.son) and 5GTANGO (.tgo) packages for tests: our example's files, package
descriptors with digests computed here, zips."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sonata-iperf"
MANIFEST = "META-INF/MANIFEST.MF"
NAPD = "TOSCA-Metadata/NAPD.yaml"
SON_TYPES = {"function_descriptors": "application/sonata.function_descriptor",
             "service_descriptors": "application/sonata.service_descriptor", "images": "application/sonata.VM_image"}
TGO_TYPES = {"function_descriptors": "application/vnd.5gtango.vnfd",
             "service_descriptors": "application/vnd.5gtango.nsd", "images": "application/vnd.5gtango.vm_image"}


def example_files() -> dict[str, bytes]:
    """The files of examples/sonata-iperf but its MANIFEST.MF (name -> bytes)."""
    return {p.relative_to(EXAMPLE).as_posix(): p.read_bytes() for p in sorted(EXAMPLE.rglob("*"))
            if p.is_file() and p.relative_to(EXAMPLE).as_posix() != MANIFEST}


def son_manifest(files: dict[str, bytes], *, name: str = "sonata-iperf", skip: tuple[str, ...] = (),
                 extra: dict | None = None) -> bytes:
    """A MANIFEST.MF listing every file (but ``skip``) with its md5, as the SONATA packager writes it."""
    content = [{"name": f"/{n}", "content-type": SON_TYPES.get(n.split("/")[0], "text/plain"),
                "md5": hashlib.md5(data).hexdigest()} for n, data in sorted(files.items()) if n not in skip]
    entry = next((f"/{n}" for n in sorted(files) if n.startswith("service_descriptors/")), None)
    document = {"descriptor_version": "1.0", "package_vendor": "dev.nfvo.examples", "package_name": name,
                "package_version": "0.1", "package_maintainer": "tests", "package_content": content,
                **({"entry_service_template": entry} if entry else {}), "sealed": True, **(extra or {})}
    return ("---\n" + yaml.safe_dump(document, sort_keys=False)).encode()


def tgo_files(files: dict[str, bytes], *, name: str = "tango-iperf", algorithm: str = "SHA-256",
              skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """``files`` laid out as a 5GTANGO package: TOSCA.meta, NAPD.yaml and etsi_manifest.mf added."""
    hashed = algorithm.lower().replace("-", "")
    content = [{"source": n, "algorithm": algorithm, "hash": hashlib.new(hashed, data).hexdigest(),
                "content-type": TGO_TYPES.get(n.split("/")[0], "text/plain")}
               for n, data in sorted(files.items()) if n not in skip]
    napd = {"descriptor_schema": "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/package-specification/"
                                 "napd-schema.yml",
            "vendor": "dev.nfvo.examples", "name": name, "version": "0.1", "package_type": "application/vnd.5gtango.package",
            "maintainer": "tests", "description": "an iperf service", "package_content": content}
    meta = "TOSCA-Meta-Version: 1.0\nCSAR-Version: 1.0\nCreated-By: tests\nEntry-Manifest: etsi_manifest.mf\n" \
           "Entry-Definitions: TOSCA-Metadata/NAPD.yaml\n"
    manifest = "ns_product_name: tango-iperf\nns_provider_id: dev.nfvo.examples\nns_package_version: 0.1\n\n" + "".join(
        f"Source: {c['source']}\nAlgorithm: {c['algorithm']}\nHash: {c['hash']}\n\n" for c in content)
    return {**files, "TOSCA-Metadata/TOSCA.meta": meta.encode(), NAPD: yaml.safe_dump(napd, sort_keys=False).encode(),
            "etsi_manifest.mf": manifest.encode()}


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    """The files zipped, package descriptors first; images stored, the rest deflated."""
    first = [MANIFEST, "TOSCA-Metadata/TOSCA.meta", NAPD]
    with zipfile.ZipFile(path, "w") as archive:
        for name in [n for n in first if n in files] + sorted(n for n in files if n not in first):
            method = zipfile.ZIP_STORED if name.startswith("images/") else zipfile.ZIP_DEFLATED
            archive.writestr(name, files[name], method)
    return path


def son(path: Path, files: dict[str, bytes] | None = None, **options) -> Path:
    """A .son package of ``files`` (default: the example's) with a fresh MANIFEST.MF."""
    files = example_files() if files is None else files
    return write_zip(path, {**files, MANIFEST: son_manifest(files, **options)})


def tgo(path: Path, files: dict[str, bytes] | None = None, **options) -> Path:
    """A .tgo package of ``files`` (default: the example's)."""
    return write_zip(path, tgo_files(example_files() if files is None else files, **options))


def renamed(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    """The example with another function name (in its VNFD and the NSD that names it)."""
    out = dict(files)
    for key in ("function_descriptors/iperf-vnfd.yml", "service_descriptors/iperf-nsd.yml"):
        if key in out:
            out[key] = out[key].replace(b'"iperf-vnf"', f'"{name}"'.encode())
    return out
