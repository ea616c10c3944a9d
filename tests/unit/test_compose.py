"""docker-compose.yml holds together: every volume it mounts is declared, nfvo's services reach the
object store with the keys, region and bucket the object store is started with, and what the
object store's image copies exists (no Docker engine is needed to read the file)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _defaulted(value: str) -> str:
    """``${NAME:-default}`` as compose reads it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def test_every_named_volume_is_declared():
    used = {mount.split(":")[0] for service in SERVICES.values() for mount in service.get("volumes", [])
            if not mount.startswith((".", "/"))}
    assert used and used <= set(COMPOSE.get("volumes") or {}), used


def test_the_api_and_the_worker_share_no_nfvo_home_only_the_local_vim_stores():
    homes = {name: {m.split(":")[0]: m.split(":")[1] for m in SERVICES[name]["volumes"]} for name in ("api", "worker")}
    assert homes["api"]["api-home"] == homes["worker"]["worker-home"] == "/var/lib/nfvo"
    assert homes["api"]["vim-data"] == homes["worker"]["vim-data"] == "/var/lib/nfvo/vim-data"


def test_nfvo_reaches_the_object_store_as_it_is_started():
    store = {k: _defaulted(v) for k, v in SERVICES["object-store"]["environment"].items()}
    for name in ("api", "worker"):
        env = {k: _defaulted(v) for k, v in SERVICES[name]["environment"].items()}
        assert SERVICES[name]["depends_on"]["object-store"] == {"condition": "service_healthy"}
        assert urlsplit(env["NFVO_STORE_ENDPOINT"]).hostname == "object-store"
        assert urlsplit(env["NFVO_STORE_ENDPOINT"]).port == 8080  # the script's SWIFT_PORT default
        assert (env["NFVO_STORE_ACCESS_KEY"], env["NFVO_STORE_SECRET_KEY"], env["NFVO_STORE_REGION"]) == \
            (store["S3_ACCESS_KEY"], store["S3_SECRET_KEY"], store["S3_REGION"])
        assert urlsplit(env["NFVO_STORE_URL"]).hostname in [b.strip() for b in store["S3_BUCKETS"].split(",")]
    assert SERVICES["object-store"]["volumes"] == ["object-store:/srv/swift"]  # the script's SWIFT_DATA default


def test_the_object_store_image_copies_files_that_exist():
    build = SERVICES["object-store"]["build"]
    dockerfile = (ROOT / build["context"] / build["dockerfile"]).read_text()
    copied = re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE)
    assert copied and all((ROOT / build["context"] / source).is_file() for source in copied), copied
    assert "swift==2.38.3" in dockerfile
