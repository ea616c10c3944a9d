"""The Docker driver against the SDK conformance kit on a real dockerd, plus what is specific to it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import tracemalloc
import uuid

import pytest
from nfvo_driver_docker import DockerDriver
from nfvo_driver_docker.driver import ImportFailed
from nfvo_driver_docker.reference import Record, parse_link
from nfvo_driver_docker.tarball import NotAnImage
from nfvo_plugin_sdk import (
    ChecksumMismatch,
    DriverConflict,
    ImageNotFound,
    ImageSpec,
    InvalidVimSpec,
    Unsupported,
    VimAuthFailed,
    VimSpec,
    VimUnavailable,
)
from nfvo_plugin_sdk.conformance import DriverConformance, GeneratorStream, chunks_of

from tests.backends.docker import (  # noqa: F401  (docker_engine is a fixture)
    busybox_image,
    docker_engine,
    image_tarball,
    write_image_tarball,
)

MiB = 1024 * 1024


def make_driver(url: str, data_dir, **extra) -> DockerDriver:
    return DockerDriver(VimSpec(name="docker-test", type="docker", auth_url=url, extra=extra, data_dir=str(data_dir)))


def unique_image(label: str = "", size: int = 0) -> bytes:
    """A small image tarball no other test has (with ``size`` random bytes more)."""
    return image_tarball({"etc/nfvo-test": f"{label}{uuid.uuid4()}".encode(), "etc/payload": os.urandom(size)})


# Other test sessions may use the same engine at the same time: checks look at this test's own
# tags and images only, never at the engine as a whole.


def tags_in_engine(engine) -> dict[str, str]:
    """Every tag of the engine -> the Docker image id it points to."""
    with engine.client() as client:
        return {tag: image["Id"] for image in client.api.images() for tag in image.get("RepoTags") or []}


def docker_id_of(tarball: bytes) -> str:
    """The Docker image id a ``docker save`` tarball loads as (the sha256 of its config)."""
    with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
        entry = json.load(tar.extractfile("manifest.json"))[0]
    return "sha256:" + entry["Config"].removesuffix(".json")


def in_engine(engine, docker_id: str) -> bool:
    with engine.client() as client:
        return any(image["Id"] == docker_id for image in client.api.images(all=True))


def push(engine, data: bytes, repository: str, tag: str = "1") -> str:
    return engine.push(data, repository, tag)


class TestDocker(DriverConformance):
    @pytest.fixture
    def driver(self, docker_engine, tmp_path, image_name):  # noqa: F811
        driver = make_driver(docker_engine.url, tmp_path)
        driver.check_connection()
        yield driver
        # nothing left by the kit: every image it made was deleted, not even an untagged one stays behind
        assert driver.find_images(name=image_name) == driver.find_images(name=image_name + "-twin") == []
        for content in self.contents:
            assert not in_engine(docker_engine, docker_id_of(content))
        driver.close()

    @pytest.fixture
    def image_bytes(self) -> bytes:
        # above 70 kB: the kit's uneven-chunks test cuts the content at 70,000 bytes
        self.contents.append(unique_image("image", 128 * 1024))
        return self.contents[-1]

    @pytest.fixture
    def other_image_bytes(self) -> bytes:
        self.contents.append(unique_image("other", 128 * 1024))
        return self.contents[-1]

    @pytest.fixture(autouse=True)
    def _contents(self):
        self.contents: list[bytes] = []

    @pytest.fixture
    def import_url(self, docker_engine, image_bytes) -> str:  # noqa: F811
        repository = f"conformance/{uuid.uuid4().hex[:12]}"
        push(docker_engine, image_bytes, repository)
        return f"docker://{docker_engine.registry}/{repository}:1"


@pytest.fixture
def driver(docker_engine, tmp_path):  # noqa: F811
    driver = make_driver(docker_engine.url, tmp_path)
    yield driver
    driver.close()


@pytest.fixture
def name() -> str:
    return f"nfvo-test/{uuid.uuid4().hex[:12]}:1.0"


# -- loading tarballs ----------------------------------------------------------------------------------


def test_upload_tags_the_image_and_records_the_tarball(driver, docker_engine, name, tmp_path):  # noqa: F811
    out = io.BytesIO()
    docker_id = write_image_tarball(out, {"etc/x": uuid.uuid4().bytes})
    data = out.getvalue()
    image = driver.upload_image(ImageSpec(name=name, disk_format="raw", container_format="docker", min_ram=64),
                                GeneratorStream(chunks_of(data)))
    assert (image.name, image.size, image.sha256) == (name, len(data), hashlib.sha256(data).hexdigest())
    assert (image.disk_format, image.container_format, image.min_ram) == ("raw", "docker", 64)
    tags = tags_in_engine(docker_engine)
    assert tags[name] == docker_id
    [record_tag] = [t for t, i in tags.items() if i == docker_id and t.startswith("nfvo-image/")]
    assert Record.from_tag(record_tag).sha256 == image.sha256
    # a fresh driver (another process) knows it all from the engine alone
    again = make_driver(docker_engine.url, tmp_path / "elsewhere")
    assert again.get_image(image.id) == image
    assert [i.id for i in again.find_images(id=docker_id)] == [image.id]  # Docker ids, full or short
    assert [i.id for i in again.find_images(id=docker_id.removeprefix("sha256:")[:12])] == [image.id]
    assert [i.id for i in again.find_images(name=name, sha256=image.sha256)] == [image.id]
    driver.delete_image(image.id)
    assert docker_id not in tags_in_engine(docker_engine).values()


def test_loaded_image_runs(driver, docker_engine, name):  # noqa: F811
    image = driver.upload_image(ImageSpec(name=name), io.BytesIO(busybox_image(extra={"etc/motd": b"hi there"})))
    try:
        assert docker_engine.run(name, "cat", "/etc/motd") == b"hi there"
    finally:
        driver.delete_image(image.id)


def test_tags_inside_the_tarball_are_ignored(driver, docker_engine, name):  # noqa: F811
    victim = f"nfvo-test/victim-{uuid.uuid4().hex[:8]}:1"
    other = driver.upload_image(ImageSpec(name=victim), io.BytesIO(unique_image()))
    before = tags_in_engine(docker_engine)[victim]
    image = driver.upload_image(ImageSpec(name=name), io.BytesIO(image_tarball({"x": b"y"}, tag=victim)))
    assert tags_in_engine(docker_engine)[victim] == before  # docker load would have moved it
    driver.delete_image(image.id)
    driver.delete_image(other.id)


def test_compressed_tarball_loads_and_its_own_bytes_are_hashed(driver, name):
    data = gzip.compress(unique_image(), mtime=0)
    image = driver.upload_image(ImageSpec(name=name), GeneratorStream(chunks_of(data, 1000)), size=len(data))
    assert (image.size, image.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    driver.delete_image(image.id)


def test_same_name_other_content_moves_the_tag_and_keeps_both(driver, docker_engine, name):  # noqa: F811
    first = driver.upload_image(ImageSpec(name=name), io.BytesIO(unique_image()))
    second = driver.upload_image(ImageSpec(name=name), io.BytesIO(unique_image()))
    assert {i.id for i in driver.find_images(name=name)} == {first.id, second.id}
    second_docker_id = tags_in_engine(docker_engine)[name]
    driver.delete_image(first.id)  # the name stays on the newer image
    assert tags_in_engine(docker_engine)[name] == second_docker_id
    driver.delete_image(second.id)
    assert name not in tags_in_engine(docker_engine)


def test_images_nfvo_did_not_make_are_listed_by_tag(driver, docker_engine, name):  # noqa: F811
    with docker_engine.client() as client:
        [loaded] = client.images.load(unique_image())
        loaded.tag(name)
    try:
        [image] = driver.find_images(name=name)
        assert (image.sha256, image.size, image.container_format) == (None, None, "docker")
        assert [i.id for i in driver.find_images(id=loaded.id)] == [image.id]
        same = driver.upload_image(ImageSpec(name=name), io.BytesIO(unique_image()))
        assert {i.id for i in driver.find_images(name=name)} == {same.id}  # the name moved to nfvo's image
        driver.delete_image(same.id)
    finally:
        with docker_engine.client() as client:
            client.images.remove(loaded.id, force=True)


@pytest.mark.parametrize("content, message", [
    (os.urandom(100_000), "not an image tarball"),
    (b"", "not an image tarball"),
    (gzip.compress(os.urandom(50_000)), "not an image tarball"),
    (None, "no manifest.json"),
    ("missing-layer", "refused the image tarball"),
    ("two-images", "holds 2 images"),
])
def test_content_that_is_not_an_image_is_a_clear_permanent_error(driver, docker_engine, name, content, message):  # noqa: F811
    if content is None:  # a fine tar, but not docker save output
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            info = tarfile.TarInfo("disk.raw")
            info.size = 4096
            tar.addfile(info, io.BytesIO(b"\0" * 4096))
        content = out.getvalue()
    broken = isinstance(content, str)
    if broken:
        content = _broken_manifest(content)
    with pytest.raises(NotAnImage, match=message) as info:
        driver.upload_image(ImageSpec(name=name), GeneratorStream(chunks_of(content)))
    assert isinstance(info.value, Unsupported) and not info.value.retryable
    assert name not in tags_in_engine(docker_engine)
    if broken:
        assert not in_engine(docker_engine, docker_id_of(content))


def _broken_manifest(kind: str) -> bytes:
    """A docker save tarball whose manifest names a missing layer, or two images."""
    members = {}
    with tarfile.open(fileobj=io.BytesIO(unique_image())) as tar:
        for member in tar:
            members[member] = tar.extractfile(member).read() if member.isreg() else None
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for member, data in members.items():
            if member.name == "manifest.json":
                manifest = json.loads(data)
                if kind == "missing-layer":
                    manifest[0]["Layers"] = ["0" * 64 + "/layer.tar"]
                else:
                    manifest.append(manifest[0])
                data = json.dumps(manifest).encode()
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def test_wrong_size_is_checksum_mismatch_and_leaves_nothing(driver, docker_engine, name):  # noqa: F811
    data = unique_image()
    with pytest.raises(ChecksumMismatch):
        driver.upload_image(ImageSpec(name=name), io.BytesIO(data), size=len(data) + 1)
    assert driver.find_images(name=name) == []
    assert not in_engine(docker_engine, docker_id_of(data))


def test_stream_errors_pass_through_and_leave_nothing(driver, docker_engine, name):  # noqa: F811
    data = unique_image()

    def broken():
        yield data[:len(data) // 2]
        raise OSError("connection reset by the package server")

    with pytest.raises(OSError, match="connection reset") as info:
        driver.upload_image(ImageSpec(name=name), GeneratorStream(broken()))
    assert type(info.value) is OSError
    assert driver.find_images(name=name) == []


def test_memory_stays_flat_for_a_100_mib_image(driver, docker_engine, name, tmp_path):  # noqa: F811
    payload = tmp_path / "payload.bin"
    with open(payload, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(MiB))
    tarball = tmp_path / "image.tar"
    with open(tarball, "wb") as out:
        write_image_tarball(out, {"opt/payload.bin": payload})
    payload.unlink()
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    tracemalloc.start()
    try:
        with open(tarball, "rb") as f:
            image = driver.upload_image(ImageSpec(name=name), f, size=tarball.stat().st_size, sha256=digest)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert image.size == tarball.stat().st_size > 100 * MiB and image.sha256 == digest
        assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB for a {image.size / MiB:.0f} MiB image"
    finally:
        driver.delete_image(image.id)


def test_bad_image_names_are_refused_before_reading(driver):
    stream = GeneratorStream(chunks_of(unique_image()))
    for bad in ("Ubuntu 14.04", "UPPER/case:1", "x@sha256:" + "0" * 64, "a" * 200):
        with pytest.raises(Unsupported):
            driver.upload_image(ImageSpec(name=bad), stream)
    assert stream.read_sizes == []


def test_delete_refuses_while_a_container_uses_the_image(driver, docker_engine, name):  # noqa: F811
    image = driver.upload_image(ImageSpec(name=name), io.BytesIO(busybox_image()))
    with docker_engine.client() as client:
        container = client.containers.create(name, ["true"], network_mode="none")
        try:
            with pytest.raises(DriverConflict, match="used by containers"):
                driver.delete_image(image.id)
            assert driver.get_image(image.id).name == name  # nothing was removed
        finally:
            container.remove()
    driver.delete_image(image.id)
    with pytest.raises(ImageNotFound):
        driver.get_image(image.id)


# -- pulling from a registry -------------------------------------------------------------------------


def test_import_pulls_a_reference_from_the_registry(driver, docker_engine, name):  # noqa: F811
    repository = f"nfvo-test/pull-{uuid.uuid4().hex[:8]}"
    data = busybox_image()
    push(docker_engine, data, repository)
    link = f"docker://{docker_engine.registry}/{repository}:1"
    image = driver.import_image(ImageSpec(name=name, min_ram=128), link)
    assert (image.name, image.status, image.sha256, image.size, image.min_ram) == (name, "active", None, None, 128)
    tags = tags_in_engine(docker_engine)
    assert f"{docker_engine.registry}/{repository}:1" not in tags  # the pulled tag is not left behind
    assert docker_engine.run(name, "echo", "pulled") == b"pulled\n"
    assert driver.import_image(ImageSpec(name=name), link).id == image.id  # idempotent
    driver.delete_image(image.id)
    assert tags[name] not in tags_in_engine(docker_engine).values()


def test_import_by_digest_is_verified(driver, docker_engine, name):  # noqa: F811
    repository = f"nfvo-test/digest-{uuid.uuid4().hex[:8]}"
    data = unique_image()
    digest = push(docker_engine, data, repository)
    base = f"docker://{docker_engine.registry}/{repository}"
    image = driver.import_image(ImageSpec(name=name), f"{base}@{digest}", sha256=digest.removeprefix("sha256:"))
    assert driver.get_image(image.id).name == name
    driver.delete_image(image.id)
    assert not in_engine(docker_engine, docker_id_of(data))  # the digest reference went too
    with pytest.raises(ChecksumMismatch):
        driver.import_image(ImageSpec(name=name), f"{base}@{digest}", sha256="0" * 64)
    assert driver.find_images(name=name) == []
    assert not in_engine(docker_engine, docker_id_of(data))
    with pytest.raises(ImportFailed) as info:  # a digest the registry does not have
        driver.import_image(ImageSpec(name=name), f"{base}@sha256:{'0' * 64}")
    assert not info.value.retryable


def test_import_errors(driver, docker_engine, name):  # noqa: F811
    with pytest.raises(ImportFailed) as info:
        driver.import_image(ImageSpec(name=name), f"docker://{docker_engine.registry}/nfvo-test/absent:1")
    assert not info.value.retryable and "absent" in str(info.value)
    with pytest.raises(Unsupported, match="docker://"):
        driver.import_image(ImageSpec(name=name), "https://example.com/image.tar")
    assert parse_link("docker://busybox:1.36").registry == "docker.io"
    assert parse_link("docker://127.0.0.1:5000/a/b@sha256:" + "a" * 64).registry == "127.0.0.1:5000"
    assert parse_link("docker://Bad/Name") is None


# -- the engine, TLS and errors ------------------------------------------------------------------------


def test_unreachable_engine_is_vim_unavailable(tmp_path):
    for url in (f"unix://{tmp_path}/absent.sock", "tcp://127.0.0.1:9"):
        driver = make_driver(url, tmp_path)
        for call in (driver.check_connection, driver.list_images,
                     lambda d=driver: d.upload_image(ImageSpec(name="x"), io.BytesIO(unique_image()))):
            with pytest.raises(VimUnavailable) as info:
                call()
            assert info.value.retryable


def test_tls_engine_with_client_certificate(docker_engine, tmp_path):  # noqa: F811
    secrets = {"tlsCaCert": docker_engine.tls_ca, "tlsCert": docker_engine.tls_cert, "tlsKey": docker_engine.tls_key}
    driver = make_driver(docker_engine.tls_url, tmp_path, **secrets)
    driver.check_connection()
    assert isinstance(driver.list_images(), list)
    files = sorted((tmp_path / "docker" / "tls").iterdir())
    assert len(files) == 3 and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE((tmp_path / "docker" / "tls").stat().st_mode) == 0o700
    assert docker_engine.tls_key not in repr(driver.settings) and "PRIVATE" not in repr(driver.settings)

    no_client_cert = make_driver(docker_engine.tls_url, tmp_path, tlsCaCert=docker_engine.tls_ca)
    with pytest.raises(VimAuthFailed):
        no_client_cert.check_connection()
    unknown_ca = make_driver(docker_engine.tls_url, tmp_path, tls="true")  # system CAs do not know the test CA
    with pytest.raises(VimAuthFailed):
        unknown_ca.check_connection()
    plain = make_driver(docker_engine.tls_url, tmp_path)  # plain HTTP to a TLS port
    with pytest.raises(VimAuthFailed, match="requires TLS"):
        plain.check_connection()


@pytest.mark.parametrize("url, extra", [
    ("", {}),
    ("http://", {}),
    ("ssh://user@host", {}),
    ("unix://relative.sock", {}),
    ("unix:///var/run/docker.sock", {"tls": "true"}),
    ("tcp://host:2376", {"tlsVerify": "maybe"}),
    ("tcp://host:2376", {"tlsCert": "-----BEGIN CERTIFICATE-----\n"}),
    ("tcp://host:2376", {"tlsKey": "not pem"}),
    ("tcp://host:2376", {"timeout": "soon"}),
])
def test_bad_registrations_are_invalid_vim_spec(url, extra, tmp_path):
    with pytest.raises(InvalidVimSpec) as info:
        make_driver(url, tmp_path, **extra)
    assert "not pem" not in str(info.value)
    assert not (tmp_path / "docker").exists()  # __init__ touches nothing


def test_networks_and_flavors(driver, docker_engine):  # noqa: F811
    with docker_engine.client() as client:
        network = client.networks.create(f"nfvo-test-{uuid.uuid4().hex[:8]}", driver="bridge", internal=True)
    try:
        by_name = {n.name: n for n in driver.list_networks()}
        assert by_name[network.name].id == network.id and by_name[network.name].external is False
        assert by_name["host"].external is True and by_name["none"].external is False
        assert driver.list_flavors() == []
    finally:
        network.remove()


def test_entry_point_names_the_driver():
    from importlib.metadata import entry_points

    [point] = [e for e in entry_points(group="nfvo.vim_drivers") if e.name == "docker"]
    assert point.load() is DockerDriver


def test_records_survive_a_round_trip():
    record = Record(name="127.0.0.1:5000/vnf/fw:2.1", source="t" + "ab" * 32, size=123, disk_format="raw",
                    container_format="docker", min_cpu=2, min_disk=10, min_ram=2048, is_public=True)
    repository, tag = record.tag()
    assert Record.from_tag(f"{repository}:{tag}") == record
