"""The SDK's value types, error flags and VimDriver defaults."""

from __future__ import annotations

import dataclasses
import io
import pickle

import nfvo_plugin_sdk as sdk
import pytest
from nfvo_plugin_sdk import (
    ChecksumMismatch,
    DriverError,
    Image,
    ImageNotFound,
    ImageSpec,
    Unsupported,
    VimDriver,
    VimSpec,
    VimUnavailable,
)


def test_vim_spec_is_frozen_hashable_picklable_and_hides_password():
    extra = {"region": "r1"}
    vim = VimSpec(name="v", type="local", password="s3cret", extra=extra)
    extra["region"] = "changed later"
    assert vim.extra == {"region": "r1"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        vim.name = "w"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(vim)) == vim
    assert dataclasses.asdict(vim)["extra"] == {"region": "r1"}
    assert hash(vim) == hash(VimSpec(name="v", type="local", password="s3cret", extra={"other": 1}))
    assert "s3cret" not in repr(vim)
    assert (vim.auth_url, vim.data_dir, vim.tenant) == ("", "", None)


def test_image_to_dict_has_every_field():
    image = Image(id="1", name="n", disk_format="qcow2", container_format="bare", size=3, sha256="ab")
    assert image.to_dict() == {
        "id": "1", "name": "n", "disk_format": "qcow2", "container_format": "bare", "size": 3,
        "sha256": "ab", "min_cpu": 0, "min_disk": 0, "min_ram": 0, "is_public": False,
        "status": "active", "created_at": None,
    }


def test_only_vim_unavailable_is_retryable():
    flags = {name: getattr(sdk, name).retryable for name in sdk.errors.__all__}
    assert flags.pop("VimUnavailable") is True
    assert set(flags.values()) == {False}
    assert all(issubclass(getattr(sdk, n), DriverError) for n in sdk.errors.__all__)


def test_errors_keep_their_fields_through_pickle():
    err = pickle.loads(pickle.dumps(ChecksumMismatch(expected="a", actual="b")))
    assert (type(err), err.expected, err.actual, str(err)) == (
        ChecksumMismatch, "a", "b", "checksum mismatch: expected a, got b",
    )
    assert pickle.loads(pickle.dumps(ImageNotFound(image_id="x"))).image_id == "x"


class _Fixed(VimDriver):
    """A minimal driver over a fixed list, to exercise the base-class defaults."""

    def __init__(self, vim, images):
        super().__init__(vim)
        self.images = images

    def check_connection(self):
        return None

    def list_images(self):
        return list(self.images)

    def upload_image(self, spec, stream, *, size=None, sha256=None):
        raise Unsupported("read-only")

    def delete_image(self, image_id):
        return None


def _img(id, name, sha):
    return Image(id=id, name=name, disk_format="raw", container_format="bare", size=None, sha256=sha)


def test_vim_driver_is_abstract():
    with pytest.raises(TypeError):
        VimDriver(VimSpec(name="v", type="x"))  # type: ignore[abstract]
    assert VimDriver.capabilities == frozenset({"upload_stream"}) and VimDriver.disk_formats is None
    assert VimDriver.api_version == sdk.API_VERSION == 1


def test_default_find_get_and_optional_operations():
    d = _Fixed(VimSpec(name="v", type="x"), [_img("1", "a", "s1"), _img("2", "a", "s2"), _img("3", "b", "s1")])
    assert [i.id for i in d.find_images(name="a")] == ["1", "2"]
    assert [i.id for i in d.find_images(sha256="s1")] == ["1", "3"]
    assert [i.id for i in d.find_images(name="a", sha256="s1")] == ["1"]
    assert [i.id for i in d.find_images(id="2", name="b")] == []
    assert len(d.find_images()) == 3
    assert d.get_image("3").name == "b"
    with pytest.raises(ImageNotFound) as info:
        d.get_image("9")
    assert info.value.image_id == "9"
    with pytest.raises(Unsupported):
        d.import_image(ImageSpec(name="a"), "https://example.org/a.img")
    assert (d.list_flavors(), d.list_networks(), d.close()) == ([], [], None)
    with pytest.raises(Unsupported):
        d.upload_image(ImageSpec(name="a"), io.BytesIO(b""))
    assert VimUnavailable("down").retryable
