"""The lock files against setup.cfg and against the environment the tests run in."""

from __future__ import annotations

import configparser
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?: ;[^\\\n]*)?(?: \\)?\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)*)",
                 re.MULTILINE)
OWN = {"nfvo", "nfvo-plugin-sdk", "nfvo-driver-local", "nfvo-driver-docker", "nfvo-driver-openstack"}


def pins(name: str) -> dict[str, tuple[str, int]]:
    """``{package: (version, number of hashes)}`` of requirements/NAME."""
    text = (ROOT / "requirements" / name).read_text()
    return {canonicalize_name(m[1]): (m[2], m[3].count("--hash=")) for m in PIN.finditer(text)}


def declared(*, extras: tuple[str, ...] = ()) -> list[Requirement]:
    """Every requirement the project's setup.cfg files declare (with these extras of nfvo's)."""
    found = []
    for cfg in [ROOT / "setup.cfg", ROOT / "plugins/sdk/setup.cfg", *sorted(ROOT.glob("drivers/*/setup.cfg"))]:
        parser = configparser.ConfigParser()
        parser.read(cfg)
        lines = parser.get("options", "install_requires", fallback="").splitlines()
        for extra in extras if cfg == ROOT / "setup.cfg" else ():
            lines += parser.get("options.extras_require", extra).splitlines()
        found += [Requirement(line) for line in lines if line.strip()]
    return found


def test_every_locked_package_is_pinned_with_hashes():
    for name in ("lock.txt", "service.txt"):
        locked = pins(name)
        assert len(locked) > 50, f"requirements/{name} was not read"
        assert all(count >= 1 for _, count in locked.values()), [p for p, (_, c) in locked.items() if not c]


def test_the_lock_satisfies_every_declared_range():
    for lock, extras in (("lock.txt", ("test", "bench")), ("service.txt", ())):
        locked = pins(lock)
        for requirement in declared(extras=extras):
            name = canonicalize_name(requirement.name)
            if name in OWN:
                continue
            assert name in locked, f"{requirement} is not in requirements/{lock}; run make lock"
            assert requirement.specifier.contains(locked[name][0], prereleases=True), (
                f"requirements/{lock} pins {name}=={locked[name][0]}, outside {requirement}; run make lock")


def test_the_service_lock_is_within_the_full_lock():
    full, service = pins("lock.txt"), pins("service.txt")
    assert {name: version for name, (version, _) in service.items()} == {
        name: full[name][0] for name in service}


def test_the_tests_run_on_exactly_the_locked_versions():
    locked = {name: version for name, (version, _) in pins("lock.txt").items()}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    differ = {name: (locked.get(name), version) for name, version in installed.items()
              if name not in OWN and locked.get(name) != version}
    assert not differ, f"installed versions differ from requirements/lock.txt (locked, installed): {differ}; run make install"
