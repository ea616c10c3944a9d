"""docs/formats.md: its example format, registered through a real entry point, passes the kit.

The doc's ``python file=...`` and ``toml file=pyproject.toml`` blocks are written to a
directory with a dist-info holding the entry points pyproject.toml declares, so that
``importlib.metadata`` finds the format as it would an installed distribution; the doc's
test module then runs in a pytest of its own with that directory on its path.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

from nfvo.formats.conformance import FormatConformance
from nfvo.formats.registry import GROUP
from tests.unit.test_docs import blocks


def test_the_example_format_passes_the_conformance_kit(tmp_path):
    files = {m["file"]: content for _, m, content in blocks("formats.md") if "file" in m}
    assert sorted(files) == ["nfvo_format_simple.py", "pyproject.toml", "test_nfvo_format_simple.py"]
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    project = tomllib.loads(files["pyproject.toml"])["project"]
    points = project["entry-points"][GROUP]
    dist = tmp_path / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()))

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_nfvo_format_simple.py"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    kit = [name for name in dir(FormatConformance) if name.startswith("test_")]
    assert f"{len(kit)} passed" in run.stdout, run.stdout[-2000:]  # every test of the kit ran
