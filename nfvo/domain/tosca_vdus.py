"""The VDUs of a VNFD and their software images: ``sw_image_data`` and the SwImage artifact.

An image artifact is of type ``tosca.artifacts.nfv.SwImage`` or in TOSCA's short notation (the
file alone, ``sw_image: ../Files/images/x.img``), which on a VDU can only be its image, as
Tacker reads it.  The file is a path relative to the folder of the VNFD file that names it
(else to the package root), or an http(s) URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.domain.tosca_types import TypeModel, derives_from, node_pointer, package_path, props_pointer
from nfvo.domain.tosca_units import digest_name, hash_problem, size_in_bytes

SW_IMAGE = "tosca.artifacts.nfv.SwImage"


@dataclass(frozen=True)
class SwImage:
    """``sw_image_data`` of one VDU node, with the file or URL of its SwImage artifact.

    Sizes are in bytes.  ``algorithm`` is the hashlib name, ``hash`` lower-case hex.
    ``file`` is a package member, ``link`` an http(s) URL; neither is set when the node has
    no SwImage artifact (the image must then already be on the VIM).  ``source_file`` and
    ``pointer`` locate ``sw_image_data`` in the VNFD; ``artifact_pointer`` the artifact.
    """

    node: str
    name: str
    version: str
    algorithm: str
    hash: str
    container_format: str
    disk_format: str
    min_disk: int
    min_ram: int
    size: int
    file: str | None
    link: str | None
    source_file: str
    pointer: str
    line: int | None
    artifact_pointer: str | None = None
    operating_system: str | None = None


@dataclass(frozen=True)
class Vdu:
    """A ``Vdu.Compute`` or ``Vdu.VirtualBlockStorage`` node template (``kind`` compute/storage)."""

    node: str
    type: str
    kind: str
    name: str | None  # the ``name`` property of a Vdu.Compute
    image: SwImage | None
    flavour: str | None  # the deployment flavour whose topology template holds the node
    source_file: str
    pointer: str



def _image_artifacts(model: TypeModel, artifacts: dict) -> list[tuple[str, Any]]:
    """A VDU's software image artifacts: of type SwImage, or in short notation (a file alone), which
    on a VDU can only be its image (as Tacker reads it)."""
    return [(name, a) for name, a in artifacts.items()
            if (isinstance(a, str) and a.strip())
            or (isinstance(a, dict) and derives_from(model, "artifact", a.get("type"), SW_IMAGE))]


def read_vdu(model: TypeModel, doc: SourceDoc, node: str, body: dict, kind: str, flavour: str | None) -> Vdu:
    """The VDU a ``Vdu.Compute`` (``kind`` compute) or ``Vdu.VirtualBlockStorage`` (storage) node
    template describes, with its image; problems are appended to ``model.issues``."""
    pointer = node_pointer(node)
    props = body.get("properties") if isinstance(body.get("properties"), dict) else {}
    artifacts = body.get("artifacts") if isinstance(body.get("artifacts"), dict) else {}
    images = _image_artifacts(model, artifacts)
    artifacts_pointer = child_pointer(pointer, "artifacts")
    if len(images) > 1:
        model.issues.append(doc.issue(artifacts_pointer, f"a VDU has one {SW_IMAGE} artifact, not {len(images)}"))
    data = props.get("sw_image_data")
    data_pointer = props_pointer(node, "sw_image_data")
    image = None
    if images and not isinstance(data, dict):
        model.issues.append(doc.issue(child_pointer(artifacts_pointer, images[0][0]),
                                      f"a {SW_IMAGE} artifact needs the node's sw_image_data property"))
    elif isinstance(data, dict):
        file = link = art_pointer = None
        if images:
            name, artifact = images[0]
            art_pointer = child_pointer(artifacts_pointer, name)
            if isinstance(artifact, str):
                file, link = _artifact_target(model, doc, art_pointer, artifact)
            else:
                file, link = _artifact_target(model, doc, child_pointer(art_pointer, "file"), artifact.get("file"))
        image = _sw_image(model, doc, node, data, data_pointer, file, link, art_pointer)
    name = props.get("name") if isinstance(props.get("name"), str) else None
    return Vdu(node, body["type"], kind, name, image, flavour, doc.file, pointer)


def _artifact_target(model: TypeModel, doc: SourceDoc, pointer: str, value: Any) -> tuple[str | None, str | None]:
    """(member, None) or (None, URL) for an artifact's file: a path relative to the folder of the
    VNFD file that names it, else to the package root; or an http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    if "://" in value:
        try:
            parts = urlsplit(value)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            model.issues.append(doc.issue(pointer, f"'{value}' is neither a file in the package nor an http(s) URL"))
            return None, None
        return None, value
    relative = package_path(doc.file, value)
    if relative and model.files.exists(relative):
        return relative, None
    rooted = package_path("", value)
    if rooted and model.files.exists(rooted):
        return rooted, None
    if relative is None and rooted is None:
        model.issues.append(doc.issue(pointer, f"'{value}' leaves the package"))
    else:
        model.issues.append(doc.issue(pointer, f"the package has no file '{value}' "
                                               f"(looked for {relative or rooted})"))
    return None, None


def _sw_image(model: TypeModel, doc: SourceDoc, node: str, data: dict, pointer: str, file: str | None,
              link: str | None, artifact_pointer: str | None) -> SwImage | None:
    checksum = data.get("checksum") if isinstance(data.get("checksum"), dict) else {}
    algorithm = digest_name(checksum.get("algorithm"))
    if "algorithm" in checksum and algorithm is None:
        model.issues.append(doc.issue(f"{pointer}/checksum/algorithm",
                                      f"unsupported checksum algorithm {checksum['algorithm']!r} "
                                      "(use SHA-224, SHA-256, SHA-384 or SHA-512)"))
    elif algorithm and "hash" in checksum and (problem := hash_problem(algorithm, checksum["hash"])):
        model.issues.append(doc.issue(f"{pointer}/checksum/hash", problem))
        algorithm = None
    sizes = {}
    for key in ("min_disk", "size", "min_ram"):
        if key == "min_ram" and data.get(key) is None:
            sizes[key] = 0
            continue
        try:
            sizes[key] = size_in_bytes(data.get(key))
        except ValueError as exc:
            # usually reported by the property check; not when the package declared the data type again
            key_pointer = child_pointer(pointer, key)
            if not any(i.file == doc.file and (i.pointer or "").startswith(pointer) for i in model.issues):
                model.issues.append(doc.issue(key_pointer, f"{exc}: nfvo needs the image's {key} as a "
                                                           "scalar-unit.size"))
    texts = [data.get(k) for k in ("name", "version", "container_format", "disk_format")]
    if len(sizes) < 3 or algorithm is None or not all(isinstance(t, str) for t in texts) \
            or not isinstance(checksum.get("hash"), str):
        return None
    system = data.get("operating_system")
    return SwImage(node=node, name=texts[0], version=texts[1], algorithm=algorithm,
                   hash=checksum["hash"].lower(), container_format=texts[2], disk_format=texts[3],
                   min_disk=sizes["min_disk"], min_ram=sizes["min_ram"], size=sizes["size"], file=file, link=link,
                   source_file=doc.file, pointer=pointer, line=doc.line_of(pointer), artifact_pointer=artifact_pointer,
                   operating_system=system if isinstance(system, str) else None)
