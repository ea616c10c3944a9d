"""Every Open Baton image-resolution row against the real local driver on a temporary store."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
from nfvo_driver_local import LocalDriver
from nfvo_plugin_sdk import ImageSpec, VimSpec
from nfvo_plugin_sdk.conformance import GeneratorStream, chunks_of

from nfvo.domain.images import ImageConfig, ImageRequest, decide, lookups_needed
from nfvo.errors import ImageResolutionFailed, ImageVerificationFailed
from nfvo.streams import HashingReader, sha256_of

pytestmark = pytest.mark.integration

PACKAGE_IMAGE = b"package image " * 50_000  # what the package's images/ubuntu.qcow2 holds
CONTENT = {"A": b"image A " * 10_000, "B": b"image B " * 10_000, "P": PACKAGE_IMAGE}
UNKNOWN = str(uuid.UUID(int=0))

# row id, images seeded on the VIM (alias, name, content key), upload, ids, names, expected:
#   ("use", alias) | ("upload", images named 'ubuntu' afterwards, reused alias or None) | ("error", text)
ROWS = [
    ("true uploads although the name exists", [("a", "ubuntu", "A")], "true", [], ["ubuntu"],
     ("upload", 2, None)),
    ("true with the same content already there reuses it", [("a", "ubuntu", "P")], "true", [], [],
     ("upload", 1, "a")),
    ("false, id found", [("a", "ubuntu", "A"), ("b", "other", "B")], "false", ["@a"], [], ("use", "a")),
    ("false, two ids match two images", [("a", "ubuntu", "A"), ("b", "other", "B")], "false", ["@a", "@b"], [],
     ("error", "match 2 images")),
    ("false, id not found, name found", [("a", "ubuntu", "A")], "false", [UNKNOWN], ["ubuntu"], ("use", "a")),
    ("false, name found twice", [("a", "ubuntu", "A"), ("b", "ubuntu", "B")], "false", [], ["ubuntu"],
     ("error", "match 2 images")),
    ("false, nothing found", [("a", "other", "A")], "false", [UNKNOWN], ["ubuntu"],
     ("error", "use upload: check")),
    ("check, found by id", [("a", "ubuntu", "A")], "check", ["@a"], ["ubuntu"], ("use", "a")),
    ("check, found by name", [("a", "other", "A"), ("b", "ubuntu", "B")], "check", [UNKNOWN], ["ubuntu"],
     ("use", "b")),
    ("check, malformed id is just not found", [("b", "ubuntu", "B")], "check", ["../../etc"], ["ubuntu"],
     ("use", "b")),
    ("check, nothing found uploads", [("a", "other", "A")], "check", [UNKNOWN], ["ubuntu"], ("upload", 1, None)),
    ("check, name found twice", [("a", "ubuntu", "A"), ("b", "ubuntu", "B")], "check", [], ["ubuntu"],
     ("error", "match 2 images")),
    ("ids win over names", [("a", "ubuntu-old", "A"), ("b", "ubuntu", "B")], "check", ["@a"], ["ubuntu"],
     ("use", "a")),
]


@pytest.fixture
def driver(tmp_path):
    driver = LocalDriver(VimSpec(name="vim-a", type="local", auth_url="local://lab", data_dir=str(tmp_path / "data")))
    driver.check_connection()
    yield driver
    driver.close()


@pytest.fixture
def package_dir(tmp_path) -> Path:
    (tmp_path / "pkg" / "images").mkdir(parents=True)
    (tmp_path / "pkg" / "images" / "ubuntu.qcow2").write_bytes(PACKAGE_IMAGE)
    return tmp_path / "pkg"


def resolve(driver: LocalDriver, request: ImageRequest, package_dir: Path):
    """The steps nfvo.services.onboarding takes for a package file on one VIM, through the
    public policy and driver API: look up (unless ``upload: true``) and decide; to upload,
    reuse an image with the same bytes when one has the same size, else stream the file
    with its size and no checksum, and compare the sha256 the VIM reports with the bytes sent."""
    by_ids, by_names = {}, {}
    if lookups_needed(request):
        by_ids = {i: [img.id for img in driver.find_images(id=i)] for i in request.ids}
        by_names = {n: [img.id for img in driver.find_images(name=n)] for n in request.names}
    decision = decide(request, by_ids=by_ids, by_names=by_names, vim_name=driver.vim.name)
    if decision.action == "use":
        return decision, driver.get_image(decision.image_id)
    path = package_dir / request.file
    size = path.stat().st_size
    if any(image.size == size for image in driver.list_images()):
        with open(path, "rb") as stream:
            same = driver.find_images(sha256=sha256_of(stream)[0])
        if same:
            return decision, next((i for i in same if i.name == request.config.name), same[0])
    with open(path, "rb") as stream:
        reader = HashingReader(stream)
        image = driver.upload_image(request.config, reader, size=size)
    if image.sha256 and image.sha256 != reader.hexdigest():
        raise ImageVerificationFailed(f"VIM {driver.vim.name!r} stored {image.sha256}, nfvo sent {reader.hexdigest()}")
    return decision, image


@pytest.mark.parametrize("row, seeded, upload, ids, names, expected", ROWS, ids=[r[0] for r in ROWS])
def test_resolution_on_the_local_driver(driver, package_dir, row, seeded, upload, ids, names, expected):
    seeded_ids = {
        alias: driver.upload_image(ImageSpec(name=name), GeneratorStream(chunks_of(CONTENT[key]))).id
        for alias, name, key in seeded
    }
    request = ImageRequest(
        key="image", upload=upload, ids=tuple(seeded_ids.get(i[1:], i) for i in ids), names=tuple(names),
        file="images/ubuntu.qcow2", config=ImageConfig(name="ubuntu", disk_format="qcow2", min_ram=1024),
        source_line=7,
    )
    before = {i.id for i in driver.list_images()}

    if expected[0] == "error":
        with pytest.raises(ImageResolutionFailed) as info:
            resolve(driver, request, package_dir)
        assert expected[1] in info.value.detail and "vim-a" in info.value.detail
        assert info.value.errors[0].file == "Metadata.yaml" and info.value.errors[0].line == 7
        assert {i.id for i in driver.list_images()} == before  # nothing changed on the VIM
        return

    decision, image = resolve(driver, request, package_dir)
    if expected[0] == "use":
        assert decision.action == "use"
        assert image.id == decision.image_id == seeded_ids[expected[1]]
        assert {i.id for i in driver.list_images()} == before
        return

    _, named_ubuntu, reused = expected
    assert decision.action == "upload"
    digest = hashlib.sha256(PACKAGE_IMAGE).hexdigest()
    assert (image.name, image.sha256, image.size) == ("ubuntu", digest, len(PACKAGE_IMAGE))
    assert len(driver.find_images(name="ubuntu")) == named_ubuntu
    assert driver.blob_path(image).read_bytes() == PACKAGE_IMAGE
    if reused:  # same name and content: the driver hands back the seeded image
        assert image.id == seeded_ids[reused] and {i.id for i in driver.list_images()} == before
    else:
        assert image.min_ram == 1024  # created from image-config
        assert {i.id for i in driver.list_images()} == before | {image.id}
    blobs = set(os.listdir(driver.root / "blobs"))
    assert blobs == {hashlib.sha256(CONTENT[key]).hexdigest() for _, _, key in seeded} | {digest}
    assert os.listdir(driver.root / "tmp") == []

