"""The built distribution carries what a non-editable install needs at run time."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_holds_migrations_and_schemas(tmp_path):
    # built from a copy: a build writes nfvo.egg-info into its source tree, which would then shadow
    # the installed metadata (entry points) of every process started in the checkout
    source = tmp_path / "src"
    shutil.copytree(ROOT / "nfvo", source / "nfvo", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(source)], check=True, capture_output=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("nfvo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"nfvo/db/migrations/env.py", "nfvo/db/migrations/script.py.mako", "nfvo/schemas/vnfd.json",
            "nfvo/schemas/metadata.json"} <= names
    versions = {n for n in names if n.startswith("nfvo/db/migrations/versions/") and n.endswith(".py")}
    assert versions == {f"nfvo/db/migrations/versions/{p.name}" for p in (ROOT / "nfvo/db/migrations/versions").glob("*.py")}


def test_service_install_script_installs_exactly_the_service_lock(tmp_path):
    """What docker-compose.yml runs, into a fresh venv: the locked versions, no test tools."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "NFVO_HOME": str(tmp_path / "home")}
    installed = subprocess.run(["sh", str(ROOT / "requirements/install-service.sh"), str(ROOT)], env=env,
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert "No broken requirements found." in installed.stdout
    freeze = subprocess.run([str(venv / "bin/python"), "-m", "pip", "list", "--format=freeze"], env=env,
                            capture_output=True, text=True, check=True).stdout
    versions = {canonicalize_name(name): version for name, version in (line.split("==") for line in freeze.split())}
    pins = [Requirement(line.rstrip(" \\")) for line in (ROOT / "requirements/service.txt").read_text().splitlines()
            if line[:1].isalnum()]
    locked = {canonicalize_name(pin.name): str(pin.specifier)[2:] for pin in pins
              if pin.marker is None or pin.marker.evaluate()}
    assert {name: versions.get(name) for name in locked} == locked
    assert "pytest" not in versions
    upgraded = subprocess.run([str(venv / "bin/nfvo"), "db", "upgrade"], env=env, capture_output=True, text=True)
    assert upgraded.returncode == 0 and "newest schema" in upgraded.stdout, upgraded.stderr
