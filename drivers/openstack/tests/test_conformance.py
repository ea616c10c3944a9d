"""The OpenStack driver against a real Keystone + Glance: the SDK's conformance kit, then what is specific to it.

The servers come from ``tests/backends/openstack.py`` (installed once into
``.cache/openstack-venv``, started once per test session).  Run from the repository root:
``.venv/bin/python -m pytest drivers/openstack/tests``.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
import tracemalloc
import uuid

import psutil
import pytest
import requests
from nfvo_driver_openstack import ImageImportFailed, ImageImportTimedOut, OpenStackDriver
from nfvo_driver_openstack import driver as driver_module
from nfvo_plugin_sdk import (
    IMPORT_URL,
    UPLOAD_STREAM,
    ChecksumMismatch,
    DriverError,
    ImageSpec,
    InvalidVimSpec,
    Unsupported,
    VimAuthFailed,
    VimSpec,
    VimUnavailable,
)
from nfvo_plugin_sdk.conformance import DriverConformance, GeneratorStream, chunks_of

from tests.backends.openstack import OpenStackCloud, openstack_fixture
from tests.integration.servers import free_port, serve_http, stall, status

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:openstack")  # openstacksdk's own
MiB = 1024 * 1024
openstack = openstack_fixture()


def fake_qcow2(payload: int) -> bytes:
    """A qcow2 v3 header (no backing file, no tables) padded to 64 KiB, then random bytes:
    enough for Glance's format inspector to accept it as qcow2."""
    header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, payload, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                         4, 104)
    return header.ljust(64 * 1024, b"\0") + os.urandom(payload)


def spec_for(cloud: OpenStackCloud, **changes) -> VimSpec:
    fields = dict(name="os-test", type="openstack", auth_url=cloud.auth_url, username=cloud.username,
                  password=cloud.password, tenant=cloud.project, extra={"regionName": cloud.region})
    fields.update(changes)
    return VimSpec(**fields)


def connect(cloud: OpenStackCloud, **changes) -> OpenStackDriver:
    return OpenStackDriver(spec_for(cloud, **changes))


class AdminSession(requests.Session):
    """requests with an admin token (Glance and Keystone), to look behind the driver's back."""

    def __init__(self, cloud: OpenStackCloud):
        super().__init__()
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": cloud.username, "domain": {"name": "Default"}, "password": cloud.password}}},
            "scope": {"project": {"name": cloud.project, "domain": {"name": "Default"}}}}}
        answer = requests.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
        answer.raise_for_status()
        self.headers.update({"X-Auth-Token": answer.headers["X-Subject-Token"], "Accept": "application/json"})
        self.token = answer.json()["token"]


@pytest.fixture
def driver(openstack):
    driver = connect(openstack)
    driver.check_connection()
    yield driver
    driver.close()


@pytest.fixture
def glance(openstack):
    session = AdminSession(openstack)
    yield session
    session.close()


