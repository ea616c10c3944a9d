"""End to end through nfvo (embedded mode) onto a real Docker Engine: register, onboard, share, delete."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest

from tests.backends.docker import BASE as DOCKER_BASE
from tests.backends.docker import busybox_image, docker_engine  # noqa: F401  (docker_engine is a fixture)
from tests.integration.harness import assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.test_nfvis import post, renamed
from tests.integration.test_vnfpkgm import create, put_content, vim_images, wait_onboarding
from tests.unit.domain.nfvis import samples

pytestmark = pytest.mark.integration

REFERENCE = f"nfvo-it/vnf-{uuid.uuid4().hex[:8]}:1.0"  # the image-config name: a Docker reference


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    # The engine answers on a unix socket under tests/backends/docker.BASE and on 127.0.0.1 (TLS);
    # the tests' own sockets live under the pytest temporary directory.
    allow = f"127.0.0.1,{DOCKER_BASE},{tmp_path_factory.getbasetemp()}"
    with embedded_nfvo(tmp_path_factory.mktemp("docker-onboarding"), NFVO_VIM_ALLOW=allow) as node:
        yield node


@pytest.fixture(scope="module")
def docker_vim(nfvo, docker_engine):  # noqa: F811
    answer = nfvo.api.post_json("/api/v1/datacenters", {"type": "docker", "name": "docker-it",
                                                        "authUrl": docker_engine.url,
                                                        "properties": {"timeout": "30"}})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["type"] == "docker" and body["flavours"] == []
    assert {"host", "none"} <= {n["name"] for n in body["networks"]}
    yield body
    nfvo.api.delete(f"/api/v1/datacenters/{body['id']}")


@pytest.fixture(scope="module")
def image_file() -> bytes:
    return busybox_image(extra={"etc/vnf-release": b"1.0\n"})


def package(tmp_path, name: str, image: bytes, reference: str = REFERENCE):
    """An Open Baton package for the docker VIMs whose image is the ``docker save`` tarball ``image``."""
    files = example_files("iperf-server")
    metadata = (
        f"name: {name}\ndescription: a VNF in a Docker image\nprovider: FOKUS\nnfvo_version: 4.0.0\n"
        "vim_types:\n  - docker\n"
        'image:\n  upload: "true"\n  file: images/vnf.tar\n'
        f"image-config:\n  name: {reference}\n  diskFormat: RAW\n  containerFormat: DOCKER\n"
        "  minCPU: 1\n  minDisk: 1\n  minRam: 256\n  isPublic: false\n"
    )
    vnfd = {**json.loads(files["vnfd.json"]), "name": name}
    return make_tar(tmp_path / f"{name}.tar", {
        "Metadata.yaml": metadata, "vnfd.json": vnfd, "images/vnf.tar": image,
        "scripts/install.sh": files["scripts/install.sh"], "scripts/install-srv.sh": files["scripts/install-srv.sh"],
    })


def engine_tags(engine) -> dict[str, str]:
    """Tag -> Docker image id (other sessions may share the engine: tests look at their own tags only)."""
    with engine.client() as client:
        return {tag: image["Id"] for image in client.api.images() for tag in image.get("RepoTags") or []}


def tags_on(engine, docker_id: str) -> list[str]:
    return sorted(tag for tag, image in engine_tags(engine).items() if image == docker_id)


def test_onboarding_loads_the_image_shares_it_and_deleting_removes_it(nfvo, docker_vim, docker_engine, image_file,  # noqa: F811
                                                                     tmp_path):
    first = nfvo.api.upload(package(tmp_path, "docker-vnf-a", image_file))
    assert first.status_code == 200, first.text
    vnfd = first.json()
    assert vnfd["vdu"][0]["vm_image"] == [REFERENCE]

    docker_id = engine_tags(docker_engine)[REFERENCE]
    tags = tags_on(docker_engine, docker_id)
    assert len(tags) == 2 and tags[0].startswith("nfvo-image/")  # the record and the name
    assert docker_engine.run(REFERENCE, "cat", "/etc/vnf-release") == b"1.0\n"  # a real image: it runs
    [row] = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()["images"]
    assert row["uploaded"] is True and row["vimId"] == docker_vim["id"]
    images = nfvo.api.get(f"/api/v1/datacenters/{docker_vim['id']}/images").json()
    [image] = [i for i in images if i["id"] == row["imageId"]]
    assert image["name"] == REFERENCE and image["sha256"] == hashlib.sha256(image_file).hexdigest()
    assert (image["size"], image["minRam"], image["containerFormat"]) == (len(image_file), 256, "docker")

    second = nfvo.api.upload(package(tmp_path, "docker-vnf-b", image_file))  # the same tarball
    assert second.status_code == 200, second.text
    assert second.json()["vdu"][0]["vm_image"] == [REFERENCE]
    [row_b] = nfvo.api.get(f"/api/v1/vnf-packages/{second.json()['vnfPackageLocation']}").json()["images"]
    assert row_b["imageId"] == row["imageId"]  # no second image
    assert tags_on(docker_engine, docker_id) == tags
    names = [i["name"] for i in nfvo.api.get(f"/api/v1/datacenters/{docker_vim['id']}/images").json()]
    assert names.count(REFERENCE) == 1

    assert nfvo.api.delete(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 204
    assert tags_on(docker_engine, docker_id) == tags  # the other package still uses it
    assert nfvo.api.delete(f"/api/v1/vnf-packages/{second.json()['vnfPackageLocation']}").status_code == 204
    after = engine_tags(docker_engine)
    assert REFERENCE not in after and docker_id not in after.values()  # its tags, and so the image, are gone


def test_a_file_that_is_not_an_image_fails_onboarding_clearly(nfvo, docker_vim, docker_engine, tmp_path):  # noqa: F811
    reference = f"nfvo-it/bad-{uuid.uuid4().hex[:8]}:1"
    answer = nfvo.api.upload(package(tmp_path, "docker-vnf-bad", b"\0" * 10_000 + b"qcow2?" * 1000,
                                     reference=reference))
    body = assert_problem(answer, 422, "vim-unsupported")
    assert "docker-it" in body["detail"] and "not an image tarball" in body["detail"]
    assert reference not in engine_tags(docker_engine)


def test_the_driver_is_listed_with_its_capabilities(nfvo):
    docker = next(d for d in nfvo.api.get("/api/v1/drivers").json() if d["type"] == "docker")
    assert docker["status"] == "ok" and docker["distribution"] == "nfvo-driver-docker"
    assert sorted(docker["capabilities"]) == ["import_url", "upload_stream"]


def test_bad_docker_vim_registrations(nfvo, tmp_path):
    unreachable = nfvo.api.post_json("/api/v1/datacenters", {"type": "docker", "name": "docker-gone",
                                                             "authUrl": f"unix://{tmp_path}/absent.sock"})
    assert "docker-gone" in assert_problem(unreachable, 503, "vim-unavailable")["detail"]
    malformed = nfvo.api.post_json("/api/v1/datacenters", {"type": "docker", "name": "docker-ssh",
                                                           "authUrl": "ssh://engine.example.com"})
    assert "unix://" in assert_problem(malformed, 422, "validation-failed")["detail"]
    names = [v["name"] for v in nfvo.api.get("/api/v1/datacenters").json()]
    assert "docker-gone" not in names and "docker-ssh" not in names


def test_registry_link_is_pulled_by_the_engine(nfvo, docker_vim, docker_engine, image_file, tmp_path):  # noqa: F811
    repository = f"nfvo-it/pulled-{uuid.uuid4().hex[:8]}"
    digest = docker_engine.push(image_file, repository)
    reference = f"nfvo-it/pulled-vnf-{uuid.uuid4().hex[:8]}:1.0"
    metadata = (f"name: pulled\nprovider: ACME\nvim_types: [docker]\nimage:\n  upload: true\n"
                f"  link: docker://{docker_engine.registry}/{repository}@{digest}\n"
                f"image-config:\n  name: {reference}\n  diskFormat: raw\n  containerFormat: docker\n")
    vnfd = {"name": "pulled", "vendor": "ACME", "type": "t", "endpoint": "generic", "vdu": [{"vm_image": []}]}
    answer = nfvo.api.upload(make_tar(tmp_path / "pulled.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["vdu"][0]["vm_image"] == [reference]
    assert reference in engine_tags(docker_engine)
    package = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()
    assert package["images"][0]["decision"].startswith("imported by the VIM from docker://")


def test_one_package_onto_two_vims_of_different_types_at_once(nfvo, docker_vim, docker_engine, image_file,  # noqa: F811
                                                              tmp_path):
    reference = f"nfvo-it/both-{uuid.uuid4().hex[:8]}:1.0"
    files = example_files("iperf-server")
    meta = (f"name: two-types\nprovider: FOKUS\nvim_types: [docker, local]\nimage:\n  upload: true\n"
            f"  file: images/vnf.tar\nimage-config:\n  name: {reference}\n  diskFormat: raw\n"
            f"  containerFormat: docker\n")
    vnfd = {**json.loads(files["vnfd.json"]), "name": "two-types"}
    tar = make_tar(tmp_path / "two-types.tar", {"Metadata.yaml": meta, "vnfd.json": vnfd, "images/vnf.tar": image_file,
                                                "scripts/install.sh": files["scripts/install.sh"],
                                                "scripts/install-srv.sh": files["scripts/install-srv.sh"]})
    answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    package_row = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()
    by_vim = {row["vimId"]: row for row in package_row["images"]}
    local = next(v for v in nfvo.api.get("/api/v1/datacenters").json() if v["type"] == "local")
    assert set(by_vim) == {local["id"], docker_vim["id"]}
    assert by_vim[local["id"]]["sha256"] == hashlib.sha256(image_file).hexdigest()
    assert reference in engine_tags(docker_engine)


def test_a_vim_that_cannot_fetch_registry_links_is_refused_before_any_upload(nfvo, docker_vim, tmp_path):
    metadata = ("name: no-pull\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                "  link: docker://127.0.0.1:5000/x:1\nimage-config:\n  name: x\n  diskFormat: raw\n"
                "  containerFormat: docker\n")
    vnfd = {"name": "no-pull", "vendor": "ACME", "type": "t", "endpoint": "generic", "vdu": [{"vm_image": []}]}
    body = assert_problem(nfvo.api.upload(make_tar(tmp_path / "no-pull.tar", {"Metadata.yaml": metadata,
                                                                              "vnfd.json": vnfd})),
                          422, "image-resolution-failed")
    [error] = body["errors"]
    assert error["pointer"] == "/image/link" and "cannot fetch docker:// links" in error["message"]


def test_an_nfvis_vm_package_is_refused_by_a_docker_vim_and_routed_around_it(nfvo, docker_vim, tmp_path):
    """A VM disk is no Docker image: a project whose VIMs include a Docker engine refuses an NFVIS
    package sent to all its VIMs (naming the VIM, leaving no image on the others); through SOL005,
    userDefinedData vimTypes sends it to the VM VIMs only."""
    files = renamed(samples.router(), "nfvis-on-docker")
    path = samples.write_tar(tmp_path / "nfvis.tar.gz", files)
    before = {i["name"] for i in vim_images(nfvo)}
    body = assert_problem(post(nfvo, path), 422, "vim-unsupported")
    assert "docker-it" in body["detail"] and "not an image tarball" in body["detail"]
    assert {i["name"] for i in vim_images(nfvo)} == before  # nothing left on the local VIM

    package_id = create(nfvo, {"vimTypes": ["local"]})["id"]
    assert put_content(nfvo, package_id, path).status_code == 202
    info = wait_onboarding(nfvo, package_id)
    assert info["onboardingState"] == "ONBOARDED", info
    assert "nfvis-on-docker-17.3.1" in {i["name"] for i in vim_images(nfvo)}


def test_a_catalogue_image_is_distributed_to_a_docker_vim(nfvo, docker_vim, docker_engine, tmp_path):  # noqa: F811
    """A `docker save` tarball in the catalogue, container format docker, loaded into the engine."""
    tarball = busybox_image(extra={"etc/gold-release": b"gold\n"})
    path = tmp_path / "gold.tar"
    path.write_bytes(tarball)
    with open(path, "rb") as f:
        added = nfvo.api.request("POST", "/api/v1/images", files={"file": f},
                                 data={"name": "gold-busybox", "version": "1", "diskFormat": "raw",
                                       "containerFormat": "docker"})
    assert added.status_code == 201, added.text
    image = added.json()
    job = nfvo.api.wait_job(nfvo.api.post_json(f"/api/v1/images/{image['id']}/distribute",
                                               {"vimInstances": [docker_vim["name"]]}).json()["id"])
    assert job["state"] == "succeeded", job
    [placement] = nfvo.api.get(f"/api/v1/images/{image['id']}").json()["placements"]
    assert placement["vimId"] == docker_vim["id"] and placement["uploaded"]
    assert docker_engine.run("gold-busybox-1", "cat", "/etc/gold-release") == b"gold\n"  # a real image: it runs
    assert nfvo.api.delete(f"/api/v1/images/{image['id']}").status_code == 204
    assert "gold-busybox-1:latest" not in engine_tags(docker_engine)
