"""The VM sizes a package asks for, created on the VIMs its images go to."""

from __future__ import annotations

from collections.abc import Iterable

import nfvo_plugin_sdk as sdk

from nfvo.db.models import VimInstance
from nfvo.errors import WARNING, Issue
from nfvo.formats.base import FlavourRequest, Package
from nfvo.services.context import Context
from nfvo.services.vims import connected


def create_flavours(ctx: Context, package: Package, vims: Iterable[VimInstance]) -> list[Issue]:
    """Creates every flavour of ``package`` on each VIM of ``vims`` whose driver declares
    ``create_flavor`` (idempotent: one of that name and sizes is used as it is).

    Returns a WARNING (not a validation finding: strict validation does not refuse for it) for
    each VIM whose driver cannot create flavours, naming the flavours to create there by hand,
    and for each flavour whose name the VIM holds with other sizes (left as it is). Errors
    reaching the VIM are raised as the service's VIM errors, as for images."""
    if not package.flavours:
        return []
    notes = []
    for vim in vims:
        with connected(ctx, vim) as driver:
            if sdk.CREATE_FLAVOR not in driver.capabilities:
                names = ", ".join(f"{f.name} ({_sizes(f)})" for f in package.flavours)
                notes.append(_note(package.flavours[0], f"VIM {vim.name!r} ({vim.type}) cannot create flavours: "
                                                        f"create {names} there to deploy this package's profiles"))
                continue
            for flavour in package.flavours:
                try:
                    driver.create_flavor(flavour.name, vcpus=flavour.vcpus, ram=flavour.ram, disk=flavour.disk)
                except sdk.DriverConflict:
                    notes.append(_note(flavour, f"VIM {vim.name!r} has a flavour {flavour.name!r} of other sizes "
                                                f"than {_sizes(flavour)}; it is left as it is"))
    return notes


def _sizes(flavour: FlavourRequest) -> str:
    return f"{flavour.vcpus} vCPU, {flavour.ram} MB RAM, {flavour.disk} GB disk"


def _note(flavour: FlavourRequest, message: str) -> Issue:
    at = flavour.at or Issue("")
    return Issue(message, at.file, at.line, at.pointer, WARNING)