def unique(prefix: str = "nfvo-os-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def images_named(glance: requests.Session, cloud: OpenStackCloud, name: str) -> list[dict]:
    return glance.get(f"{cloud.glance_url}/v2/images", params={"name": name}, timeout=30).json()["images"]


class TestOpenStack(DriverConformance):
    @pytest.fixture
    def driver(self, openstack):
        driver = connect(openstack)
        driver.check_connection()
        yield driver
        driver.close()

    @pytest.fixture
    def image_bytes(self) -> bytes:
        # the kit uses qcow2 (in disk_formats), and Glance checks that the data is qcow2
        return fake_qcow2(MiB)

    @pytest.fixture
    def import_url(self, image_bytes, tmp_path):
        (tmp_path / "image.qcow2").write_bytes(image_bytes)
        with serve_http(tmp_path) as base:
            yield f"{base}/image.qcow2"


# -- VimSpec ---------------------------------------------------------------------------------
def test_construction_does_no_io():
    driver = OpenStackDriver(VimSpec(name="v", type="openstack", auth_url="http://127.0.0.1:9/v3",
                                     username="u", password="p", tenant="t"))
    assert driver._connection is None
    assert OpenStackDriver.capabilities == frozenset({UPLOAD_STREAM, IMPORT_URL})
    driver.close()
    driver.close()


@pytest.mark.parametrize("changes, complaint", [
    ({"auth_url": ""}, "authUrl"),
    ({"auth_url": "keystone.example.org:5000"}, "authUrl"),
    ({"password": None}, "username and password"),
    ({"tenant": None}, "tenant"),
    ({"extra": {"interface": "private"}}, "interface"),
    ({"extra": {"timeout": "soon"}}, "timeout"),
    ({"extra": {"importTimeout": "-1"}}, "importTimeout"),
    ({"extra": {"applicationCredentialId": "abc"}}, "applicationCredentialSecret"),
])
def test_malformed_spec_is_invalid_vim_spec(changes, complaint):
    fields = dict(name="v", type="openstack", auth_url="http://127.0.0.1:9/v3", username="u", password="p",
                  tenant="t")
    with pytest.raises(InvalidVimSpec, match=complaint):
        OpenStackDriver(VimSpec(**{**fields, **changes}))


# -- connection errors -----------------------------------------------------------------------
def test_wrong_password_is_vim_auth_failed(openstack):
    driver = connect(openstack, password="not-the-password")
    for call in (driver.check_connection, driver.list_images, lambda: driver.find_images(name="x")):
        with pytest.raises(VimAuthFailed) as info:
            call()
        assert not info.value.retryable


def test_unknown_project_is_vim_auth_failed(openstack):
    with pytest.raises(VimAuthFailed):
        connect(openstack, tenant="no-such-project").check_connection()


def test_unreachable_keystone_is_retryable_vim_unavailable():
    driver = OpenStackDriver(VimSpec(name="v", type="openstack", auth_url=f"http://127.0.0.1:{free_port()}/v3",
                                     username="u", password="p", tenant="t"))
    started = time.monotonic()
    with pytest.raises(VimUnavailable) as info:
        driver.check_connection()
    assert info.value.retryable and time.monotonic() - started < 15


def test_keystone_that_does_not_answer_in_time_is_vim_unavailable(tmp_path):
    with serve_http(tmp_path, {"/v3/auth/tokens": stall(10), "/v3": stall(10), "/v3/": stall(10)}) as base:
        driver = OpenStackDriver(VimSpec(name="v", type="openstack", auth_url=f"{base}/v3", username="u",
                                         password="p", tenant="t", extra={"timeout": "1"}))
        started = time.monotonic()
        with pytest.raises(VimUnavailable):
            driver.check_connection()
        assert time.monotonic() - started < 10


def test_keystone_5xx_is_vim_unavailable(tmp_path):
    with serve_http(tmp_path, {"/v3/auth/tokens": status(503, b"maintenance"), "/v3": status(503)}) as base:
        driver = OpenStackDriver(VimSpec(name="v", type="openstack", auth_url=f"{base}/v3", username="u",
                                         password="p", tenant="t"))
        with pytest.raises(VimUnavailable):
            driver.check_connection()


def test_region_without_image_service_is_invalid_vim_spec(openstack):
    with pytest.raises(InvalidVimSpec, match="regionName"):
        connect(openstack, extra={"regionName": "NoSuchRegion"}).check_connection()


def test_auth_url_that_is_not_keystone_is_a_driver_error(openstack):
    with pytest.raises(DriverError):
        connect(openstack, auth_url=openstack.glance_url).check_connection()


def test_project_by_id_domains_and_application_credentials(openstack, glance):
    project_id = glance.token["project"]["id"]
    by_id = connect(openstack, tenant=project_id, extra={"regionName": openstack.region, "userDomainId": "default"})
    by_id.check_connection()
    user_id = glance.token["user"]["id"]
    answer = glance.post(f"{openstack.auth_url}/users/{user_id}/application_credentials",
                         json={"application_credential": {"name": unique("nfvo-appcred")}}, timeout=30)
    assert answer.status_code == 201, answer.text
    credential = answer.json()["application_credential"]
    app = OpenStackDriver(VimSpec(name="v", type="openstack", auth_url=openstack.auth_url, extra={
        "applicationCredentialId": credential["id"], "applicationCredentialSecret": credential["secret"],
        "regionName": openstack.region}))
    try:
        app.check_connection()
        assert isinstance(app.list_images(), list)
    finally:
        glance.delete(f"{openstack.auth_url}/users/{user_id}/application_credentials/{credential['id']}", timeout=30)


def test_nova_and_neutron_absent_give_empty_lists(driver):
    assert driver.list_flavors() == [] and driver.list_networks() == []


# -- images: hashes and properties -------------------------------------------------------------
def test_upload_records_sha256_bound_to_glances_own_hash(openstack, driver, glance):
    data = os.urandom(3 * MiB + 11)
    spec = ImageSpec(name=unique(), disk_format="raw", min_cpu=2, min_disk=3, min_ram=1024, is_public=True)
    image = driver.upload_image(spec, GeneratorStream(chunks_of(data)), size=len(data))
    try:
        raw = glance.get(f"{openstack.glance_url}/v2/images/{image.id}", timeout=30).json()
        assert raw["status"] == "active" and raw["size"] == len(data)
        assert raw["os_hash_algo"] == "sha512" and raw["os_hash_value"] == hashlib.sha512(data).hexdigest()
        assert raw["nfvo_sha256"] == hashlib.sha256(data).hexdigest() == image.sha256
        assert raw["nfvo_hash_of"] == f"sha512:{raw['os_hash_value']}"
        assert (raw["visibility"], raw["min_disk"], raw["min_ram"], raw["nfvo_min_cpu"]) == ("public", 3, 1024, "2")
        assert (image.min_cpu, image.min_disk, image.min_ram, image.is_public) == (2, 3, 1024, True)
        # find by sha256 is a server-side property filter
        listed = glance.get(f"{openstack.glance_url}/v2/images", params={"nfvo_sha256": image.sha256},
                            timeout=30).json()["images"]
        assert [i["id"] for i in listed] == [image.id]
        assert [i.id for i in driver.find_images(sha256=image.sha256.upper())] == [image.id]
    finally:
        driver.delete_image(image.id)


def test_a_sha256_property_not_written_by_the_driver_is_not_trusted(openstack, driver, glance):
    name = unique()
    answer = glance.post(f"{openstack.glance_url}/v2/images", timeout=30, json={
        "name": name, "disk_format": "raw", "container_format": "bare", "nfvo_sha256": "ab" * 32})
    image_id = answer.json()["id"]
    try:
        upload = glance.put(f"{openstack.glance_url}/v2/images/{image_id}/file", data=b"other bytes", timeout=30,
                            headers={"Content-Type": "application/octet-stream"})
        assert upload.status_code == 204
        assert driver.get_image(image_id).sha256 is None
        assert driver.find_images(sha256="ab" * 32) == []
    finally:
        driver.delete_image(image_id)


def test_glance_hash_differing_from_ours_is_checksum_mismatch_and_leaves_nothing(
        openstack, driver, glance, monkeypatch):
    original = driver_module._Hashes.update

    def update(self, chunk):  # as if the bytes had changed on the way to Glance
        original(self, chunk[:-1] + bytes([chunk[-1] ^ 1]))

    monkeypatch.setattr(driver_module._Hashes, "update", update)
    name = unique()
    with pytest.raises(ChecksumMismatch, match="sha512"):
        driver.upload_image(ImageSpec(name=name, disk_format="raw"), GeneratorStream(chunks_of(os.urandom(MiB))))
    assert images_named(glance, openstack, name) == []


def test_size_mismatch_is_checksum_mismatch_and_leaves_nothing(openstack, driver, glance):
    name = unique()
    data = os.urandom(2 * MiB)
    for size in (len(data) + 1, len(data) - 1):
        with pytest.raises(ChecksumMismatch):
            driver.upload_image(ImageSpec(name=name, disk_format="raw"), GeneratorStream(chunks_of(data)), size=size)
    assert images_named(glance, openstack, name) == []


def test_data_not_in_the_declared_format_is_unsupported_and_leaves_nothing(openstack, driver, glance):
    name = unique()
    with pytest.raises(Unsupported, match="qcow2"):
        driver.upload_image(ImageSpec(name=name, disk_format="qcow2"), GeneratorStream(chunks_of(os.urandom(8 * MiB))))
    with pytest.raises(Unsupported):
        driver.upload_image(ImageSpec(name=name, disk_format="floppy"), GeneratorStream([b"x"]))
    assert images_named(glance, openstack, name) == []


def test_stream_errors_pass_through_and_leave_nothing(openstack, driver, glance):
    def broken():
        yield os.urandom(3 * MiB)
        raise OSError("connection reset by the package server")

    name = unique()
    with pytest.raises(OSError, match="connection reset") as info:
        driver.upload_image(ImageSpec(name=name, disk_format="raw"), GeneratorStream(broken()), size=10 * MiB)
    assert not isinstance(info.value, DriverError)
    assert images_named(glance, openstack, name) == []


def test_known_sha256_returns_the_existing_image_without_reading(driver):
    data = os.urandom(MiB)
    spec = ImageSpec(name=unique(), disk_format="raw")
    image = driver.upload_image(spec, GeneratorStream(chunks_of(data)))
    try:
        untouched = GeneratorStream(chunks_of(data))
        again = driver.upload_image(spec, untouched, sha256=hashlib.sha256(data).hexdigest())
        assert again.id == image.id and untouched.read_sizes == []
    finally:
        driver.delete_image(image.id)


def test_memory_stays_flat_for_a_200_mib_upload(openstack, driver):
    block = os.urandom(MiB)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    tracemalloc.start()
    try:
        image = driver.upload_image(ImageSpec(name=unique(), disk_format="raw"),
                                    GeneratorStream(block for _ in range(200)), size=200 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = process.memory_info().rss - rss_before
    try:
        assert image.size == 200 * MiB and image.status == "active"
        assert image.sha256 == hashlib.sha256(block * 200).hexdigest()
        print(f"MEMORY peak={peak / MiB:.2f} MiB rss_growth={rss_growth / MiB:.2f} MiB")
        assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB traced for a 200 MiB upload"
        assert rss_growth < 64 * MiB, f"RSS grew by {rss_growth / MiB:.1f} MiB"
    finally:
        driver.delete_image(image.id)
    assert not (openstack.image_dir / image.id).exists()


# -- web-download import ----------------------------------------------------------------------
def test_capabilities_follow_the_glance_import_methods(openstack, driver):
    assert IMPORT_URL in driver.capabilities
    plain = connect(openstack, extra={"regionName": openstack.region_without_import})
    plain.check_connection()
    assert plain.capabilities == frozenset({UPLOAD_STREAM})
    with pytest.raises(Unsupported, match="web-download"):
        plain.import_image(ImageSpec(name=unique()), "http://127.0.0.1:1/x.qcow2")


def test_web_download_import_is_verified_and_idempotent(openstack, driver, glance, tmp_path):
    data = fake_qcow2(2 * MiB)
    (tmp_path / "vnf.qcow2").write_bytes(data)
    log: list[str] = []
    spec = ImageSpec(name=unique(), disk_format="qcow2", min_ram=256)
    with serve_http(tmp_path, log=log) as base:
        image = driver.import_image(spec, f"{base}/vnf.qcow2")
        try:
            assert (image.name, image.status, image.size, image.min_ram) == (spec.name, "active", len(data), 256)
            assert image.sha256 == hashlib.sha256(data).hexdigest()
            assert log == ["/vnf.qcow2"]  # Glance fetched it, not us
            again = driver.import_image(spec, f"{base}/vnf.qcow2")  # imports, finds the twin, drops its copy
            assert again.id == image.id
            known = driver.import_image(spec, f"{base}/vnf.qcow2", sha256=image.sha256)  # no import at all
            assert known.id == image.id and len(log) == 2
            assert [i["id"] for i in images_named(glance, openstack, spec.name)] == [image.id]
            with pytest.raises(ChecksumMismatch):
                driver.import_image(ImageSpec(name=unique(), disk_format="qcow2"), f"{base}/vnf.qcow2",
                                    sha256="0" * 64)
        finally:
            driver.delete_image(image.id)


def test_refused_import_is_import_failed_and_leaves_nothing(openstack, driver, glance, tmp_path):
    (tmp_path / "vnf.qcow2").write_bytes(fake_qcow2(MiB))
    name = unique()
    with serve_http(tmp_path) as base:
        refused = base.replace("127.0.0.1", "localhost")  # Glance allows only 127.0.0.1 (allowed_hosts)
        with pytest.raises(ImageImportFailed, match="refused") as info:
            driver.import_image(ImageSpec(name=name, disk_format="qcow2"), f"{refused}/vnf.qcow2")
        assert not info.value.retryable
    assert images_named(glance, openstack, name) == []


def test_failed_import_task_is_import_failed_and_leaves_nothing(openstack, driver, glance, tmp_path):
    name = unique()
    with serve_http(tmp_path) as base:
        started = time.monotonic()
        with pytest.raises(ImageImportFailed, match="could not import"):
            driver.import_image(ImageSpec(name=name, disk_format="qcow2"), f"{base}/missing.qcow2")
        assert time.monotonic() - started < 30
    assert images_named(glance, openstack, name) == []


def test_import_that_does_not_finish_in_time_is_retryable_and_leaves_nothing(openstack, glance, tmp_path):
    driver = connect(openstack, extra={"regionName": openstack.region, "importTimeout": "2"})
    name = unique()
    with serve_http(tmp_path, {"/slow.qcow2": stall(20, content_length=4 * MiB, first=fake_qcow2(0))}) as base:
        started = time.monotonic()
        with pytest.raises(ImageImportTimedOut) as info:
            driver.import_image(ImageSpec(name=name, disk_format="qcow2"), f"{base}/slow.qcow2")
        assert info.value.retryable and time.monotonic() - started < 15
    deadline = time.monotonic() + 30
    while images_named(glance, openstack, name) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert images_named(glance, openstack, name) == []
