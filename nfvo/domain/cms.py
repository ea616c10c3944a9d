"""Detached CMS (PKCS #7) SignedData signatures, as SOL004 packages carry them: parse, then verify.

``cryptography`` can create CMS signatures but has no API to verify them, so this module
reads the few DER structures a signature check needs (RFC 5652: ContentInfo, SignedData,
SignerInfo, signed attributes) and verifies each signer with ``cryptography``'s x509 and
public-key primitives.  The content is never passed in: the caller streams it through the
digest named by :attr:`SignedData.digest_algorithm` and hands over the digest, so a signed
image of any size is checked while it is read once.

Checked: every signer's ``messageDigest`` attribute equals the content digest, and its
signature over the signed attributes verifies with the signer's certificate (found in the
CMS or among the certificates given).  Not checked: the certificate's chain of trust,
validity period or revocation; the certificate that verified is returned so callers can
apply such a policy.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

_SIGNED_DATA = "1.2.840.113549.1.7.2"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS = {"2.16.840.1.101.3.4.2.4": "sha224", "2.16.840.1.101.3.4.2.1": "sha256",
            "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512"}
_HASHES = {"sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
_RSA = {"1.2.840.113549.1.1.1", "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13",
        "1.2.840.113549.1.1.14"}
_RSA_PSS = "1.2.840.113549.1.1.10"
_ECDSA = {"1.2.840.10045.2.1", "1.2.840.10045.4.3.1", "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3",
          "1.2.840.10045.4.3.4"}
_EDDSA = {"1.3.101.112", "1.3.101.113"}
_PEM = re.compile(r"-----BEGIN (CMS|PKCS7|PKCS #7 SIGNED DATA)-----(.*?)-----END \1-----", re.DOTALL)


class CmsError(ValueError):
    """A signature that cannot be read or does not verify; the message is fit for a user."""


@dataclass(frozen=True)
class _Node:
    tag: int
    content: bytes
    children: tuple[_Node, ...]
    raw: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def _parse(data: bytes, pos: int, depth: int = 0) -> tuple[_Node, int]:
    if depth > 32:
        raise CmsError("signature structure is nested too deeply")
    if pos + 2 > len(data):
        raise CmsError("signature is truncated")
    start, tag = pos, data[pos]
    if tag & 0x1F == 0x1F:
        raise CmsError("signature uses an unsupported ASN.1 tag")
    length, pos = data[pos + 1], pos + 2
    if length == 0x80:  # BER indefinite length: children up to an end-of-contents marker
        if not tag & 0x20:
            raise CmsError("signature is not valid BER")
        children = []
        while data[pos:pos + 2] != b"\x00\x00":
            child, pos = _parse(data, pos, depth + 1)
            children.append(child)
        content = b"".join(c.raw for c in children)
        return _Node(tag, content, tuple(children), data[start:pos + 2]), pos + 2
    if length & 0x80:
        count = length & 0x7F
        if count > 4 or pos + count > len(data):
            raise CmsError("signature has an invalid length")
        length, pos = int.from_bytes(data[pos:pos + count], "big"), pos + count
    end = pos + length
    if end > len(data):
        raise CmsError("signature is truncated")
    content, children = data[pos:end], []
    if tag & 0x20:
        inner = pos
        while inner < end:
            child, inner = _parse(data, inner, depth + 1)
            children.append(child)
    return _Node(tag, content, tuple(children), data[start:end]), end


def _oid(node: _Node) -> str:
    if node.tag != 0x06 or not node.content:
        raise CmsError("signature holds a malformed object identifier")
    values, current = [], 0
    for byte in node.content:
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(current)
            current = 0
    first = min(values[0] // 40, 2)
    return ".".join(str(v) for v in [first, values[0] - 40 * first, *values[1:]])


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


@dataclass(frozen=True)
class _Signer:
    sid: _Node
    digest_algorithm: str
    signed_attributes: bytes | None  # DER of the SET, as signed
    message_digest: bytes | None
    signature_algorithm: str
    signature: bytes


@dataclass(frozen=True)
class SignedData:
    """A parsed detached CMS signature; :meth:`verify` checks it against a content digest."""

    digest_algorithm: str  # hashlib name the content must be hashed with
    certificates: tuple[x509.Certificate, ...]
    signers: tuple[_Signer, ...]

    def verify(self, digest: bytes, certificates: tuple[x509.Certificate, ...] = ()) -> x509.Certificate:
        """Check every signer against ``digest`` (of the content, by ``digest_algorithm``).

        ``certificates`` are looked at after those inside the CMS.  Returns the first signer's
        certificate.  Raises CmsError when a signer's certificate is missing, the digest
        differs, or a signature does not verify.
        """
        found = None
        for signer in self.signers:
            try:
                cert = _certificate_of(signer.sid, self.certificates + tuple(certificates))
            except CmsError:
                raise
            except (IndexError, ValueError) as exc:  # a malformed signer identifier
                raise CmsError(f"the signer identifier is malformed ({exc})") from None
            if signer.signed_attributes is not None:
                if signer.message_digest != digest:
                    raise CmsError("the signed content digest differs: the signed file was changed")
                _check(cert, signer, signer.signed_attributes, prehashed=False)
            else:
                _check(cert, signer, digest, prehashed=True)
            found = found or cert
        return found


def load(blob: bytes | str) -> SignedData:
    """Parse a detached CMS SignedData given as DER or as PEM (``BEGIN CMS``/``PKCS7``).

    Raises CmsError when it is not one, uses a digest other than SHA-224/256/384/512, or
    its signers use different digests.
    """
    text = blob.decode("ascii", "replace") if isinstance(blob, bytes) else blob
    match = _PEM.search(text)
    if match:
        try:
            der = base64.b64decode("".join(match.group(2).split()), validate=True)
        except (binascii.Error, ValueError):
            raise CmsError("the signature block is not valid base64") from None
    elif isinstance(blob, bytes):
        der = blob
    else:
        raise CmsError("no -----BEGIN CMS----- block")
    try:
        root, _ = _parse(der, 0)
        return _signed_data(root)
    except (IndexError, AttributeError):
        raise CmsError("not a CMS SignedData structure") from None


def _signed_data(root: _Node) -> SignedData:
    if root.tag != 0x30 or len(root.children) < 2 or _oid(root.children[0]) != _SIGNED_DATA:
        raise CmsError("not a CMS SignedData structure")
    body = root.children[1].children[0]
    parts = list(body.children)
    certificates: list[x509.Certificate] = []
    for part in parts[3:-1]:
        if part.tag == 0xA0:
            for item in part.children:
                if item.tag == 0x30:
                    try:
                        certificates.append(x509.load_der_x509_certificate(item.raw))
                    except ValueError:
                        raise CmsError("a certificate inside the signature cannot be read") from None
    signers = tuple(_signer(node) for node in parts[-1].children)
    if not signers:
        raise CmsError("the signature has no signer")
    algorithms = {s.digest_algorithm for s in signers}
    if len(algorithms) != 1:
        raise CmsError("the signers use different digest algorithms")
    return SignedData(algorithms.pop(), tuple(certificates), signers)


def _signer(node: _Node) -> _Signer:
    parts = list(node.children)
    sid, digest_node = parts[1], parts[2]
    digest = _DIGESTS.get(_oid(digest_node.children[0]))
    if digest is None:
        raise CmsError(f"unsupported signature digest {_oid(digest_node.children[0])} "
                       "(use SHA-224, SHA-256, SHA-384 or SHA-512)")
    index, attributes, message_digest = 3, None, None
    if parts[3].tag == 0xA0:
        attributes = b"\x31" + _der_length(len(parts[3].content)) + parts[3].content
        for attribute in parts[3].children:
            if _oid(attribute.children[0]) == _MESSAGE_DIGEST:
                message_digest = attribute.children[1].children[0].content
        if message_digest is None:
            raise CmsError("the signed attributes hold no message digest")
        index = 4
    algorithm = _oid(parts[index].children[0])
    return _Signer(sid, digest, attributes, message_digest, algorithm, parts[index + 1].content)


def _certificate_of(sid: _Node, certificates: tuple[x509.Certificate, ...]) -> x509.Certificate:
    for cert in certificates:
        if sid.tag == 0x30:  # issuerAndSerialNumber
            issuer, serial = sid.children[0], sid.children[1]
            if cert.serial_number == int.from_bytes(serial.content, "big", signed=True) and \
                    cert.issuer.public_bytes() == issuer.raw:
                return cert
        elif sid.tag == 0x80:  # subjectKeyIdentifier
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.content:
                return cert
    raise CmsError("the signer's certificate is neither in the signature nor among the package's certificates")


def _check(cert: x509.Certificate, signer: _Signer, data: bytes, *, prehashed: bool) -> None:
    algorithm = _HASHES[signer.digest_algorithm]()
    chosen = Prehashed(algorithm) if prehashed else algorithm
    try:
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and signer.signature_algorithm in _RSA:
            key.verify(signer.signature, data, padding.PKCS1v15(), chosen)
        elif isinstance(key, rsa.RSAPublicKey) and signer.signature_algorithm == _RSA_PSS:
            key.verify(signer.signature, data, padding.PSS(padding.MGF1(algorithm), padding.PSS.AUTO), chosen)
        elif isinstance(key, ec.EllipticCurvePublicKey) and signer.signature_algorithm in _ECDSA:
            key.verify(signer.signature, data, ec.ECDSA(chosen))
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)) and \
                signer.signature_algorithm in _EDDSA and not prehashed:
            key.verify(signer.signature, data)
        else:
            raise CmsError(f"unsupported signature algorithm {signer.signature_algorithm} for a "
                           f"{type(key).__name__.removesuffix('PublicKey')} key")
    except InvalidSignature:
        raise CmsError(f"the signature does not verify with the certificate of "
                       f"{cert.subject.rfc4514_string()}") from None
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise CmsError(f"the signature cannot be checked: {exc}") from None


def load_certificates(blob: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM file (or the one of a DER file); CmsError when there is none."""
    try:
        if b"-----BEGIN" in blob:
            certificates = tuple(x509.load_pem_x509_certificates(blob))
        else:
            certificates = (x509.load_der_x509_certificate(blob),)
    except ValueError:
        raise CmsError("not a PEM or DER X.509 certificate") from None
    if not certificates:
        raise CmsError("holds no certificate")
    return certificates
