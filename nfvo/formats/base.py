"""What a package format is to nfvo: the contract every format plugin implements.

A format recognises its packages by content, reads one into a :class:`Package` (what one
onboarding run needs, in no format's terms), and answers a few questions about it while the
run goes on: which files to keep, what VNFD to store once images are on the VIMs, what to
record. The run itself (claim, heartbeat, VIM selection, image resolution and upload,
verification, one commit, clean-up) is nfvo's and the same for every format.

A format is pure: it reads files and returns values. What needs the network (a
``scripts-link`` clone) it asks of the :class:`Fetchers` it is handed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from nfvo.domain.archive import ArchiveLimits, Member
from nfvo.domain.images import ImageRequest
from nfvo.errors import Issue

#: The version of this contract; a format built for another one is refused as broken.
API_VERSION = 1


class Members(Protocol):
    """The files of an opened package: ``members`` by name, and a stream of one. A format whose
    package declares hashes verifies them in ``open_member`` (a wrong member fails its last read).

    Optionally ``locate(name) -> (path, offset) | None``: where a member's bytes lie unchanged in
    a file on this host (an uncompressed archive), so that an image can go to a VIM by a kernel
    copy instead of through Python; and ``offset_of(name) -> int | None``: where its bytes start
    in the package, local file or not (so that digests taken while the package arrived apply).
    Only a format whose ``open_member`` checks nothing beyond the archive's own bounds offers
    them; None (or no such method) means "stream it"."""

    members: Mapping[str, Member]

    def open_member(self, name: str) -> ContextManager[BinaryIO]: ...


@dataclass(frozen=True)
class VimChoice:
    """Which of a project's VIM instances the package's images go to, as the package says.

    ``types``: only VIMs of these types (empty: any); ``types_at``: the finding reported when the
    project has no VIM of these types (where the package says them). ``named``: VIM names the package gives, each with where it gives them (an
    Issue whose message is unused); images go to the named VIMs when there are any, else to every
    chosen VIM. A name that is no VIM of the project, or one of another type, is an error there.
    """

    types: tuple[str, ...] = ()
    types_at: Issue | None = None
    named: tuple[tuple[str, Issue], ...] = ()


@dataclass(frozen=True)
class FlavourRequest:
    """A VM size the package asks for: created on each chosen VIM whose driver can create
    flavours (``ram`` in MB, ``disk`` in GB); ``at`` says where the package defines it (an Issue
    whose message is unused)."""

    name: str
    vcpus: int
    ram: int
    disk: int
    at: Issue | None = None


@dataclass(frozen=True)
class NsdRequest:
    """An NS descriptor a package holds (a SONATA service): created with the package when every
    function it uses resolves, deleted with it. ``functions``: each VNFD it uses by vendor, name
    and version, with where the package names it (an Issue whose message is unused); ``body``:
    the NSD's own fields (nfvo adds ``id`` and the ``vnfd`` references)."""

    name: str
    vendor: str
    version: str
    functions: tuple[tuple[str, str, str, Issue], ...]
    body: dict


@dataclass(frozen=True)
class Package:
    """A package that passed every check of its format.

    ``identity``: the duplicate key; two packages of one project with equal keys are one package
    (``describe`` says it in messages, e.g. ``Package 'x' (vendor 'y', version '1')``).
    ``images``: every image it asks for; a request with a file is read from ``members``; a link
    with a declared ``digest`` is downloaded once and verified before it reaches any VIM.
    ``flavours``: the VM sizes it asks for (see :class:`FlavourRequest`).
    ``native``: the format's own reading, for its hooks.
    """

    format: str
    identity: tuple
    describe: str
    name: str
    vendor: str
    version: str
    images: tuple[ImageRequest, ...]
    members: Members
    vims: VimChoice = VimChoice()
    warnings: tuple[Issue, ...] = ()
    flavours: tuple[FlavourRequest, ...] = ()
    native: Any = None


@dataclass(frozen=True)
class Checkout:
    """A fetched git repository: its files (name -> path), the URL without credentials, the commit."""

    path: Path
    files: tuple[str, ...]
    url: str
    commit: str


@dataclass(frozen=True)
class Fetchers:
    """What nfvo fetches for a format, under its link policy: ``git(url, into)`` clones a repository."""

    git: Callable[[str, Path], Checkout]


@dataclass(frozen=True)
class Files:
    """What a format keeps of a package besides the package file itself.

    ``scripts``: lifecycle scripts by name (served under ``scripts/``); ``scripts_link`` and
    ``scripts_commit`` when they came from a repository; ``stored``: other files to keep next to
    the package, by the name to keep them under; ``issues``: findings made while collecting them.
    """

    scripts: Mapping[str, Path] = field(default_factory=dict)
    scripts_link: str | None = None
    scripts_commit: str | None = None
    stored: Mapping[str, Path] = field(default_factory=dict)
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True)
class Record:
    """What nfvo's package row says of the package: its NFVO version (if the format has one), its
    VIM types (None: those of the VIMs it went to) and the format's metadata, as shown by the API."""

    meta: dict
    nfvo_version: str | None = None
    vim_types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Day0:
    """A deployment's day-0 files, as a format renders them: ``profile`` (the flavour chosen, for
    formats that have them), ``files`` (``{"mountPoint", "name", "content"}`` each) and how a config
    drive holds them (``nocloud``: a NoCloud ``cidata`` drive, else an OpenStack ``config-2`` one)."""

    profile: dict | None
    files: list[dict]
    nocloud: bool = False


