"""The examples of docs/store.md run as shown; the ranged reader serves zipfile on any backend."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from nfvo.store import ContentStore, installed
from nfvo.store.filesystem import FilesystemStore

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "store.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", DOC, re.S)


def test_the_usage_example_runs(tmp_path):
    usage = BLOCKS[0].replace("file:///var/lib/nfvo/store", (tmp_path / "store").as_uri())
    namespace: dict = {}
    exec(compile(usage, "docs/store.md", "exec"), namespace)  # noqa: S102 - the doc's own example
    assert namespace["blob"].size == len(b"first part, second part")
    assert (tmp_path / "store" / "blobs").is_dir()


def test_the_kit_example_runs_the_whole_kit(tmp_path):
    module = tmp_path / "test_mystore.py"
    module.write_text(BLOCKS[1])
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b2\d passed", result.stdout), result.stdout[-500:]


def test_the_documented_entry_point_group_is_the_one_read():
    assert "nfvo.content_stores =" in DOC and {b.scheme for b in installed()} >= {"file"}


def test_the_default_ranged_reader_serves_zipfile(tmp_path):
    store = FilesystemStore((tmp_path / "store").as_uri())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for n in range(50):
            z.writestr(f"m{n}", bytes([n]) * (n * 40000))
    sha = store.put([buffer.getvalue()]).sha256
    with ContentStore.seekable(store, sha) as f, zipfile.ZipFile(f) as z:  # the ranged reader, not the file
        assert type(f).__name__ == "BufferedReader"
        assert [z.read(f"m{n}") for n in (49, 3, 0)] == [bytes([49]) * 1960000, bytes([3]) * 120000, b""]
        f.seek(-22, io.SEEK_END)
        assert f.read(4) == b"PK\x05\x06"
