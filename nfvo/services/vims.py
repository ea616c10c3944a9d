"""VIM instances: register (checked through the driver), list, show, images, delete."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import nfvo_plugin_sdk as sdk
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nfvo import drivers
from nfvo.db.models import PackageImage, VimInstance
from nfvo.errors import (
    Conflict,
    DuplicateVim,
    ImageVerificationFailed,
    InUse,
    Issue,
    NotFound,
    ValidationFailed,
    VimFailed,
    VimNotFound,
    VimRejectedCredentials,
    VimUnavailable,
    VimUnsupported,
)
from nfvo.services import secrets
from nfvo.services.context import Context, in_project

_DRIVER_ERRORS = [
    (sdk.VimUnavailable, VimUnavailable),
    (sdk.VimAuthFailed, VimRejectedCredentials),
    (sdk.ImageNotFound, NotFound),
    (sdk.DriverConflict, Conflict),
    (sdk.Unsupported, VimUnsupported),
    (sdk.ChecksumMismatch, ImageVerificationFailed),
    (sdk.InvalidVimSpec, ValidationFailed),
]


@contextlib.contextmanager
def driver_errors(vim_name: str) -> Iterator[None]:
    """Turns the SDK's driver errors into the service's, naming the VIM."""
    try:
        yield
    except sdk.DriverError as exc:
        cls = next((ours for theirs, ours in _DRIVER_ERRORS if isinstance(exc, theirs)), VimFailed)
        error = cls(f"VIM {vim_name!r}: {exc}")
        error.retryable = exc.retryable  # the driver knows whether trying again can help
        raise error from exc


def spec_for(ctx: Context, vim: VimInstance) -> sdk.VimSpec:
    """What the driver gets: the Open Baton fields, and in ``extra`` the VIM's ``properties``
    and decrypted ``secrets`` merged (secrets win), plus keyPair, securityGroups and location."""
    fields = dict(vim.fields or {})
    stored = secrets.decrypt(ctx.settings.secret_key, fields.pop("secrets_enc", None))
    extra = {k: v for k, v in fields.items() if k not in ("properties", "secret_keys")}
    extra.update(fields.get("properties", {}))
    extra.update(json.loads(stored) if stored else {})
    return sdk.VimSpec(
        name=vim.name,
        type=vim.type,
        auth_url=vim.auth_url or "",
        tenant=vim.tenant,
        username=vim.username,
        password=secrets.decrypt(ctx.settings.secret_key, vim.password_enc),
        extra=extra,
        data_dir=str(ctx.settings.vim_data_dir),
    )


@contextlib.contextmanager
def connected(ctx: Context, vim: VimInstance) -> Iterator[sdk.VimDriver]:
    """A driver for ``vim``, closed afterwards; driver errors come out as service errors."""
    with driver_errors(vim.name):
        driver = drivers.connect(spec_for(ctx, vim))
        try:
            yield driver
        finally:
            driver.close()


def refresh(ctx: Context, vim: VimInstance) -> dict:
    """Checks the connection and reads images, flavours and networks (Open Baton's refresh):
    ``{"images": [sdk.Image], "flavours": [sdk.Flavor], "networks": [sdk.Network]}``."""
    with connected(ctx, vim) as driver:
        driver.check_connection()
        return {"images": driver.list_images(), "flavours": driver.list_flavors(), "networks": driver.list_networks()}


def register(ctx: Context, project_id: str, data: dict) -> tuple[VimInstance, dict]:
    """Creates a VIM instance after the driver checked the connection.

    Raises DriverNotInstalled/DriverBroken for the type, VimUnavailable or
    VimRejectedCredentials when the check fails, DuplicateVim for a taken name.
    """
    drivers.load(data["type"])
    known = {"name", "type", "authUrl", "tenant", "username", "password", "secrets"}
    fields = {k: v for k, v in data.items() if k not in known and v is not None}
    if data.get("secrets"):
        fields["secret_keys"] = sorted(data["secrets"])
        fields["secrets_enc"] = secrets.encrypt(ctx.settings.secret_key, json.dumps(data["secrets"]))
    vim = VimInstance(
        project_id=project_id,
        name=data["name"],
        type=data["type"],
        auth_url=data.get("authUrl") or "",
        tenant=data.get("tenant"),
        username=data.get("username"),
        password_enc=secrets.encrypt(ctx.settings.secret_key, data.get("password")),
        fields=fields,
    )
    state = refresh(ctx, vim)
    try:
        with ctx.transaction() as session:
            session.add(vim)
    except IntegrityError:
        raise DuplicateVim(f"Project already has a VIM instance named {data['name']!r}") from None
    return vim, state


def get(ctx: Context, project_id: str, vim_id: str) -> VimInstance:
    with ctx.session() as session:
        return in_project(session, VimInstance, vim_id, project_id, VimNotFound, "VIM instance")


def list_(ctx: Context, project_id: str) -> list[VimInstance]:
    with ctx.session() as session:
        return list(session.scalars(select(VimInstance).where(VimInstance.project_id == project_id).order_by(VimInstance.name)))


def images(ctx: Context, project_id: str, vim_id: str) -> list[sdk.Image]:
    vim = get(ctx, project_id, vim_id)
    with connected(ctx, vim) as driver:
        return driver.list_images()


def delete(ctx: Context, project_id: str, vim_id: str) -> None:
    """Raises InUse while an onboarded package still uses images on this VIM."""
    with ctx.transaction() as session:
        vim = in_project(session, VimInstance, vim_id, project_id, VimNotFound, "VIM instance")
        users = session.scalars(select(PackageImage.package_id).where(PackageImage.vim_id == vim_id).distinct()).all()
        if users:
            raise InUse(
                f"VIM {vim.name!r} holds images of onboarded packages",
                errors=[Issue(f"used by package {p}") for p in users],
            )
        session.delete(vim)
