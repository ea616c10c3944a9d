"""The local driver against the SDK conformance kit, plus what is specific to it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from nfvo_driver_local import LocalDriver
from nfvo_plugin_sdk import (
    DriverError,
    Flavor,
    ImageSpec,
    InvalidVimSpec,
    Network,
    VimSpec,
    VimUnavailable,
)
from nfvo_plugin_sdk.conformance import DriverConformance, GeneratorStream, chunks_of


def make_driver(data_dir, auth_url: str = "local://conformance") -> LocalDriver:
    return LocalDriver(VimSpec(name="local-test", type="local", auth_url=auth_url, data_dir=str(data_dir)))


class TestLocal(DriverConformance):
    @pytest.fixture
    def driver(self, tmp_path):
        driver = make_driver(tmp_path)
        driver.check_connection()
        yield driver
        driver.close()
        # nothing left over by the kit: every upload it made was deleted again
        root = tmp_path / "local" / "conformance"
        assert sorted(os.listdir(root / "blobs")) == []
        assert sorted(os.listdir(root / "tmp")) == []


# -- the kit itself ----------------------------------------------------------------------
def test_kit_classes_are_collected_only_through_a_subclass():
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-o", "python_classes=*Conformance Test*", __file__],
        capture_output=True, text=True, cwd=Path(__file__).parent, check=False,
    ).stdout
    items = [line for line in out.splitlines() if "::" in line]
    kit_tests = [n for n in dir(DriverConformance) if n.startswith("test_")]
    assert len(kit_tests) >= 20
    assert sorted(i.split("::")[-1] for i in items if "::TestLocal::" in i) == sorted(kit_tests)
    assert not [i for i in items if "Conformance::" in i], out


# -- VimSpec handling ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "auth_url, store",
    [("", "default"), ("local://", "default"), ("local://lab-1", "lab-1"), ("local://A.b_c", "A.b_c")],
)
def test_store_comes_from_auth_url(tmp_path, auth_url, store):
    driver = make_driver(tmp_path, auth_url)
    assert driver.root == tmp_path / "local" / store
    assert not (tmp_path / "local").exists()  # __init__ touches nothing


@pytest.mark.parametrize(
    "auth_url", ["local://..", "local://.hidden", "local://a/b", "local://" + "x" * 65, "http://x", "file:///tmp"]
)
def test_bad_store_is_invalid_vim_spec(tmp_path, auth_url):
    with pytest.raises(InvalidVimSpec):
        make_driver(tmp_path, auth_url)


def test_empty_data_dir_is_invalid_vim_spec():
    with pytest.raises(InvalidVimSpec):
        LocalDriver(VimSpec(name="v", type="local", data_dir=""))


def test_unwritable_store_is_vim_unavailable(tmp_path):
    (tmp_path / "local").write_text("a file where the store directory should be")
    driver = make_driver(tmp_path)
    with pytest.raises(VimUnavailable) as info:
        driver.check_connection()
    assert info.value.retryable


def test_stores_are_separate(tmp_path):
    a, b = make_driver(tmp_path, "local://a"), make_driver(tmp_path, "local://b")
    image = a.upload_image(ImageSpec(name="x"), GeneratorStream([b"abc"]))
    assert [i.id for i in a.list_images()] == [image.id] and b.list_images() == []


# -- layout --------------------------------------------------------------------------------
def test_layout_blob_by_hash_and_json_record(tmp_path):
    driver = make_driver(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 5)
    spec = ImageSpec(name="vm", disk_format="raw", min_cpu=2, min_disk=5, min_ram=2048, is_public=True)
    image = driver.upload_image(spec, GeneratorStream(chunks_of(data)))
    digest = hashlib.sha256(data).hexdigest()
    root = tmp_path / "local" / "conformance"
    assert (root / "blobs" / digest).read_bytes() == data
    record = json.loads((root / "images" / f"{image.id}.json").read_text())
    assert record == {**image.to_dict(), "size": len(data), "sha256": digest}
    assert (record["name"], record["disk_format"], record["min_ram"], record["is_public"]) == ("vm", "raw", 2048, True)


def test_records_share_a_blob_until_the_last_is_deleted(tmp_path):
    driver = make_driver(tmp_path)
    a = driver.upload_image(ImageSpec(name="a"), GeneratorStream([b"same"]))
    b = driver.upload_image(ImageSpec(name="b"), GeneratorStream([b"same"]))
    blob = driver.blob_path(a)
    assert a.id != b.id and blob == driver.blob_path(b)
    driver.delete_image(a.id)
    assert blob.read_bytes() == b"same"
    driver.delete_image(b.id)
    assert not blob.exists()


def test_hostile_ids_are_simply_not_found(tmp_path):
    driver = make_driver(tmp_path)
    driver.check_connection()
    (tmp_path / "secret.json").write_text("{}")
    assert driver.find_images(id="../../../secret") == []
    driver.delete_image("../../../secret")
    assert (tmp_path / "secret.json").exists()


def test_size_mismatch_is_checksum_mismatch_and_leaves_nothing(tmp_path):
    driver = make_driver(tmp_path)
    with pytest.raises(DriverError):
        driver.upload_image(ImageSpec(name="a"), GeneratorStream([b"abc"]), size=4)
    root = tmp_path / "local" / "conformance"
    assert driver.list_images() == [] and os.listdir(root / "blobs") == os.listdir(root / "tmp") == []


def test_stream_errors_pass_through_and_leave_nothing(tmp_path):
    def broken():
        yield b"x" * 1000
        raise OSError("connection reset by the package server")

    driver = make_driver(tmp_path)
    with pytest.raises(OSError, match="connection reset") as info:
        driver.upload_image(ImageSpec(name="a"), GeneratorStream(broken()))
    assert not isinstance(info.value, DriverError)
    assert os.listdir(tmp_path / "local" / "conformance" / "tmp") == []


def test_memory_stays_flat_for_a_large_image(tmp_path):
    driver = make_driver(tmp_path)
    block = os.urandom(1024 * 1024)
    tracemalloc.start()
    try:
        image = driver.upload_image(ImageSpec(name="big"), GeneratorStream(block for _ in range(64)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert image.size == 64 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 64 MiB upload"


# -- flavors / networks --------------------------------------------------------------------
def test_default_flavor_and_network(tmp_path):
    driver = make_driver(tmp_path)
    assert driver.list_flavors() == [Flavor(id="m1.small", name="m1.small", vcpus=1, ram=2048, disk=20)]
    assert driver.list_networks() == [Network(id="local", name="local", external=False)]


def test_flavors_and_networks_from_store_files(tmp_path):
    driver = make_driver(tmp_path)
    driver.check_connection()
    (driver.root / "flavors.json").write_text(json.dumps([{"name": "big", "vcpus": 8, "ram": 16384, "disk": 80}]))
    (driver.root / "networks.json").write_text(json.dumps([{"id": "n1", "name": "public", "external": True}]))
    assert driver.list_flavors() == [Flavor(id="big", name="big", vcpus=8, ram=16384, disk=80)]
    assert driver.list_networks() == [Network(id="n1", name="public", external=True)]
    (driver.root / "networks.json").write_text("[{")
    with pytest.raises(DriverError):
        driver.list_networks()


# -- several processes ---------------------------------------------------------------------
WORKER = """
import os, sys, time
from nfvo_plugin_sdk import ImageSpec, VimSpec
from nfvo_plugin_sdk.conformance import GeneratorStream, chunks_of
from nfvo_driver_local import LocalDriver

