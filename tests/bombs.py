"""Real compression bombs and huge-but-harmless packages for the archive limit tests, written cheaply.

A gzip file may hold several members one after the other, read as one stream: a block of
zeros compressed once and repeated gives gigabytes of tar content from a few MB of file,
without compressing gigabytes.  A CSAR's zero image is deflated while it is streamed in.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

from tests import csar_builder as cb

BLOCK = 64 * 2**20  # zeros compressed once, repeated
IMAGE = "Files/images/iperf-server.img"
VNFD = "Definitions/iperf_server.yaml"


def gzip_tar_bomb(path: Path, files: dict[str, bytes], bomb: str, size: int) -> Path:
    """A tar.gz at ``path`` holding ``files`` and then member ``bomb`` of ``size`` zeros
    (``size`` a multiple of BLOCK), its header honest about the size."""
    assert size % BLOCK == 0
    head = io.BytesIO()
    with tarfile.open(fileobj=head, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    # tarfile wrote its end blocks at close; keep only the members, then add the bomb's header.
    members = _strip_end(head.getvalue())
    info = tarfile.TarInfo(bomb)
    info.size = size
    header = info.tobuf(tarfile.PAX_FORMAT)
    zeros = gzip.compress(bytes(BLOCK), compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(members + header))
        for _ in range(size // BLOCK):
            out.write(zeros)
        out.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE)))
    return path


def _strip_end(tar_bytes: bytes) -> bytes:
    """The members of a finished tar, without its end-of-archive zero blocks."""
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        last = tar.getmembers()[-1]
    end = last.offset_data + -(-last.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
    return tar_bytes[:end]


def zero_image_csar(path: Path, size: int, *, descriptor_id: str | None = None) -> Path:
    """The example CSAR with its image replaced by ``size`` zero bytes (a raw disk of zeros),
    deflated as it is written; the VNFD's checksum and size and the manifest match it."""
    chunk, digest = bytes(min(size, 2**20)), hashlib.sha256()
    for _ in range(size // len(chunk)):
        digest.update(chunk)
    files = {k: v for k, v in cb.example_files().items() if k not in (IMAGE, cb.MANIFEST)}
    old = hashlib.sha256(cb.example_files()[IMAGE]).hexdigest()
    files[VNFD] = files[VNFD].replace(old.encode(), digest.hexdigest().encode()).replace(
        b"size: 1 KiB", f"size: {size} B".encode())
    if descriptor_id:
        types = "Definitions/iperf_types.yaml"
        files[types] = files[types].replace(b"5b2f3c3e-5d43-4b4e-9a8e-4f1c2d7e9a10", descriptor_id.encode())
    manifest = cb.manifest(files) + f"\nSource: {IMAGE}\nAlgorithm: SHA-256\nHash: {digest.hexdigest()}\n"
    files[cb.MANIFEST] = manifest.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        info = zipfile.ZipInfo(IMAGE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as target:
            for _ in range(size // len(chunk)):
                target.write(chunk)
    return path
