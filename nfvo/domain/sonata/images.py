"""The images a SONATA function asks for, as nfvo image requests.

A unit's ``vm_image`` (a CDU's ``image``) is, in this order: a file of the package (its path
as listed, or relative to the descriptor's folder), uploaded and verified against the
listing's digest and ``vm_image_md5`` while it streams; an ``http(s)`` URL, downloaded (and
verified against ``vm_image_md5`` before any VIM sees it); the ``vendor.name.version`` of a
5GTANGO image reference (a ``.ref`` file of the package: its ``source`` URL, downloaded and
verified against its ``hash``); otherwise the name of an image that must already exist on the
VIM (a Docker image name, say). ``file://`` before a package path is dropped. ``vm_image_format`` gives the disk
format; ``docker`` is the container format ``docker``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass

from nfvo.domain.images import ImageConfig, ImageRequest
from nfvo.domain.sonata.common import text
from nfvo.domain.sonata.functions import Function
from nfvo.domain.sonata.manifests import ALGORITHMS, Content, member_name
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue

#: vm_image_format -> (disk format, container format)
FORMATS = {"docker": ("raw", "docker"), "ova": ("vmdk", "ova"), "ovf": ("vmdk", "ovf"), "bare": ("raw", "bare")}


@dataclass(frozen=True)
class Reference:
    """A 5GTANGO image reference: where the image is and its digest, and where the file says so."""

    source: str
    digest: tuple[str, str] | None
    file: str
    line: int | None


def references(docs: list[SourceDoc], issues: list[Issue]) -> dict[str, Reference]:
    """The image references of ``docs`` by ``vendor.name.version``; one without a source URL, or
    with an unknown algorithm, is an error at its line."""
    found = {}
    for doc in docs:
        data = doc.data if isinstance(doc.data, dict) else {}
        identity = [text(doc, f"/{k}", data.get(k)) for k in ("vendor", "name", "version")]
        source = data.get("source")
        if not all(identity) or not isinstance(source, str) or not source.startswith(("http://", "https://")):
            issues.append(doc.issue("", "an image reference needs vendor, name, version and an http(s) source"))
            continue
        digest = None
        if isinstance(data.get("hash"), str) and data["hash"]:
            algorithm = ALGORITHMS.get(str(data.get("algorithm")).lower().replace("-", ""))
            if algorithm is None:
                issues.append(doc.issue("/algorithm", f"unknown hash algorithm {data.get('algorithm')!r}"))
                continue
            digest = (algorithm, data["hash"].lower())
        found[".".join(identity)] = Reference(source, digest, doc.file, doc.line_of("/source"))
    return found


def requests(function: Function, archive, contents: Mapping[str, Content], issues: list[Issue],
             refs: Mapping[str, Reference] = {}  # noqa: B006
             ) -> tuple[list[ImageRequest], dict[str, dict[str, str]]]:
    """One request per unit with an image, and the digests each image member must have; a VM unit
    without ``vm_image`` is an error (there is nothing to put on a VIM for it)."""
    found, expected = [], {}
    for unit in function.units:
        image_key = "vm_image" if unit.kind == "vm" else "image"
        at = child_pointer(unit.pointer, image_key)
        if unit.image is None:
            issues.append(function.source.issue(at, f"no {image_key}: nfvo has no image to put on a VIM for "
                                                    f"{unit.id!r}"))
            continue
        disk, container = FORMATS.get(unit.image_format or "", (unit.image_format or "qcow2", "bare"))
        key = f"{function.vendor}/{function.name}/{function.version}/{unit.id}"
        base = dict(key=key, config=None, source_file=function.file, source_line=function.source.line_of(at),
                    pointer=at, stated=False)
        member = _member(function.file, unit.image, archive)
        md5 = ("md5", unit.image_md5.lower()) if unit.image_md5 else None
        md5_at = child_pointer(unit.pointer, "vm_image_md5") if md5 else None
        name = f"{function.name}-{function.version}-{unit.id}"
        config = ImageConfig(name=name, disk_format=disk, container_format=container, min_disk=unit.disk,
                             min_ram=unit.ram)
        if member is not None:
            content = contents.get(member)
            if md5:
                expected[member] = {"md5": md5[1]}
            listed = next(iter(content.digests.items()), None) if content else None
            digest = md5 or listed
            found.append(ImageRequest(**{**base, "config": config}, upload="true", names=(name,), file=member,
                                      size=archive.members[member].size, digest=digest, digest_pointer=md5_at))
        elif (ref := refs.get(unit.image)) is not None:
            found.append(ImageRequest(**{**base, "config": config, "source_file": ref.file,
                                         "source_line": ref.line, "pointer": "/source"},
                                      upload="true", names=(name,), link=ref.source, digest=ref.digest,
                                      digest_pointer="/hash" if ref.digest else None))
        elif unit.image.startswith(("http://", "https://")):
            found.append(ImageRequest(**{**base, "config": config}, upload="true", names=(name,), link=unit.image,
                                      digest=md5, digest_pointer=md5_at))
        else:
            config = ImageConfig(name=unit.image, disk_format=disk, container_format=container)
            found.append(ImageRequest(**{**base, "config": config}, upload="false", names=(unit.image,)))
    return found, expected


def _member(descriptor: str, image: str, archive) -> str | None:
    """The package file ``image`` names: as listed (from the root), else beside the descriptor."""
    image = image.removeprefix("file://")
    if archive is None or "://" in image:
        return None
    for candidate in (member_name(image), posixpath.normpath(posixpath.join(posixpath.dirname(descriptor), image))):
        if candidate and not candidate.startswith("../") and archive.exists(candidate):
            return candidate
    return None
