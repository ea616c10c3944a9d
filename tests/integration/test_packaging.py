"""The built distribution carries what a non-editable install needs at run time."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_holds_migrations_and_schemas(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("nfvo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"nfvo/db/migrations/env.py", "nfvo/db/migrations/script.py.mako", "nfvo/schemas/vnfd.json",
            "nfvo/schemas/metadata.json"} <= names
    versions = {n for n in names if n.startswith("nfvo/db/migrations/versions/") and n.endswith(".py")}
    assert versions == {f"nfvo/db/migrations/versions/{p.name}" for p in (ROOT / "nfvo/db/migrations/versions").glob("*.py")}
