"""Build ETSI SOL004 CSARs for tests: the example package's files, manifests, CMS signatures, zips."""

from __future__ import annotations

import datetime
import hashlib
import zipfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "csar-iperf"
MANIFEST = "iperf-server.mf"
METADATA = {"vnf_provider_id": "FOKUS", "vnf_product_name": "iperf-server",
            "vnf_release_date_time": "2024-05-01T12:00:00+00:00", "vnf_package_version": "1.0"}
NOT_LISTED = ("TOSCA-Metadata/TOSCA.meta",)


class DictFiles:
    """A package held in a dict (name -> text), as the VNFD reader sees one."""

    def __init__(self, files: dict[str, str]):
        self.files = files

    def exists(self, name: str) -> bool:
        return name in self.files

    def read_text(self, name: str) -> str:
        return self.files[name]


def example_files(directory: Path = EXAMPLE) -> dict[str, bytes]:
    """The files of examples/csar-iperf (relative name -> bytes), its manifest included."""
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def manifest(files: dict[str, bytes], *, metadata: dict[str, str] | None = None, algorithm: str = "SHA-256",
             skip: tuple[str, ...] = (), exclude: tuple[str, ...] = (MANIFEST,), upper: bool = False,
             extra: str = "") -> str:
    """A manifest listing every file of ``files`` (but ``exclude``, TOSCA.meta and ``skip``) with its hash."""
    name = algorithm.lower().replace("-", "")
    lines = ["metadata:"] + [f"{k}: {v}" for k, v in (METADATA if metadata is None else metadata).items()]
    for source, data in sorted(files.items()):
        if source in exclude or source in NOT_LISTED or source in skip:
            continue
        digest = hashlib.new(name, data).hexdigest()
        lines += ["", f"Source: {source}", f"Algorithm: {algorithm}", f"Hash: {digest.upper() if upper else digest}"]
    return "\n".join(lines) + "\n" + extra


def with_manifest(files: dict[str, bytes], name: str = MANIFEST, **options) -> dict[str, bytes]:
    """``files`` plus a freshly computed manifest ``name``."""
    result = {k: v for k, v in files.items() if k != name}
    result[name] = manifest(result, exclude=(name,), **options).encode()
    return result


def self_signed(common_name: str = "nfvo test vendor") -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A fresh RSA key and a self-signed certificate for it, valid for a day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    return cert, key


def cms_signature(data: bytes, cert: x509.Certificate, key, *, include_certificate: bool = True) -> str:
    """A detached CMS signature of ``data`` as a ``-----BEGIN CMS-----`` block."""
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    if not include_certificate:
        options.append(pkcs7.PKCS7Options.NoCerts)
    pem = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(cert, key, hashes.SHA256()).sign(
        serialization.Encoding.PEM, options).decode()
    return pem.replace("BEGIN PKCS7", "BEGIN CMS").replace("END PKCS7", "END CMS")


def sign_manifest(files: dict[str, bytes], cert: x509.Certificate, key, name: str = MANIFEST) -> dict[str, bytes]:
    """``files`` with the manifest ``name`` ending in a CMS signature of the text before it."""
    text = files[name]
    return {**files, name: text + cms_signature(text, cert, key).encode()}


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_zip(path: Path, files: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED,
              symlinks: dict[str, str] | None = None) -> Path:
    """Zip ``files`` into ``path``; ``symlinks`` adds entries marked as Unix symbolic links."""
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def build(path: Path, files: dict[str, bytes] | None = None, **options) -> Path:
    """The example CSAR (or ``files``) zipped at ``path``."""
    return write_zip(path, example_files() if files is None else files, **options)
