"""The day-0 drive of a deployment: rendered bootstrap files as an ISO 9660 image, written to a file object.

Two layouts, chosen by the package's ``nocloud`` flag:

* OpenStack config-drive, volume label ``config-2``: a file mounted under ``/openstack/``
  is written at that path (``openstack/latest/user_data``, ``meta_data.json``,
  ``vendor_data.json``).  Every other file is written at its mount point from the drive's
  root (``/iosxe_config.txt``, ``/ciscosdwan_cloud_init.cfg``, where appliances look for
  them) and also as ``openstack/content/0000``, ``0001``, ... listed in
  ``openstack/latest/meta_data.json`` as ``{"path": <mount point>, "content_path":
  "/content/NNNN"}``, so that cloud-init writes it at that path in the guest.  A
  ``meta_data.json`` the package renders is kept, with these entries added to its ``files``
  and a ``uuid`` added when it has none; without one, nfvo writes ``{"uuid", "files"}``
  (plus ``hostname`` and ``name`` when given).
* NoCloud, volume label ``cidata``: ``/openstack/latest/user_data`` is written as
  ``user-data``, ``meta_data.json`` as ``meta-data`` and ``vendor_data.json`` as
  ``vendor-data``; every other file at its mount point.  A missing ``meta-data`` is written
  as ``instance-id: <id>`` (and ``local-hostname``), a missing ``user-data`` as an empty file.

Names on the drive: Rock Ridge and Joliet carry the real names (up to 64 characters, the
Joliet limit); the plain ISO 9660 names are 8.3 upper-case forms made unique per folder.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import BinaryIO

import pycdlib

from nfvo.domain.nfvis.declarations import mount_path
from nfvo.domain.nfvis.model import NOCLOUD_NAMES
from nfvo.errors import Issue, ValidationFailed

CONFIG_DRIVE_LABEL = "config-2"
NOCLOUD_LABEL = "cidata"
META_DATA = "openstack/latest/meta_data.json"
_NOT_D_CHARACTER = re.compile(r"[^A-Z0-9_]")


def drive_files(files: Iterable[Mapping], *, nocloud: bool = False, instance_id: str | None = None,
                hostname: str | None = None) -> dict[str, bytes]:
    """Path on the drive (no leading ``/``) -> bytes, for the ``files`` of a day-0 answer
    (``{"mountPoint", "name", "content"}``; content is text, written as UTF-8).

    Raises ValidationFailed when two files land on one path, a file and a folder share a
    path, or a rendered meta_data.json that must list content files is not a JSON object.
    """
    instance_id = instance_id or str(uuid.uuid4())
    placed: dict[str, bytes] = {}
    owners: dict[str, str] = {}
    content: list[dict[str, str]] = []

    def put(path: str, data: bytes, owner: str) -> None:
        if path in placed:
            raise ValidationFailed(f"two day-0 files at {path} on the drive",
                                   errors=[Issue(f"'{owner}' and '{owners[path]}' are both written at {path}",
                                                 file=owner)])
        placed[path], owners[path] = data, owner

    for entry in files:
        path = mount_path(entry["mountPoint"])
        data = entry["content"].encode("utf-8") if isinstance(entry["content"], str) else bytes(entry["content"])
        name = entry.get("name") or path
        if nocloud:
            put(NOCLOUD_NAMES.get(path, path), data, name)
        elif path.startswith("openstack/"):
            put(path, data, name)
        else:
            put(path, data, name)
            content_path = f"content/{len(content):04d}"
            put(f"openstack/{content_path}", data, name)
            content.append({"path": f"/{path}", "content_path": f"/{content_path}"})
    if nocloud:
        if "meta-data" not in placed:
            lines = [f"instance-id: {instance_id}"] + ([f"local-hostname: {hostname}"] if hostname else [])
            put("meta-data", ("\n".join(lines) + "\n").encode(), "meta-data")
        placed.setdefault("user-data", b"")
    else:
        placed[META_DATA] = _meta_data(placed.get(META_DATA), owners.get(META_DATA), content, instance_id, hostname)
    _check_folders(placed, owners)
    return placed


def _meta_data(given: bytes | None, owner: str | None, content: list[dict[str, str]], instance_id: str,
               hostname: str | None) -> bytes:
    if given is None:
        meta: dict = {"uuid": instance_id}
        if hostname:
            meta.update(hostname=hostname, name=hostname)
        if content:
            meta["files"] = content
        return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()
    try:
        meta = json.loads(given.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("files", []), list):
        if not content:
            return given  # nothing to add: kept exactly as rendered
        raise ValidationFailed("the rendered meta_data.json cannot list the day-0 content files",
                               errors=[Issue("must be a JSON object (with files a list) to list the files under "
                                             "openstack/content/", file=owner)])
    meta.setdefault("uuid", instance_id)
    if content:
        meta["files"] = [*meta.get("files", []), *content]
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()


def _check_folders(placed: Mapping[str, bytes], owners: Mapping[str, str]) -> None:
    for path in placed:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        while parent:
            if parent in placed:
                raise ValidationFailed(f"{parent} on the day-0 drive is both a file and a folder",
                                       errors=[Issue(f"'{owners.get(parent, parent)}' is written at {parent}, "
                                                     f"where {path} needs a folder", file=owners.get(parent))])
            parent = parent.rsplit("/", 1)[0] if "/" in parent else ""


def write_iso(files: Iterable[Mapping], out: BinaryIO, *, nocloud: bool = False, instance_id: str | None = None,
              hostname: str | None = None) -> list[str]:
    """Write the day-0 drive of ``files`` (see :func:`drive_files`) to ``out``; returns the paths written.

    ``out`` needs ``write`` (and ``seek``/``tell``, as any regular file or BytesIO has).
    Raises ValidationFailed as :func:`drive_files` does.
    """
    placed = drive_files(files, nocloud=nocloud, instance_id=instance_id, hostname=hostname)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, rock_ridge="1.09", vol_ident=NOCLOUD_LABEL if nocloud else
            CONFIG_DRIVE_LABEL)
    names = _IsoNames()
    made: set[str] = set()
    for path in sorted(placed):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder not in made:
                iso.add_directory(names.of(folder, directory=True), rr_name=parts[depth - 1],
                                  joliet_path=f"/{folder}")
                made.add(folder)
        data = placed[path]
        iso.add_fp(io.BytesIO(data), len(data), names.of(path), rr_name=parts[-1], joliet_path=f"/{path}")
    iso.write_fp(out)
    iso.close()
    return sorted(placed)


class _IsoNames:
    """Unique 8.3 ISO 9660 names (``USER_DAT.;1``) for the real paths of one drive."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {"": ""}
        self._taken: dict[str, set[str]] = {}

    def of(self, path: str, *, directory: bool = False) -> str:
        if path in self._paths:
            return self._paths[path]
        parent, _, name = path.rpartition("/")
        parent_iso = self.of(parent, directory=True) if parent else ""
        taken = self._taken.setdefault(parent_iso, set())
        stem, extension = name.upper(), ""
        if "." in name and not directory:
            stem, _, extension = stem.rpartition(".")
        stem = _NOT_D_CHARACTER.sub("_", stem)[:8] or "_"
        extension = _NOT_D_CHARACTER.sub("_", extension)[:3]
        candidate, counter = stem, 0
        while self._form(candidate, extension, directory) in taken:
            counter += 1
            candidate = stem[:8 - len(str(counter))] + str(counter)
        form = self._form(candidate, extension, directory)
        taken.add(form)
        self._paths[path] = f"{parent_iso}/{form}"
        return self._paths[path]

    @staticmethod
    def _form(stem: str, extension: str, directory: bool) -> str:
        return stem if directory else f"{stem}.{extension};1"