data_dir, go, mode, tag = sys.argv[1:5]
driver = LocalDriver(VimSpec(name="p", type="local", auth_url="local://conformance", data_dir=data_dir))
while not os.path.exists(go):
    time.sleep(0.005)
if mode == "same":
    image = driver.upload_image(ImageSpec(name="same"), GeneratorStream(chunks_of(b"\\x07" * (2 << 20))))
    print(image.id)
else:
    for round_ in range(5):
        image = driver.upload_image(ImageSpec(name=f"p{tag}-{round_}"), GeneratorStream([b"shared" * 1000]))
        # our record holds the blob, whatever the other processes delete meanwhile
        assert driver.blob_path(image).read_bytes() == b"shared" * 1000
        driver.delete_image(image.id)
"""


def run_processes(tmp_path, mode: str, count: int) -> list[str]:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(go), mode, str(i)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(count)
    ]
    go.touch()  # start together
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * count, [err for _, err in results]
    return [out.strip() for out, _ in results]


def test_concurrent_identical_uploads_make_one_image(tmp_path):
    ids = run_processes(tmp_path, "same", 6)
    driver = make_driver(tmp_path)
    assert len(set(ids)) == 1
    assert [i.id for i in driver.list_images()] == ids[:1]
    root = tmp_path / "local" / "conformance"
    assert len(os.listdir(root / "blobs")) == 1 and os.listdir(root / "tmp") == []


def test_concurrent_upload_and_delete_of_a_shared_blob(tmp_path):
    run_processes(tmp_path, "churn", 4)
    root = tmp_path / "local" / "conformance"
    assert make_driver(tmp_path).list_images() == []
    assert os.listdir(root / "blobs") == [] and os.listdir(root / "tmp") == []


def test_parts_abandoned_by_a_killed_upload_are_dropped_and_live_ones_kept(tmp_path):
    driver = LocalDriver(VimSpec(name="v", type="local", data_dir=str(tmp_path)))
    driver.check_connection()
    tmp = driver.root / "tmp"
    abandoned, live = tmp / "upload-dead.part", tmp / "upload-live.part"
    abandoned.write_bytes(b"half an image")
    live.write_bytes(b"being written")
    old = time.time() - 2 * 3600
    os.utime(abandoned, (old, old))
    driver.upload_image(ImageSpec(name="x"), io.BytesIO(b"content"))
    assert not abandoned.exists() and live.exists()


def test_store_failures_are_driver_errors_never_raw_os_or_type_errors(tmp_path):
    driver = LocalDriver(VimSpec(name="v", type="local", data_dir=str(tmp_path)))
    image = driver.upload_image(ImageSpec(name="x"), io.BytesIO(b"content"))
    (driver.root / "images" / f"{image.id}.json").write_text('{"id": "only an id"}')
    with pytest.raises(DriverError, match="corrupt image record"):
        driver.get_image(image.id)
    shutil.rmtree(driver.root / "tmp")
    (driver.root / "tmp").write_text("a file where the store keeps its temporary files")
    with pytest.raises(VimUnavailable):
        driver.create_flavor("f", vcpus=1, ram=1, disk=1)


# -- images from a file range: copied in the kernel, not hashed again -----------------------
def test_file_range_is_copied_and_filed_under_the_given_digest_without_hashing(tmp_path):
    driver = make_driver(tmp_path / "vim")
    image, wrapped = os.urandom(3 * 2**20 + 5), tmp_path / "package.tar"
    wrapped.write_bytes(b"h" * 512 + image + b"t" * 1024)
    # The digest nfvo gives is taken as it is: a driver that hashed again would refuse this one.
    given = hashlib.sha256(b"what nfvo computed").hexdigest()
    made = driver.upload_image_file(ImageSpec(name="disk"), str(wrapped), offset=512, size=len(image), sha256=given)
    assert (made.sha256, made.size) == (given, len(image))
    assert driver.blob_path(made).read_bytes() == image
    assert os.listdir(driver.root / "tmp") == []


def test_content_the_store_holds_is_not_copied_again(tmp_path):
    driver = make_driver(tmp_path / "vim")
    data = os.urandom(2**20)
    first = driver.upload_image(ImageSpec(name="a"), io.BytesIO(data))
    # The path does not exist: the blob is there already, so the file is never opened.
    second = driver.upload_image_file(ImageSpec(name="b"), str(tmp_path / "gone"), size=len(data),
                                      sha256=first.sha256)
    assert second.id != first.id and second.sha256 == first.sha256
    assert driver.blob_path(second).read_bytes() == data
    assert driver.upload_image_file(ImageSpec(name="b"), str(tmp_path / "gone"), size=len(data),
                                    sha256=first.sha256).id == second.id


def test_a_whole_file_on_the_same_filesystem_becomes_the_blob_as_a_hard_link(tmp_path):
    driver = make_driver(tmp_path / "vim")
    data = os.urandom(2**20 + 3)
    source = tmp_path / "download.img"
    source.write_bytes(data)
    made = driver.upload_image_file(ImageSpec(name="linked"), str(source), size=len(data),
                                    sha256=hashlib.sha256(data).hexdigest())
    blob = driver.blob_path(made)
    assert os.path.samefile(blob, source)  # no byte copied
    source.unlink()  # the caller removes its file: the image keeps its bytes
    assert blob.read_bytes() == data
    assert os.listdir(driver.root / "tmp") == []
