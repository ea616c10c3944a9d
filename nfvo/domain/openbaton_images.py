"""The images of an Open Baton Metadata.yaml: the deprecated ``image`` block and the ``images``
repository, each turned into an :class:`~nfvo.domain.images.ImageRequest` (see
:mod:`nfvo.domain.openbaton` for the rules), with the links they name checked (http(s),
``docker://`` or a bare Docker reference that only a Docker VIM can pull)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from nfvo.domain import openbaton_values as values
from nfvo.domain.archive import normalise_member_name
from nfvo.domain.images import UPLOAD_VALUES, ImageConfig, ImageRequest, upload_value
from nfvo.domain.sources import SourceDoc, child_pointer
from nfvo.errors import Issue


def legacy_image(doc: SourceDoc, image_files: tuple[str, ...], vim_types: tuple[str, ...],
                  issues: list[Issue]) -> ImageRequest | None:
    image = doc.data["image"]
    if not isinstance(image, dict):
        return None
    upload = upload_value(image.get("upload"))
    if "upload" in image and upload is None:
        issues.append(doc.issue("/image/upload", f"upload must be one of {', '.join(UPLOAD_VALUES)} "
                                                 f"(got {image['upload']!r})"))
    ids, names = values.texts(image.get("ids")), values.texts(image.get("names"))
    link = _link(doc, "/image/link", image.get("link"), issues)
    issues.extend(_pull_issues(doc, "/image/link", "image.link", image.get("link"), vim_types))
    file = None
    if isinstance(image.get("file"), str):
        file, _ = normalise_member_name(image["file"])
        if file not in image_files:
            issues.append(doc.issue("/image/file", f"'{image['file']}' is not a file in the "
                                                   "package's images/ folder"))
        if link:
            issues.append(doc.issue("/image", "give either image.link or image.file, not both"))
    elif upload in ("true", "check") and not link:
        if len(image_files) == 1:
            file = image_files[0]
        else:
            several = (f" (images/ holds {len(image_files)} files)"
                       if image_files else "")
            issues.append(doc.issue("/image", f"upload '{upload}' needs image.link or image.file "
                                              f"to upload from{several}"))
    if upload in ("false", "check") and not ids and not names:
        issues.append(doc.issue("/image", f"upload '{upload}' needs image.ids or image.names "
                                          "to look the image up on the VIM"))
    config = _legacy_config(doc, upload, issues)
    if upload is None:
        return None
    return ImageRequest(key="image", upload=upload, ids=ids, names=names, link=link, file=file,
                        config=config, source_line=doc.line_of("/image"))


def _legacy_config(doc: SourceDoc, upload: str | None, issues: list[Issue]) -> ImageConfig | None:
    config = doc.data.get("image-config")
    may_upload = upload in ("true", "check")
    if config is None and "image-config" not in doc.data:
        if may_upload:
            issues.append(doc.issue("/image-config", f"'image-config' is required when upload "
                                                     f"is '{upload}'"))
        return None
    if not isinstance(config, dict):
        return None
    if may_upload:
        for key in ("name", "diskFormat", "containerFormat"):
            if key not in config:
                issues.append(doc.issue(f"/image-config/{key}",
                                        f"'{key}' is required when upload is '{upload}'"))
    return _image_config(config.get("name"), config)


def repository_images(doc: SourceDoc, image_files: tuple[str, ...], vim_types: tuple[str, ...],
                       issues: list[Issue]) -> tuple[ImageRequest, ...]:
    images = doc.data["images"]
    if not isinstance(images, dict):
        return ()
    if not images:
        issues.append(doc.issue("/images", "'images' must name at least one image"))
    requests = []
    for name, entry in images.items():
        pointer = child_pointer("/images", name)
        from_key = not (isinstance(entry, dict) and (entry.get("url") or "file" in entry))
        if name in ("", ".", "..") or (from_key and ("/" in name or "\\" in name)):
            issues.append(doc.issue(pointer, f"image name {name!r} cannot be a file name in images/"))
            continue
        if not isinstance(entry, dict):
            if entry is None:
                issues.append(doc.issue(pointer, f"image '{name}' needs diskFormat and containerFormat"))
            continue
        url = _link(doc, f"{pointer}/url", entry.get("url") or None, issues)
        issues.extend(_pull_issues(doc, f"{pointer}/url", "url", entry.get("url"), vim_types))
        file = _repository_file(doc, image_files, name, entry, issues)
        requests.append(ImageRequest(key=name, upload="check", names=(name,), link=url, file=file,
                                     config=_image_config(name, entry),
                                     source_line=doc.line_of(pointer), pointer=pointer))
    return tuple(requests)


def _repository_file(doc: SourceDoc, image_files: tuple[str, ...], name: str, entry: dict,
                     issues: list[Issue]) -> str | None:
    """The package file of an ``images:`` entry: the one ``file`` names, else ``images/<name>``."""
    pointer = child_pointer("/images", name)
    if entry.get("url"):
        if "file" in entry:
            issues.append(doc.issue(pointer, f"image '{name}': give either url or file, not both"))
        return None
    if "file" not in entry:
        file = f"images/{name}"
        if file not in image_files:
            issues.append(doc.issue(pointer, f"image '{name}' has no url and the package has no file {file}"))
        return file
    if not isinstance(entry["file"], str):
        return None  # reported by the schema
    file, _ = normalise_member_name(entry["file"])
    if file not in image_files:
        issues.append(doc.issue(f"{pointer}/file", f"'{entry['file']}' is not a file in the package's "
                                                   "images/ folder"))
        return None
    return file


def _image_config(name: Any, config: dict) -> ImageConfig | None:
    """The ImageConfig, or None when a part is missing or invalid (already reported)."""
    disk, container = config.get("diskFormat"), config.get("containerFormat")
    counts = [values.count(config.get(key, 0)) for key in ("minCPU", "minDisk", "minRam")]
    public = values.flag(config.get("isPublic", False))
    if not all(isinstance(v, str) and v for v in (name, disk, container)):
        return None
    if None in counts or public is None:
        return None
    return ImageConfig(name=name, disk_format=disk.lower(), container_format=container.lower(),
                       min_cpu=counts[0], min_disk=counts[1], min_ram=counts[2], is_public=public)


# links --------------------------------------------------------------------------------
_REGISTRY_REFERENCE = re.compile(r"^docker://[A-Za-z0-9][A-Za-z0-9._:/@\[\]-]*$")
# A bare Docker reference, as github.com/distribution/reference reads one (sha256 digests only):
# [domain[:port]/]path-component[/path-component...][:tag][@sha256:<64 hex>]
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOCKER_REFERENCE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?)/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?", re.ASCII)


def _is_docker_reference(value: Any) -> bool:
    """Whether ``value`` is a bare Docker image reference (``mongo:latest``, ``acme/fw:1.2``)."""
    if not isinstance(value, str) or len(value) > 255:
        return False
    match = _DOCKER_REFERENCE.fullmatch(value)
    if not match:
        return False
    # Docker reads the first component as a registry only with a '.' or ':' (or as localhost);
    # otherwise it is a path component, which is lower case.
    domain = match["domain"]
    return domain is None or domain == domain.lower() or "." in domain or ":" in domain


def _link(doc: SourceDoc, pointer: str, value: Any, issues: list[Issue]) -> str | None:
    """An http(s) URL, or a registry reference for VIMs that pull images themselves: a
    ``docker://`` link (``docker://host:port/repo:tag``, ``docker://busybox:1.36``,
    ``...@sha256:<digest>``) or a bare Docker reference, returned as ``docker://<reference>``."""
    if not isinstance(value, str) or not value:
        return None
    if value.lower().startswith("docker://"):
        if _REGISTRY_REFERENCE.match(value):
            return value
        issues.append(doc.issue(pointer, f"'{value}' is not a docker://registry/repository[:tag] reference"))
        return None
    if _is_docker_reference(value):
        return f"docker://{value}"
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. "http://[x": an unclosed IPv6 literal
        valid = False
    if not valid:
        issues.append(doc.issue(pointer, f"'{value}' is not an http or https URL" if "://" in value else
                                f"'{value}' is neither an http or https URL nor a Docker image reference"))
        return None
    return value


def _pull_issues(doc: SourceDoc, pointer: str, field: str, value: Any, vim_types: tuple[str, ...]) -> list[Issue]:
    """An error when ``value`` is a bare Docker reference and a VIM type is not docker: only a
    Docker VIM pulls such an image (no vim_types: nothing to check)."""
    others = [t for t in vim_types if t.lower() != "docker"]
    if not others or not _is_docker_reference(value):
        return []
    kinds = ", ".join(f"'{t}'" for t in others)
    return [doc.issue(pointer, f"{field} '{value}' is a Docker image reference; "
                               f"VIM type{'s' if len(others) > 1 else ''} {kinds} cannot use it")]

