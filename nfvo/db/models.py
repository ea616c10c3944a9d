"""The tables: projects, users, VIM instances, packages (and their SOL005 state), VNFDs, their images, NSDs, and jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A point in time, always read back as an aware datetime in UTC (``+00:00``), on SQLite as on
    PostgreSQL: SQLite keeps no time zone, so a value is written as UTC and read back as UTC;
    PostgreSQL's ``timestamptz`` answers in the session's zone, converted to UTC. A naive value
    written is taken to be UTC already. The column stays ``DateTime(timezone=True)``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @staticmethod
    def _utc(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return self._utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return self._utc(value)


class Base(DeclarativeBase):
    type_annotation_map = {dict: JSON, list: JSON, datetime: UtcDateTime}


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(512))
    email: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: goes up by one whenever the user is disabled: part of the token stamp, so that every token
    #: issued before a disable stays invalid after the user is enabled again
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    roles: Mapped[list[Role]] = relationship(back_populates="user", cascade="all, delete-orphan", lazy="selectin")


class Role(Base):
    """A user's role in one project: GUEST (read only), USER or ADMIN."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    user: Mapped[User] = relationship(back_populates="roles")


class LoginFailures(Base):
    """Failed password checks counted in one fixed window, for one key: a (user name, client
    address) pair, a client address or a user name, as a SHA-256 hex digest (see nfvo.services.auth)."""

    __tablename__ = "login_failures"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_end: Mapped[float] = mapped_column(Float, index=True)  # Unix time at which the count starts over


