"""The local image store of one project is out of reach of every other project (the probe's attack,
step by step, against a real embedded nfvo): only a system administrator shares a store on purpose."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.integration.harness import Api, assert_problem, embedded_nfvo, example_files, make_tar

pytestmark = pytest.mark.integration

PASSWORD = "store-isolation-pw"
VICTIM_BYTES = b"the victim's own image\n" * 4096
PLANTED_BYTES = b"bytes planted by the attacker\n" * 4096
NEXT_IMAGE = "next-image"  # the name the victim's next package resolves with upload: check


def package(tmp_path, name: str, image_name: str, content: bytes, upload: str):
    """An Open Baton package for ``local`` VIMs with one image file ``image_name``."""
    files = example_files("iperf-server")
    metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", f"name: {name}")
                .replace("iperf-image", image_name).replace('upload: "check"', f'upload: "{upload}"'))
    vnfd = {**json.loads(files["vnfd.json"]), "name": name}
    return make_tar(tmp_path / f"{name}.tar", {**files, "Metadata.yaml": metadata, "vnfd.json": vnfd,
                                               "images/iperf.raw": content})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("vim-isolation")) as nfvo:
        admin = nfvo.api
        evil = admin.post_json("/api/v1/projects", {"name": "evil", "description": "the attacker's"})
        assert evil.status_code == 201, evil.text
        for username, project in (("victim", "default"), ("mallory", "evil")):
            answer = admin.post_json("/api/v1/users", {"username": username, "password": PASSWORD,
                                                       "roles": [{"role": "USER", "project": project}]})
            assert answer.status_code == 201, answer.text
        victim = Api(nfvo.url, "victim", PASSWORD, "default")
        mallory = Api(nfvo.url, "mallory", PASSWORD, evil.json()["id"])
        [local] = [v for v in victim.get("/api/v1/datacenters").json() if v["name"] == "local"]
        yield nfvo, victim, mallory, local, evil.json()


def store_images(api: Api, vim_id: str) -> list[dict]:
    answer = api.get(f"/api/v1/datacenters/{vim_id}/images")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_probe_attack_on_the_default_store_is_isolated(world, tmp_path):
    nfvo, victim, mallory, local, evil = world
    first = victim.upload(package(tmp_path, "victim-a", "victim-image", VICTIM_BYTES, "check"))
    assert first.status_code == 200, first.text
    victim_names = {i["name"] for i in store_images(victim, local["id"])}
    victim_hashes = {i["sha256"] for i in store_images(victim, local["id"])}
    assert "victim-image" in victim_names

    # 1. A USER of another project registers a local VIM on the default project's store name ...
    steal = mallory.post_json("/api/v1/datacenters", {"name": "steal", "type": "local",
                                                      "authUrl": "local://default"})
    assert steal.status_code == 201, steal.text
    # 2. ... and sees none of the default project's images, neither names nor SHA-256s.
    assert steal.json()["images"] == []
    assert store_images(mallory, steal.json()["id"]) == []
    assert not any(sha in steal.text for sha in victim_hashes) and "victim-image" not in steal.text

    # Asking for the shared store instead is refused: only a system administrator may.
    shared = mallory.post_json("/api/v1/datacenters", {"name": "steal-shared", "type": "local",
                                                       "authUrl": "local://default",
                                                       "properties": {"shared": "true"}})
    body = assert_problem(shared, 403, "forbidden")
    assert [e["pointer"] for e in body["errors"]] == ["/properties/shared"]
    assert "steal-shared" not in {v["name"] for v in mallory.get("/api/v1/datacenters").json()}

    # 3. The attacker plants an image under the name the victim's next package looks up ...
    planted = mallory.upload(package(tmp_path, "planter", NEXT_IMAGE, PLANTED_BYTES, "true"))
    assert planted.status_code == 200, planted.text
    [planted_row] = mallory.get(f"/api/v1/vnf-packages/{planted.json()['vnfPackageLocation']}").json()["images"]
    assert planted_row["vimId"] == steal.json()["id"]
    # ... which lands in the attacker's own store, not in the default project's.
    assert NEXT_IMAGE not in {i["name"] for i in store_images(victim, local["id"])}
    attacker_store = nfvo.home / "vim-data" / "local" / f"@{evil['id']}" / "default"
    assert (attacker_store / "blobs" / hashlib.sha256(PLANTED_BYTES).hexdigest()).read_bytes() == PLANTED_BYTES

    # 4. The victim's next package (upload: check by name) gets the victim's bytes.
    second = victim.upload(package(tmp_path, "victim-b", NEXT_IMAGE, VICTIM_BYTES + b"v2", "check"))
    assert second.status_code == 200, second.text
    [row] = victim.get(f"/api/v1/vnf-packages/{second.json()['vnfPackageLocation']}").json()["images"]
    assert row["uploaded"] is True and row["vimId"] == local["id"]
    victim_sha = hashlib.sha256(VICTIM_BYTES + b"v2").hexdigest()
    [image] = [i for i in store_images(victim, local["id"]) if i["name"] == NEXT_IMAGE]
    assert image["id"] == row["imageId"] and image["sha256"] == victim_sha
    victim_blob = nfvo.home / "vim-data" / "local" / "default" / "blobs" / victim_sha
    assert victim_blob.read_bytes() == VICTIM_BYTES + b"v2"

    # 5. Deleting the attacker's package deletes the attacker's image only.
    assert mallory.delete(f"/api/v1/vnf-packages/{planted.json()['vnfPackageLocation']}").status_code == 204
    assert store_images(mallory, steal.json()["id"]) == []
    after = {i["name"]: i["sha256"] for i in store_images(victim, local["id"])}
    assert after[NEXT_IMAGE] == victim_sha and "victim-image" in after
    assert victim_blob.read_bytes() == VICTIM_BYTES + b"v2"


def test_two_projects_with_the_same_store_name_do_not_meet(world, tmp_path):
    nfvo, victim, mallory, _local, evil = world
    mine = victim.post_json("/api/v1/datacenters", {"name": "lab", "type": "local", "authUrl": "local://lab"})
    theirs = mallory.post_json("/api/v1/datacenters", {"name": "lab", "type": "local", "authUrl": "local://lab"})
    assert mine.status_code == theirs.status_code == 201, (mine.text, theirs.text)
    assert (nfvo.home / "vim-data" / "local" / "lab").is_dir()  # the default project: where it always was
    assert (nfvo.home / "vim-data" / "local" / f"@{evil['id']}" / "lab").is_dir()


def test_a_system_administrator_shares_a_store_on_purpose(world):
    nfvo, victim, _mallory, local, evil = world
    bad = nfvo.api.post_json("/api/v1/datacenters", {"name": "half", "type": "local", "authUrl": "local://default",
                                                     "properties": {"shared": "maybe"}},
                             headers={"project-id": evil["id"]})
    assert [e["pointer"] for e in assert_problem(bad, 422, "validation-failed")["errors"]] == ["/properties/shared"]
    shared = nfvo.api.post_json("/api/v1/datacenters", {"name": "default-shared", "type": "local",
                                                        "authUrl": "local://default",
                                                        "properties": {"shared": "true"}},
                                headers={"project-id": evil["id"]})
    assert shared.status_code == 201, shared.text
    assert {i["id"] for i in shared.json()["images"]} == {i["id"] for i in store_images(victim, local["id"])}