class PackageFormat(ABC):
    """One package format. Subclasses are registered under the entry-point group
    ``nfvo.package_formats``, the entry point's name being :attr:`name`.

    Instances hold no state; one is made per process.
    """

    api_version: ClassVar[int] = API_VERSION
    #: the entry-point name, also the ``format`` of its packages
    name: ClassVar[str]
    #: what the format is called in messages, e.g. "Open Baton VNF package"
    title: ClassVar[str]
    #: the name the package file is kept under, and its media type when served
    stored_as: ClassVar[str]
    media_type: ClassVar[str]
    #: detection order, lower first: a format whose packages another format could also take
    #: for its own (any tar is a candidate Open Baton package) comes last
    priority: ClassVar[int] = 100
    #: whether :meth:`open` takes ``opener``: then a package in a content store with no local
    #: file (S3) is read through ranged reads instead of being copied to the worker first
    opens_streams: ClassVar[bool] = False
    #: top-level VNFD keys that hold the package's own descriptor as written: stored unchanged
    #: (nfvo adds Open Baton entity ids to every other list item of a VNFD)
    verbatim_keys: ClassVar[tuple[str, ...]] = ()
    #: whether :meth:`package_info` gives the package's SOL005 view; a package of such a format
    #: uploaded through the Open Baton API gets its SOL005 record (in PROCESSING) at once
    own_package_info: ClassVar[bool] = False

    @abstractmethod
    def recognises(self, path: Path) -> bool:
        """Whether the file at ``path`` is a package of this format, by its content (cheap: a
        look at its first bytes or its member names). Never raises for a file of any content."""

    def recognises_directory(self, path: Path) -> bool:
        """Whether the directory ``path`` is laid out as an unpacked package of this format."""
        return False

    def build(self, directory: Path, out: Path) -> Path:
        """Packs an unpacked package (see :meth:`recognises_directory`) into the file ``out``."""
        raise NotImplementedError(f"{self.title}s cannot be built from a directory")

    @abstractmethod
    def open(self, path: Path, *, limits: ArchiveLimits, display_name: str, work: Path,
             strict: bool) -> ContextManager[Package]:
        """Reads and checks the package at ``path``; the Package stays readable (its members
        open) until the context ends. ``work`` is a private directory for the format's files.
        A format with :attr:`opens_streams` also takes ``opener=``: a callable that opens the
        package anew as a seekable binary stream at each call (``path`` then only names it).

        Raises ValidationFailed (or UnsafeArchive) listing every finding at once when one is an
        error, or any is under ``strict`` (see :func:`nfvo.domain.findings.settle`)."""

    @abstractmethod
    def summary(self, package: Package) -> list[str]:
        """Sentences on a valid package for ``nfvo package validate``, claiming only what an
        offline check can know; the first says which format it is."""

    def files(self, package: Package, fetch: Fetchers, work: Path) -> Files:
        """The files to keep besides the package file, collected into ``work`` (default: none)."""
        return Files()

    @abstractmethod
    def vnfd(self, package: Package, image_names: Mapping[str, list[str]]) -> dict:
        """The VNFD nfvo stores and serves, in the Open Baton form (``name``, ``vendor``,
        ``version``, ``vdu`` with ``vm_image``...), once the images are on the VIMs:
        ``image_names`` gives, per image request key, the names of the images it became.
        Raises ValidationFailed when the package cannot be deployed with them."""

    def vnfds(self, package: Package, image_names: Mapping[str, list[str]]) -> list[dict]:
        """Every VNFD of a package that holds several (a SONATA package's functions), in the order
        the package gives them, each as :meth:`vnfd` describes; the first is the package's own
        (the one its job and its SOL005 record show). Default: ``[vnfd(...)]``."""
        return [self.vnfd(package, image_names)]

    def nsds(self, package: Package) -> tuple[NsdRequest, ...]:
        """The NS descriptors the package holds (default: none). Each is created with the package
        once its functions resolve, to the package's own VNFDs first, then to the project's; one
        that does not resolve is not created, and a warning says why."""
        return ()

    @abstractmethod
    def record(self, package: Package) -> Record:
        """What nfvo's package row records of the package."""

    def day0(self, package: Package, payload: Any) -> Day0 | None:
        """The day-0 files of one deployment of the package, for ``payload`` (the format says what
        it holds); None when the format has no day-0 files. Raises ValidationFailed listing every
        problem of the payload, each at its JSON pointer. Secrets in the payload are never put
        into an exception or a log."""
        return None

    def package_info(self, package: Package, sizes: Mapping[str, int], sha256: str) -> dict | None:
        """The SOL005 view of the package (VnfPkgInfo attributes, and which files it serves), when
        the format has one of its own; None lets nfvo derive it from the package row. ``sizes``:
        the real size of every image file or link."""
        return None