class VimInstance(Base):
    __tablename__ = "vim_instances"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    auth_url: Mapped[str] = mapped_column(String(1024), default="")
    tenant: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    password_enc: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class VnfPackage(Base):
    __tablename__ = "vnf_packages"
    __table_args__ = (UniqueConstraint("project_id", "identity", name="uq_vnf_packages_identity"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    identity: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(64), default="openbaton")  # the entry-point name of its format
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(64), default="1.0")
    nfvo_version: Mapped[str | None] = mapped_column(String(64))
    vim_types: Mapped[list] = mapped_column(default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255), default="")
    scripts_link: Mapped[str | None] = mapped_column(String(2048))
    scripts_commit: Mapped[str | None] = mapped_column(String(64))
    scripts: Mapped[list] = mapped_column(default=list)
    meta: Mapped[dict] = mapped_column(default=dict)
    warnings: Mapped[list] = mapped_column(default=list)  # the validation warnings it was onboarded with
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    vnfds: Mapped[list[Vnfd]] = relationship(back_populates="package", cascade="all, delete-orphan", passive_deletes=True)
    images: Mapped[list[PackageImage]] = relationship(cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class Vnfd(Base):
    __tablename__ = "vnfds"
    __table_args__ = (
        Index("ix_vnfds_catalogue", "project_id", "vendor", "name", "version"),
        Index("ix_vnfds_listing", "project_id", "created_at", "id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[str | None] = mapped_column(ForeignKey("vnf_packages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    package: Mapped[VnfPackage | None] = relationship(back_populates="vnfds")


#: Which VNFDs an NSD uses. No cascade from ``vnfds``: a VNFD in use cannot vanish under an NSD.
nsd_vnfds = Table(
    "nsd_vnfds",
    Base.metadata,
    Column("nsd_id", ForeignKey("nsds.id", ondelete="CASCADE"), primary_key=True),
    Column("vnfd_id", ForeignKey("vnfds.id"), primary_key=True, index=True),
)


class Nsd(Base):
    """A network service descriptor; ``body`` is the NSD JSON with each VNFD entry as a reference.
    ``package_id``: the package that brought it (a SONATA service), which it goes with."""

    __tablename__ = "nsds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    package_id: Mapped[str | None] = mapped_column(ForeignKey("vnf_packages.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    vendor: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    vnfds: Mapped[list[Vnfd]] = relationship(secondary=nsd_vnfds, lazy="selectin")


class PackageImage(Base):
    """An image a package uses on one VIM; ``uploaded`` when nfvo created it for this package."""

    __tablename__ = "package_images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(ForeignKey("vnf_packages.id", ondelete="CASCADE"), index=True)
    vim_id: Mapped[str] = mapped_column(ForeignKey("vim_instances.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[str] = mapped_column(String(255))
    image_name: Mapped[str] = mapped_column(String(255))
    request_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(2048))
    sha256: Mapped[str | None] = mapped_column(String(64))
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str] = mapped_column(Text, default="")


class PackageFile(Base):
    """A file an onboarded package keeps, as a blob of the content store: the package file itself
    (named as its format stores it), its scripts (``scripts/<name>``) and any other file its format
    keeps.  A blob stays in the store while a row (or an unfinished job) references it."""

    __tablename__ = "package_files"
    package_id: Mapped[str] = mapped_column(ForeignKey("vnf_packages.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)


class CreatedImage(Base):
    """An image nfvo created on a VIM (by any job). Such an image is nfvo's: it is removed once no
    committed package and no unfinished job uses it (see nfvo.services.image_ownership.release_image)."""

    __tablename__ = "created_images"
    vim_id: Mapped[str] = mapped_column(ForeignKey("vim_instances.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(36))  # the job that created it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Job(Base):
    """An onboarding run (or a catalogue image's distribution, ``kind`` distribute-image). The row
    is the truth; the broker message only says "run job X"."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="onboard")
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    step: Mapped[str] = mapped_column(String(64), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    upload_path: Mapped[str | None] = mapped_column(String(1024))
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # the package's blob in the content store
    size: Mapped[int | None] = mapped_column(BigInteger)
    member_digests: Mapped[list] = mapped_column(default=list)  # [offset, size, sha256] of large members
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    uploads: Mapped[list] = mapped_column(default=list)
    worker: Mapped[str | None] = mapped_column(String(255))
    package_id: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))  # a catalogue image's distribution job
    vim_ids: Mapped[list] = mapped_column(default=list)  # the VIMs a distribution job puts it on
    problem: Mapped[dict | None] = mapped_column()
    strict: Mapped[bool] = mapped_column(Boolean, default=False)  # validation warnings refuse the package
    warnings: Mapped[list] = mapped_column(default=list)  # of a succeeded job's package
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class EtsiPackage(Base):
    """The SOL005 side of a VNF package created at /vnfpkgm/v1: its states, user data, failure and
    VnfPkgInfo details. Its id is the package's id in both APIs; a ``vnf_packages`` row with the
    same id exists once it is ONBOARDED. ``onboarding_state`` is CREATED, UPLOADING, PROCESSING,
    ONBOARDED or ERROR (``failure`` then holds the problem); while PROCESSING, ``job_id``'s job
    decides (a failed job means ERROR). Open Baton packages get a row when first patched here."""

    __tablename__ = "etsi_packages"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    onboarding_state: Mapped[str] = mapped_column(String(16), default="CREATED")
    operational_state: Mapped[str] = mapped_column(String(16), default="DISABLED")
    user_defined_data: Mapped[dict] = mapped_column(default=dict)
    failure: Mapped[dict | None] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(String(36))
    info: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CatalogueImage(Base):
    """A gold image of the catalogue: curated once, its bytes a blob of the content store
    (``sha256``), put on VIMs when needed (:class:`CataloguePlacement`). ``previous_id``: the
    version it follows (same project and name). ``public``: every project may use it, only a
    system administrator may change it."""

    __tablename__ = "catalogue_images"
    __table_args__ = (UniqueConstraint("project_id", "name", "version", name="uq_catalogue_images_version"),
                      Index("ix_catalogue_images_listing", "project_id", "name", "created_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    disk_format: Mapped[str] = mapped_column(String(32), default="qcow2")
    container_format: Mapped[str] = mapped_column(String(32), default="bare")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    min_cpu: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)  # MB
    min_disk: Mapped[int] = mapped_column(Integer, default=0)  # GB
    os_distro: Mapped[str | None] = mapped_column(String(64))
    os_version: Mapped[str | None] = mapped_column(String(64))
    architecture: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list] = mapped_column(default=list)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(2048), default="")  # upload:<file name>, the link, ova:<file name>
    origin: Mapped[dict] = mapped_column(default=dict)  # what an imported OVF said of it
    previous_id: Mapped[str | None] = mapped_column(ForeignKey("catalogue_images.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    placements: Mapped[list[CataloguePlacement]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                                lazy="selectin")


class CataloguePlacement(Base):
    """Where a catalogue image is: the image it is on one VIM, and whether nfvo uploaded it there."""

    __tablename__ = "catalogue_placements"
    image_id: Mapped[str] = mapped_column(ForeignKey("catalogue_images.id", ondelete="CASCADE"), primary_key=True)
    vim_id: Mapped[str] = mapped_column(ForeignKey("vim_instances.id", ondelete="CASCADE"), primary_key=True,
                                        index=True)
    vim_image_id: Mapped[str] = mapped_column(String(255))
    vim_image_name: Mapped[str] = mapped_column(String(255))
    uploaded: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
