"""Value types exchanged between nfvo and VIM drivers (frozen, no behaviour)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

#: Version of the driver contract.  A driver built for another version is refused.
API_VERSION = 1


@dataclass(frozen=True)
class VimSpec:
    """One VIM instance as registered in nfvo: what a driver needs to reach it.

    ``type`` is the driver's entry-point name (``local``, ``openstack``).  ``extra``
    holds driver-specific settings (a private copy; do not mutate).  ``data_dir`` is a directory nfvo gives
    drivers for their own state; it is shared by all VIM instances of this nfvo, so a
    driver keeps each instance's state in a sub-directory of its own.
    """

    name: str
    type: str
    auth_url: str = ""
    tenant: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, repr=False)  # may hold secrets
    data_dir: str = ""

    def __post_init__(self) -> None:
        # a private copy (a plain dict, so asdict/pickle work); treat it as read-only
        object.__setattr__(self, "extra", dict(self.extra))


@dataclass(frozen=True)
class ImageSpec:
    """How to create an image (Open Baton ``image-config``); sizes in GB/MB as the VIM uses."""

    name: str
    disk_format: str = "qcow2"
    container_format: str = "bare"
    min_cpu: int = 0
    min_disk: int = 0
    min_ram: int = 0
    is_public: bool = False


@dataclass(frozen=True)
class Image:
    """An image as a VIM reports it.  ``size``/``sha256`` are ``None`` when the VIM does not know."""

    id: str
    name: str
    disk_format: str
    container_format: str
    size: int | None
    sha256: str | None
    min_cpu: int = 0
    min_disk: int = 0
    min_ram: int = 0
    is_public: bool = False
    status: str = "active"
    created_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass(frozen=True)
class Flavor:
    """A VM size offered by a VIM (``ram`` in MB, ``disk`` in GB)."""

    id: str
    name: str
    vcpus: int
    ram: int
    disk: int


@dataclass(frozen=True)
class Network:
    """A network a VIM offers."""

    id: str
    name: str
    external: bool = False
