"""Embedded mode end to end: `nfvo serve` with no configuration (SQLite, in-process worker, local VIM)."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from tests.integration.harness import NFVO, ROOT, assert_problem, embedded_nfvo, example_files, make_tar, store_blob
from tests.integration.servers import free_port, make_git_repo, serve_git

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("embedded")) as node:
        yield node


@pytest.fixture(scope="module")
def local_vim(nfvo):
    vims = nfvo.api.get("/api/v1/datacenters").json()
    return next(v for v in vims if v["name"] == "local")


def test_first_start_creates_default_project_admin_and_local_vim(nfvo, local_vim):
    projects = nfvo.api.get("/api/v1/projects").json()
    assert [p["name"] for p in projects] == ["default"]
    assert local_vim["type"] == "local" and local_vim["password"] is None
    refreshed = nfvo.api.get(f"/api/v1/datacenters/{local_vim['id']}/refresh").json()
    assert refreshed["flavours"] == [{"id": "m1.small", "flavour_key": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20}]
    assert refreshed["networks"] == [{"id": "local", "name": "local", "external": False}]
    drivers = nfvo.api.get("/api/v1/drivers").json()
    assert {"type": "local", "status": "ok"}.items() <= next(d for d in drivers if d["type"] == "local").items()


def test_openapi_and_its_ui_are_served_with_errors_as_problem_json(nfvo):
    spec = nfvo.api.http.get(f"{nfvo.url}/api/openapi.json").json()
    assert spec["info"]["title"] == "nfvo"
    upload = spec["paths"]["/api/v1/vnf-packages/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    default_error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert default_error["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/ProblemOut"}
    ui = nfvo.api.http.get(f"{nfvo.url}/api/ui")
    assert ui.status_code == 200 and "swagger-ui" in ui.text


def test_onboard_example_fills_images_and_stores_them_on_the_local_vim(nfvo, local_vim, tmp_path):
    files = example_files("iperf-server")
    tar = make_tar(tmp_path / "iperf-server.tar", files)
    answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    vnfd = answer.json()
    assert vnfd["name"] == "iperf-server" and vnfd["vendor"] == "FOKUS"
    assert vnfd["vdu"][0]["vm_image"] == ["iperf-image"]

    package = nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()
    assert package["sha256"] == hashlib.sha256(tar.read_bytes()).hexdigest()
    assert sorted(s["name"] for s in package["scripts"]) == ["install-srv.sh", "install.sh"]
    [image_row] = package["images"]
    assert image_row["uploaded"] is True and image_row["vimId"] == local_vim["id"]

    images = nfvo.api.get(f"/api/v1/datacenters/{local_vim['id']}/images").json()
    [image] = [i for i in images if i["id"] == image_row["imageId"]]
    assert image["sha256"] == hashlib.sha256(files["images/iperf.raw"]).hexdigest()
    assert (image["diskFormat"], image["minRam"]) == ("raw", 512)
    blob = nfvo.home / "vim-data" / "local" / "default" / "blobs" / image["sha256"]
    assert blob.read_bytes() == files["images/iperf.raw"]
    script = nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}/scripts/install.sh")
    assert script.status_code == 200 and script.content == files["scripts/install.sh"]
    assert script.headers["Content-Type"].startswith("text/plain")
    kept = store_blob(nfvo.home, sha256=package["sha256"])
    assert kept.read_bytes() == tar.read_bytes(), "the package is a blob of the content store"
    assert_problem(nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}/scripts/nothing.sh"), 404,
                   "artifact-not-found")

    assert nfvo.api.get(f"/api/v1/vnf-descriptors/{vnfd['id']}").json() == vnfd


def test_second_package_with_same_image_reuses_it_and_duplicates_are_refused(nfvo, local_vim, tmp_path):
    tar = make_tar(tmp_path / "client.tar", example_files("iperf-client"), prefix="./")
    first = nfvo.api.upload(tar)
    assert first.status_code == 200, first.text
    images = nfvo.api.get(f"/api/v1/datacenters/{local_vim['id']}/images").json()
    assert [i["name"] for i in images].count("iperf-image") == 1

    again = nfvo.api.upload(tar)
    body = assert_problem(again, 409, "duplicate-package")
    assert "iperf-client" in body["detail"]


def test_async_onboarding_reports_the_job(nfvo, tmp_path):
    files = example_files("iperf-server")
    metadata = files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-async")
    vnfd = json.loads(files["vnfd.json"])
    vnfd["name"] = "iperf-async"
    tar = make_tar(tmp_path / "async.tar.gz", {**files, "Metadata.yaml": metadata, "vnfd.json": vnfd}, gz=True)
    answer = nfvo.api.upload(tar, respond_async=True)
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/api/v1/jobs/{answer.json()['id']}"
    job = nfvo.api.wait_job(answer.json()["id"])
    assert job["state"] == "succeeded" and job["progress"] == 100 and job["packageId"]
    listed = {p["name"] for p in nfvo.api.get("/api/v1/vnf-packages/").json()}
    assert {"iperf-server", "iperf-client", "iperf-async"} <= listed


def test_delete_package_removes_vnfd_scripts_and_unused_image(nfvo, local_vim, tmp_path):
    files = example_files("iperf-server")
    own_image = b"another image" * 1000
    metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-del")
                .replace("iperf-image", "del-image").replace("images/iperf.raw", "images/del.raw"))
    vnfd = {**json.loads(files["vnfd.json"]), "name": "iperf-del"}
    tar = make_tar(tmp_path / "del.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd,
                                          "scripts/install.sh": files["scripts/install.sh"],
                                          "scripts/install-srv.sh": files["scripts/install-srv.sh"],
                                          "images/del.raw": own_image})
    onboarded = nfvo.api.upload(tar).json()
    package_id = onboarded["vnfPackageLocation"]
    sha = hashlib.sha256(own_image).hexdigest()
    assert (nfvo.home / "vim-data/local/default/blobs" / sha).exists()
    package_blob = store_blob(nfvo.home, tar.read_bytes())
    shared_script = store_blob(nfvo.home, files["scripts/install.sh"])
    assert package_blob.exists() and shared_script.exists()

    assert nfvo.api.delete(f"/api/v1/vnf-packages/{package_id}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/vnf-packages/{package_id}"), 404, "package-not-found")
    assert_problem(nfvo.api.get(f"/api/v1/vnf-descriptors/{onboarded['id']}"), 404, "vnfd-not-found")
    assert not package_blob.exists(), "the package's own blob goes with it"
    assert shared_script.exists(), "a script other packages have too stays"
    assert not (nfvo.home / "vim-data/local/default/blobs" / sha).exists()
    names = [i["name"] for i in nfvo.api.get(f"/api/v1/datacenters/{local_vim['id']}/images").json()]
    assert "del-image" not in names and "iperf-image" in names


def test_every_validation_error_is_reported_at_once(nfvo, tmp_path):
    metadata = "name: broken\nprovider: FOKUS\nvim_types: [local]\nimage:\n  upload: maybe\n  names: [x]\nbogus: 1\n"
    vnfd = {"name": "other-name", "vendor": "FOKUS", "vdu": [], "endpoint": "generic"}
    tar = make_tar(tmp_path / "broken.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd})
    body = assert_problem(nfvo.api.upload(tar), 422)
    errors = body["errors"]
    assert len(errors) >= 4, errors
    files = {e.get("file") for e in errors}
    assert {"Metadata.yaml", "vnfd.json"} <= files
    upload_error = next(e for e in errors if e.get("pointer") == "/image/upload")
    assert upload_error["line"] == 5 and upload_error["file"] == "Metadata.yaml"
    assert any(e.get("pointer") == "/bogus" and e["line"] == 7 for e in errors)
    assert any(e.get("file") == "vnfd.json" and e.get("pointer", "").startswith("/vdu") for e in errors)


def test_missing_lifecycle_script_is_named(nfvo, tmp_path):
    files = dict(example_files("iperf-server"))
    del files["scripts/install-srv.sh"]
    metadata = files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-noscript")
    vnfd = {**json.loads(files["vnfd.json"]), "name": "iperf-noscript"}
    tar = make_tar(tmp_path / "noscript.tar", {**files, "Metadata.yaml": metadata, "vnfd.json": vnfd})
    body = assert_problem(nfvo.api.upload(tar), 422, "validation-failed")
    [error] = body["errors"]
    assert error["file"] == "vnfd.json" and "install-srv.sh" in error["message"]
    # the VNFD is written with indent=2: "install-srv.sh" stands on line 10
    assert error["pointer"] == "/lifecycle_event/0/lifecycle_events/1" and error["line"] == 10


def test_upload_false_with_unknown_image_names_the_vim_and_suggests_check(nfvo, tmp_path):
    metadata = ("name: needs-image\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: false\n"
                "  names: [no-such-image]\n")
    vnfd = {"name": "needs-image", "vendor": "ACME", "type": "t", "endpoint": "generic", "vdu": [{"vm_image": []}]}
    body = assert_problem(nfvo.api.upload(make_tar(tmp_path / "f.tar", {"Metadata.yaml": metadata,
                                                                          "vnfd.json": vnfd})), 422)
    text = json.dumps(body)
    assert "no-such-image" in text and "local" in text and "check" in text


def test_missing_file_field_and_bad_token(nfvo):
    assert_problem(nfvo.api.request("POST", "/api/v1/vnf-packages", files={"other": ("x", b"x")}), 422)
    answer = nfvo.api.http.get(f"{nfvo.url}/api/v1/vnf-packages", headers={"Authorization": "Bearer nope",
                                                                            "project-id": "default"})
    assert_problem(answer, 401, "unauthenticated")
    answer = nfvo.api.get("/api/v1/vnf-packages", headers={"project-id": "no-such-project"})
    assert_problem(answer, 404, "project-not-found")


def test_embedded_restart_keeps_everything(nfvo):
    before = nfvo.api.get("/api/v1/vnf-packages").json()
    nfvo.server.stop()
    nfvo.processes.remove(nfvo.server)
    nfvo.start_server()
    nfvo.api._token = None
    assert nfvo.api.get("/api/v1/vnf-packages").json() == before
    assert [v["name"] for v in nfvo.api.get("/api/v1/datacenters").json()] == ["local"]


def test_scripts_link_is_cloned_from_a_real_git_server_and_wins_over_scripts_folder(nfvo, tmp_path):
    repos = tmp_path / "repos"
    repos.mkdir()
    commit = make_git_repo(repos / "iperf-scripts", {"install.sh": b"#!/bin/sh\necho from git\n",
                                                     "install-srv.sh": b"#!/bin/sh\necho server from git\n",
                                                     "README.md": b"lifecycle scripts\n"})
    files = example_files("iperf-server")
    with serve_git(repos) as git_url:
        metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-git")
                    + f"scripts-link: {git_url}/iperf-scripts\n")
        vnfd = {**json.loads(files["vnfd.json"]), "name": "iperf-git"}
        tar = make_tar(tmp_path / "git.tar", {**files, "Metadata.yaml": metadata, "vnfd.json": vnfd,
                                              "scripts/install.sh": b"#!/bin/sh\necho ignored\n"})
        answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    package = nfvo.api.get(f"/api/v1/vnf-packages/{answer.json()['vnfPackageLocation']}").json()
    assert package["scriptsLink"] == f"{git_url}/iperf-scripts" and package["scriptsCommit"] == commit
    assert sorted(s["name"] for s in package["scripts"]) == ["README.md", "install-srv.sh", "install.sh"]
    stored = nfvo.api.get(f"/api/v1/vnf-packages/{package['id']}/scripts/install.sh")
    assert stored.status_code == 200 and stored.content == b"#!/bin/sh\necho from git\n"


def test_scripts_link_that_cannot_be_cloned_is_a_clear_error(nfvo, tmp_path):
    files = example_files("iperf-server")
    metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-nogit")
                + f"scripts-link: git://127.0.0.1:{free_port()}/nothing-here\n")
    vnfd = {**json.loads(files["vnfd.json"]), "name": "iperf-nogit"}
    body = assert_problem(nfvo.api.upload(make_tar(tmp_path / "nogit.tar", {**files, "Metadata.yaml": metadata,
                                                                             "vnfd.json": vnfd})),
                          422, "fetch-failed")
    assert "nothing-here" in body["detail"]
    assert "iperf-nogit" not in {p["name"] for p in nfvo.api.get("/api/v1/vnf-packages").json()}


def test_cli_builds_and_uploads_a_package_directory_and_skips_duplicates(nfvo, tmp_path):
    env = {**nfvo.env, "NFVO_URL": nfvo.url, "NFVO_PASSWORD": "test-admin-pw"}
    directory = tmp_path / "cli-pkg"
    for name, content in example_files("iperf-server").items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.replace(b"iperf-server", b"iperf-cli"))
    first = subprocess.run([NFVO, "package", "upload", str(directory)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("onboarded iperf-cli (vendor FOKUS)") and "images iperf-image" in first.stdout

    again = subprocess.run([NFVO, "package", "upload", str(directory)], env=env, capture_output=True, text=True)
    assert again.returncode == 1 and "already onboarded" in again.stderr
    skipped = subprocess.run([NFVO, "package", "upload", "--skip-duplicate", str(directory)], env=env,
                             capture_output=True, text=True)
    assert skipped.returncode == 0 and "already onboarded" in skipped.stdout

    listed = subprocess.run([NFVO, "package", "list"], env=env, capture_output=True, text=True)
    assert any(line.split()[1] == "iperf-cli" for line in listed.stdout.splitlines())


def test_cli_uploads_a_csar_directory_through_vnfpkgm(nfvo, tmp_path):
    env = {**nfvo.env, "NFVO_URL": nfvo.url, "NFVO_PASSWORD": "test-admin-pw"}
    directory = ROOT / "examples" / "csar-iperf"
    first = subprocess.run([NFVO, "package", "upload", str(directory)], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("onboarded iperf-server 3.9 (provider FOKUS): VNF package "), first.stdout
    package_id = first.stdout.split("VNF package ")[1].split(",")[0]
    info = nfvo.api.get(f"/vnfpkgm/v1/vnf_packages/{package_id}").json()
    assert (info["onboardingState"], info["packageFormat"]) == ("ONBOARDED", "etsi-sol004")

    again = subprocess.run([NFVO, "package", "upload", str(directory)], env=env, capture_output=True, text=True)
    assert again.returncode == 1 and "already onboarded" in again.stderr, again.stderr
    skipped = subprocess.run([NFVO, "package", "upload", "--skip-duplicate", str(directory)], env=env,
                             capture_output=True, text=True)
    assert skipped.returncode == 0 and "already onboarded" in skipped.stdout
    states = sorted(p["onboardingState"] for p in nfvo.api.get("/vnfpkgm/v1/vnf_packages").json()
                    if p.get("packageFormat") != "openbaton")
    assert states == ["ERROR", "ONBOARDED"]  # the plain retry's package stays for inspection, the skipped one not


def test_images_map_onboards_every_image_and_fills_every_empty_vdu(nfvo, local_vim, tmp_path):
    disk_a, disk_b = b"A" * 70_000, b"B" * 80_000
    metadata = ("name: imap\nprovider: ACME\nvim_types: [local]\nimages:\n"
                "  imap-a:\n    diskFormat: RAW\n    containerFormat: BARE\n    minRam: 256\n"
                "  imap-b:\n    diskFormat: qcow2\n    containerFormat: bare\n")
    vnfd = {"name": "imap", "vendor": "ACME", "type": "t", "endpoint": "generic",
            "vdu": [{"vm_image": []}, {"vm_image": ["preset"]}]}
    tar = make_tar(tmp_path / "imap.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd,
                                           "images/imap-a": disk_a, "images/imap-b": disk_b})
    answer = nfvo.api.upload(tar)
    assert answer.status_code == 200, answer.text
    vdus = answer.json()["vdu"]
    assert sorted(vdus[0]["vm_image"]) == ["imap-a", "imap-b"] and vdus[1]["vm_image"] == ["preset"]
    stored = {i["name"]: i for i in nfvo.api.get(f"/api/v1/datacenters/{local_vim['id']}/images").json()}
    assert stored["imap-a"]["sha256"] == hashlib.sha256(disk_a).hexdigest() and stored["imap-a"]["minRam"] == 256
    assert stored["imap-b"]["diskFormat"] == "qcow2"


def test_scripts_link_credentials_never_appear_in_answers_or_storage(nfvo, tmp_path):
    files = example_files("iperf-server")
    vnfd = {**json.loads(files["vnfd.json"]), "name": "iperf-creds"}
    for link, slug in ((f"git://deploy:s3cret-token@127.0.0.1:{free_port()}/repo", "fetch-refused"),
                       (f"https://deploy:s3cret-token@127.0.0.1:{free_port()}/repo.git", "fetch-failed")):
        metadata = (files["Metadata.yaml"].decode().replace("name: iperf-server", "name: iperf-creds")
                    + f"scripts-link: {link}\n")
        answer = nfvo.api.upload(make_tar(tmp_path / "creds.tar", {**files, "Metadata.yaml": metadata,
                                                                    "vnfd.json": vnfd}))
        assert_problem(answer, 422, slug)
        assert "s3cret-token" not in answer.text
    stored = b"".join(p.read_bytes() for p in nfvo.home.glob("nfvo.sqlite*"))
    assert b"s3cret-token" not in stored


def test_images_map_errors_point_into_the_images_block(nfvo, tmp_path):
    """Two images of the same name already on the VIM make the lookup ambiguous."""
    for n in (1, 2):
        metadata = (f"name: twin{n}\nprovider: ACME\nvim_types: [local]\nimage:\n  upload: true\n"
                    f"  file: images/twin.raw\nimage-config:\n  name: twin-img\n  diskFormat: raw\n"
                    f"  containerFormat: bare\n")
        vnfd = {"name": f"twin{n}", "vendor": "ACME", "type": "t", "endpoint": "generic", "vdu": [{"vm_image": []}]}
        answer = nfvo.api.upload(make_tar(tmp_path / f"twin{n}.tar", {"Metadata.yaml": metadata, "vnfd.json": vnfd,
                                                                      "images/twin.raw": f"twin {n}".encode()}))
        assert answer.status_code == 200, answer.text
    metadata = "name: amb\nprovider: ACME\nvim_types: [local]\nimages:\n  twin-img:\n    url: http://x.invalid/i\n" \
               "    diskFormat: raw\n    containerFormat: bare\n"
    vnfd = {"name": "amb", "vendor": "ACME", "type": "t", "endpoint": "generic", "vdu": [{"vm_image": []}]}
    body = assert_problem(nfvo.api.upload(make_tar(tmp_path / "amb.tar", {"Metadata.yaml": metadata,
                                                                          "vnfd.json": vnfd})), 422,
                          "image-resolution-failed")
    [error] = body["errors"]
    assert (error["file"], error["line"], error["pointer"]) == ("Metadata.yaml", 5, "/images/twin-img/names")
    assert "twin-img" in error["message"] and "local" in error["message"]


def test_every_bundled_example_onboards_as_make_run_does(tmp_path):
    """``make run``'s loop: each directory of examples/ uploaded with --skip-duplicate, twice; each
    of another format (Open Baton, CSAR, SONATA, ConVirt...), every one onboarded."""
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    with embedded_nfvo(tmp_path) as node:
        env = {**node.env, "NFVO_URL": node.url, "NFVO_PASSWORD": "test-admin-pw"}
        for attempt in ("first", "again"):
            for example in examples:
                done = subprocess.run([NFVO, "package", "upload", "--skip-duplicate", str(example)], env=env,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, (example.name, attempt, done.stderr)
                assert done.stdout.startswith("onboarded " if attempt == "first" else f"{example}"), done.stdout
        formats = {p["format"] for p in node.api.get("/api/v1/vnf-packages").json()}
    assert {"openbaton", "etsi-sol004", "sonata", "convirt"} <= formats, formats
