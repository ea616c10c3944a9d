"""Finding VIM drivers: only through the entry-point group ``nfvo.vim_drivers``."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from nfvo_plugin_sdk import API_VERSION, VimDriver, VimSpec

from nfvo.errors import DriverBroken, DriverNotInstalled, Issue

GROUP = "nfvo.vim_drivers"


def installed() -> dict[str, EntryPoint]:
    """Entry-point name (the VIM ``type``) -> entry point, for every installed driver."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(vim_type: str) -> type[VimDriver]:
    """The driver class for ``vim_type``.

    Raises DriverNotInstalled when no distribution registers that name, and
    DriverBroken when the plugin cannot be imported, is not a VimDriver, or was built
    for another SDK API version.
    """
    ep = installed().get(vim_type)
    if ep is None:
        known = ", ".join(sorted(installed())) or "none"
        raise DriverNotInstalled(
            f"No VIM driver named {vim_type!r} is installed (installed: {known})",
            errors=[Issue(f"unknown VIM type {vim_type!r}", pointer="/type")],
        )
    try:
        cls = ep.load()
    except Exception as exc:  # a plugin's import can fail in any way
        raise DriverBroken(f"VIM driver {vim_type!r} ({ep.value}) cannot be imported: {exc!r}") from exc
    if not (isinstance(cls, type) and issubclass(cls, VimDriver)):
        raise DriverBroken(f"VIM driver {vim_type!r} ({ep.value}) is not a nfvo_plugin_sdk.VimDriver subclass")
    if getattr(cls, "api_version", None) != API_VERSION:
        raise DriverBroken(
            f"VIM driver {vim_type!r} ({ep.value}) speaks driver API {getattr(cls, 'api_version', None)}, "
            f"this nfvo speaks {API_VERSION}"
        )
    return cls


def connect(spec: VimSpec) -> VimDriver:
    """A driver instance for one VIM (no network I/O yet)."""
    return load(spec.type)(spec)
