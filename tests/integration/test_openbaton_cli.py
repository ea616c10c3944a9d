"""The real Open Baton client, PyPI ``openbaton-cli`` 6.0.0 (its ``openbaton`` command), against nfvo
in external mode: PostgreSQL, a Redis broker, ``nfvo serve`` and a real ``nfvo worker`` process.

What openbaton-cli 6.0.0 does, read from its source, and what these tests therefore check:

* it treats only 400, 404, 405, 422 and 500 as errors, and reports one by printing
  ``ERROR: <message>`` (the answer's ``message``) and exiting with status 0;
* any other status is printed like a success: ``create`` shows the answer as a table,
  ``delete`` prints ``Executed delete.`` (so a 409 in-use refusal looks like success);
* ``show``/``create`` print an object as a key/value table, listing the items of each list
  of objects by their ``id`` (it fails with a TypeError on an item without one).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.integration.harness import (
    ROOT,
    Nfvo,
    assert_problem,
    example_files,
    fresh_postgres_database,
    fresh_redis_db,
    make_tar,
    nfvo_env,
)
from tests.integration.servers import serve_http

pytestmark = pytest.mark.integration

OPENBATON = Path(sys.executable).with_name("openbaton")
PASSWORD = "test-admin-pw"  # nfvo_env's NFVO_ADMIN_PASSWORD


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    if not OPENBATON.exists():
        pytest.fail(f"{OPENBATON} is missing: install the test extra (make install, or "
                    f"{sys.executable} -m pip install -e '.[test]'), which brings openbaton-cli==6.0.0",
                    pytrace=False)
    home = tmp_path_factory.mktemp("openbaton-cli") / "home"
    home.mkdir()
    with fresh_postgres_database() as db_url, fresh_redis_db() as broker_url:
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db_url, NFVO_BROKER_URL=broker_url))
        migrated = node.run("db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        node.start_server()
        node.start_worker()
        try:
            vim = node.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local",
                                                              "authUrl": "local://store"})
            assert vim.status_code == 201, vim.text
            yield node
        finally:
            node.stop()


@pytest.fixture(autouse=True)
def empty_catalogue(nfvo):
    """Each test starts with no NSD and no package in project ``default`` (and leaves none)."""
    def clear():
        for nsd in nfvo.api.get("/api/v1/ns-descriptors").json():
            assert nfvo.api.delete(f"/api/v1/ns-descriptors/{nsd['id']}").status_code == 204
        for package in nfvo.api.get("/api/v1/vnf-packages").json():
            assert nfvo.api.delete(f"/api/v1/vnf-packages/{package['id']}").status_code == 204

    clear()
    yield
    clear()


def cli_env(nfvo: Nfvo, password: str = PASSWORD, project: str = "default", username: str = "admin") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OB_")}
    env.update(OB_NFVO_IP="127.0.0.1", OB_NFVO_PORT=str(nfvo.port), OB_USERNAME=username, OB_PASSWORD=password,
               OB_PROJECT_ID=project)
    return env


def openbaton(nfvo: Nfvo, *args: str, cwd: Path | None = None, **env) -> subprocess.CompletedProcess:
    """Runs ``openbaton ARGS`` (OB_* variables pointing at ``nfvo``); fails on a traceback.
    stdin is empty, so a prompt for a missing setting ends the run instead of hanging it."""
    run = subprocess.run([str(OPENBATON), *args], env=cli_env(nfvo, **env), cwd=cwd, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert "Traceback" not in run.stderr, f"openbaton {shlex.join(args)} crashed:\n{run.stdout}\n{run.stderr}"
    assert run.returncode == 0, f"openbaton {shlex.join(args)} exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    return run


def json_values(stdout: str) -> list:
    """The JSON values ``--format json`` printed, in order (it prints them one after another)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (start := _next_value(stdout, at)) is not None:
        value, at = decoder.raw_decode(stdout, start)
        values.append(value)
    return values


def _next_value(text: str, at: int) -> int | None:
    match = re.compile(r"\S").search(text, at)
    return match.start() if match else None


def shown(nfvo: Nfvo, *args: str) -> dict:
    """The one object ``openbaton --format json ARGS`` printed (create, show)."""
    run = openbaton(nfvo, "--format", "json", *args)
    [value] = json_values(run.stdout)
    return value


def listed(nfvo: Nfvo, agent: str) -> list[dict]:
    """``openbaton --format json AGENT list``: one object (of the agent's list columns) per entity."""
    return json_values(openbaton(nfvo, "--format", "json", agent, "list").stdout)


def table(stdout: str) -> dict[str, str]:
    """A key/value table as printed by ``show``/``create`` (multi-line values joined by newlines)."""
    rows, key = {}, None
    for line in stdout.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|", 1)]
        if cells[0] == "key" and key is None:
            continue
        if cells[0]:
            key = cells[0]
            rows[key] = cells[1]
        elif key is not None:
            rows[key] = f"{rows[key]}\n{cells[1]}".strip()
    return rows


def error_of(run: subprocess.CompletedProcess) -> str:
    """The text after ``ERROR:``: openbaton-cli reports 400/404/405/422/500 answers so, exit status 0."""
    match = re.search(r"^ERROR: (.*)$", run.stdout, re.MULTILINE)
    assert match, f"no ERROR line in:\n{run.stdout}"
    return match.group(1)


def iperf_tar(tmp_path: Path) -> Path:
    return make_tar(tmp_path / "iperf-server.tar", example_files("iperf-server"))


# --- vnfpackage ----------------------------------------------------------------------

def test_vnfpackage_create_list_show_delete(nfvo, tmp_path):
    created = openbaton(nfvo, "vnfpackage", "create", str(iperf_tar(tmp_path)))
    vnfd = table(created.stdout)
    package_id = vnfd["vnfPackageLocation"]
    stored_vnfd = nfvo.api.get(f"/api/v1/vnf-descriptors/{vnfd['id']}").json()
    assert stored_vnfd["name"] == vnfd["name"] == "iperf-server" and stored_vnfd["vnfPackageLocation"] == package_id
    assert stored_vnfd["vdu"][0]["vm_image"] == ["iperf-image"]
    assert stored_vnfd["vdu"][0]["id"] in vnfd["vdu"], "the VDU is listed by its id"
    assert stored_vnfd["lifecycle_event"][0]["id"] in vnfd["lifecycle_event"]

    package = nfvo.api.get(f"/api/v1/vnf-packages/{package_id}").json()
    assert package["name"] == "iperf-server" and package["vendor"] == "FOKUS"
    assert listed(nfvo, "vnfpackage") == [{"id": package_id, "name": "iperf-server"}]
    table_list = openbaton(nfvo, "vnfpackage", "list").stdout
    assert re.search(rf"\|\s*{package_id}\s*\|\s*iperf-server\s*\|", table_list), table_list

    assert shown(nfvo, "vnfpackage", "show", package_id) == package
    rows = table(openbaton(nfvo, "vnfpackage", "show", package_id).stdout)
    assert rows["id"] == package_id and rows["name"] == "iperf-server"
    assert "- install.sh" in rows["scripts"] and "- install-srv.sh" in rows["scripts"]
    assert f"- {package['images'][0]['imageId']}" in rows["images"]
    assert {"id": vnfd["id"], "name": "iperf-server", "vendor": "FOKUS", "version": "1.0"} in listed(nfvo, "vnfd")
    assert table(openbaton(nfvo, "vnfd", "show", vnfd["id"]).stdout) == vnfd

    assert openbaton(nfvo, "vnfpackage", "delete", package_id).stdout.strip() == "Executed delete."
    assert nfvo.api.get(f"/api/v1/vnf-packages/{package_id}").status_code == 404
    assert nfvo.api.get(f"/api/v1/vnf-descriptors/{vnfd['id']}").status_code == 404
    assert listed(nfvo, "vnfpackage") == []


def test_vnfpackage_errors_are_reported_with_nfvos_message(nfvo, tmp_path):
    broken = make_tar(tmp_path / "broken.tar", {**example_files("iperf-server"),
                                               "Metadata.yaml": "name: iperf-server\nprovider: FOKUS\n"
                                                                "image:\n  upload: maybe\n"})
    shown = error_of(openbaton(nfvo, "vnfpackage", "create", str(broken)))
    assert re.match(r"\d+ problems? in package file: ", shown), shown  # the findings follow, for the CLI's user
    assert "Metadata.yaml:4 /image/upload: upload must be one of true, false, check (got 'maybe')" in shown
    assert nfvo.api.get("/api/v1/vnf-packages").json() == []

    # -d logs the whole answer, so every finding of a 422 is visible (on stderr)
    debug = openbaton(nfvo, "-d", "vnfpackage", "create", str(broken))
    assert '"pointer": "/image/upload"' in debug.stderr and '"file": "Metadata.yaml"' in debug.stderr

    assert error_of(openbaton(nfvo, "vnfpackage", "show", "no-such-id")) == "No VNF package 'no-such-id' in this project"
    assert error_of(openbaton(nfvo, "vnfpackage", "delete", "no-such-id")) == \
        "No VNF package 'no-such-id' in this project"


def test_vnfpackage_duplicate_is_shown_as_a_problem_table_not_as_an_error(nfvo, tmp_path):
    """409 is not among the statuses openbaton-cli 6.0.0 treats as errors: it prints the answer."""
    tar = iperf_tar(tmp_path)
    openbaton(nfvo, "vnfpackage", "create", str(tar))
    again = openbaton(nfvo, "vnfpackage", "create", str(tar))
    rows = table(again.stdout)
    assert rows["type"] == "https://nfvo.dev/problems/duplicate-package" and rows["code"] == "409", again.stdout
    assert "iperf-server" in rows["message"]
    assert len(nfvo.api.get("/api/v1/vnf-packages").json()) == 1


def test_gzipped_package_named_tar_and_script_show(nfvo, tmp_path):
    """The client uploads only paths ending in .tar; nfvo finds the compression by content."""
    tar = make_tar(tmp_path / "iperf-server.tar", example_files("iperf-server"), gz=True)
    assert tar.read_bytes()[:2] == b"\x1f\x8b"
    vnfd = table(openbaton(nfvo, "vnfpackage", "create", str(tar)).stdout)
    assert nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").json()["name"] == "iperf-server"
    # `script show` finds the script in the package list by its id (its file name)
    assert table(openbaton(nfvo, "script", "show", "install-srv.sh").stdout) == {"id": "install-srv.sh",
                                                                                  "name": "install-srv.sh"}


# --- nsd ----------------------------------------------------------------------------------

def onboard(nfvo, tmp_path) -> dict:
    answer = nfvo.api.upload(iperf_tar(tmp_path))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_nsd_create_by_id_and_by_vendor_name_version_list_show_delete(nfvo, tmp_path):
    vnfd = onboard(nfvo, tmp_path)
    by_id = tmp_path / "by-id.json"
    by_id.write_text(json.dumps({"name": "iperf-ns", "vendor": "FOKUS", "version": "1.0",
                                 "vnfd": [{"id": vnfd["id"]}]}, indent=2))
    created = shown(nfvo, "nsd", "create", str(by_id))
    stored = nfvo.api.get(f"/api/v1/ns-descriptors/{created['id']}").json()
    assert created == stored and stored["name"] == "iperf-ns"
    assert [v["id"] for v in stored["vnfd"]] == [vnfd["id"]]

    by_identity = json.dumps({"name": "iperf-ns-2", "vendor": "FOKUS", "version": "1.0",
                              "vnfd": [{"id": "FOKUS/iperf-server/1.0"}]})  # inline JSON instead of a file
    rows = table(openbaton(nfvo, "nsd", "create", by_identity).stdout)
    assert rows["name"] == "iperf-ns-2" and rows["vnfd"].endswith(f"- {vnfd['id']}")
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{rows['id']}").json()["vnfd"][0]["id"] == vnfd["id"]

    assert sorted((n["name"], n["id"]) for n in listed(nfvo, "nsd")) == \
        [("iperf-ns", created["id"]), ("iperf-ns-2", rows["id"])]
    assert shown(nfvo, "nsd", "show", created["id"]) == stored
    assert table(openbaton(nfvo, "nsd", "show", rows["id"]).stdout)["name"] == "iperf-ns-2"
    updated = shown(nfvo, "nsd", "update", rows["id"], "name=iperf-ns-renamed")
    assert updated["id"] == rows["id"] and updated["name"] == "iperf-ns-renamed"
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{rows['id']}").json()["name"] == "iperf-ns-renamed"

    assert openbaton(nfvo, "nsd", "delete", created["id"]).stdout.strip() == "Executed delete."
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{created['id']}").status_code == 404
    assert [n["id"] for n in listed(nfvo, "nsd")] == [rows["id"]]


def test_vnfd_create_update_delete(nfvo):
    """A VNFD posted without a package: its ``vdu`` and other lists are shown item by item (by id)."""
    body = json.loads((ROOT / "examples" / "iperf-server" / "vnfd.json").read_text())
    body.pop("lifecycle_event")
    body.update(name="posted-vnfd", vendor="tests", version="2.0")
    rows = table(openbaton(nfvo, "vnfd", "create", json.dumps(body)).stdout)
    stored = nfvo.api.get(f"/api/v1/vnf-descriptors/{rows['id']}").json()
    assert stored["name"] == rows["name"] == "posted-vnfd" and f"- {stored['vdu'][0]['id']}" in rows["vdu"]
    updated = shown(nfvo, "vnfd", "update", rows["id"], "version=2.1")
    assert updated["version"] == "2.1" == nfvo.api.get(f"/api/v1/vnf-descriptors/{rows['id']}").json()["version"]
    assert openbaton(nfvo, "vnfd", "delete", rows["id"]).stdout.strip() == "Executed delete."
    assert nfvo.api.get(f"/api/v1/vnf-descriptors/{rows['id']}").status_code == 404


def test_market_create_downloads_an_nsd(nfvo, tmp_path):
    vnfd = onboard(nfvo, tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "iperf-ns.json").write_text(json.dumps({"name": "market-ns", "vendor": "FOKUS", "version": "1.0",
                                                    "vnfd": [{"id": "FOKUS/iperf-server/1.0"}]}))
    with serve_http(site) as url:
        rows = table(openbaton(nfvo, "market", "create", f"{url}/iperf-ns.json").stdout)
    stored = nfvo.api.get(f"/api/v1/ns-descriptors/{rows['id']}").json()
    assert stored["name"] == rows["name"] == "market-ns" and stored["vnfd"][0]["id"] == vnfd["id"]


def test_nsd_with_virtual_links_and_dependencies_is_shown(nfvo, tmp_path):
    """Open Baton NSDs have ``vld`` (and ``vnf_dependency``) lists: the table lists their items by id."""
    vnfd = onboard(nfvo, tmp_path)
    body = {"name": "iperf-vld", "vendor": "FOKUS", "version": "1.0", "vnfd": [{"id": vnfd["id"]}],
            "vld": [{"name": "private"}]}
    rows = table(openbaton(nfvo, "nsd", "create", json.dumps(body)).stdout)
    stored = nfvo.api.get(f"/api/v1/ns-descriptors/{rows['id']}").json()
    assert stored["vld"][0]["name"] == "private" and f"- {stored['vld'][0]['id']}" in rows["vld"]
    assert table(openbaton(nfvo, "nsd", "show", rows["id"]).stdout)["vld"] == rows["vld"]


def test_nsd_errors_and_package_in_use(nfvo, tmp_path):
    vnfd = onboard(nfvo, tmp_path)
    unknown = {"name": "bad-ns", "vnfd": [{"id": "ACME/nothing/9"}]}
    refused = error_of(openbaton(nfvo, "nsd", "create", json.dumps(unknown)))
    assert re.fullmatch(r"1 problem in the NS descriptor: request body:1 /vnfd/0/id: no VNFD 'ACME/nothing/9' "
                        r"\(vendor/name/version\) in this project", refused), refused
    assert error_of(openbaton(nfvo, "nsd", "show", "no-such-id")) == "No NS descriptor 'no-such-id' in this project"
    assert nfvo.api.get("/api/v1/ns-descriptors").json() == []

    nsd = shown(nfvo, "nsd", "create", json.dumps({"name": "uses-it", "vnfd": [{"id": vnfd["id"]}]}))
    # 409 (the package's VNFD is in use) is not an error status for openbaton-cli: it says
    # "Executed delete." though nfvo deleted nothing
    run = openbaton(nfvo, "vnfpackage", "delete", vnfd["vnfPackageLocation"])
    assert run.stdout.strip() == "Executed delete."
    assert nfvo.api.get(f"/api/v1/vnf-packages/{vnfd['vnfPackageLocation']}").status_code == 200
    assert nfvo.api.get(f"/api/v1/ns-descriptors/{nsd['id']}").status_code == 200


# --- vim -------------------------------------------------------------------------------------

def test_vim_create_list_show_delete(nfvo, tmp_path):
    vim_json = tmp_path / "vim.json"
    vim_json.write_text(json.dumps({"name": "cli-store", "type": "local", "authUrl": "local://cli-store",
                                    "tenant": "t1", "username": "ops", "password": "s3cret",
                                    "location": {"name": "Berlin", "latitude": "52.52", "longitude": "13.40"}}))
    created = table(openbaton(nfvo, "vim", "create", str(vim_json)).stdout)
    vim_id = created["id"]
    stored = nfvo.api.get(f"/api/v1/datacenters/{vim_id}").json()
    assert stored["name"] == created["name"] == "cli-store" and stored["type"] == "local"
    assert stored["password"] == "**********" and stored["location"]["name"] == created["location"] == "Berlin"
    assert "password" not in created and "- local" in created["networks"]

    assert {"id": vim_id, "name": "cli-store", "authUrl": "local://cli-store", "tenant": "t1",
            "username": "ops"} in listed(nfvo, "vim")
    shown_json = shown(nfvo, "vim", "show", vim_id)
    assert shown_json == stored and "s3cret" not in json.dumps(shown_json)
    assert table(openbaton(nfvo, "vim", "show", vim_id).stdout)["authUrl"] == "local://cli-store"
    refreshed = table(openbaton(nfvo, "vim", "refresh", vim_id).stdout)
    assert refreshed["id"] == vim_id and "- local" in refreshed["networks"]

    assert openbaton(nfvo, "vim", "delete", vim_id).stdout.strip() == "Executed delete."
    assert nfvo.api.get(f"/api/v1/datacenters/{vim_id}").status_code == 404
    assert vim_id not in [v["id"] for v in listed(nfvo, "vim")]


def test_vim_errors(nfvo):
    assert error_of(openbaton(nfvo, "vim", "create", json.dumps({"authUrl": "local://x"}))).startswith(
        "The request body is not valid: ")
    assert "no-such-id" in error_of(openbaton(nfvo, "vim", "show", "no-such-id"))
    assert [v["name"] for v in nfvo.api.get("/api/v1/datacenters").json()] == ["store"]


@pytest.mark.parametrize("command", [
    ["nsr", "list"], ["vnfr", "show", "x"], ["event", "list"], ["key", "list"], ["service", "list"],
    ["log", "show", "nsr", "vnfr", "host"], ["vim", "update", "{vim}", "name=renamed"],
])
def test_commands_nfvo_does_not_serve_are_reported_as_errors(nfvo, command):
    [store] = [v for v in nfvo.api.get("/api/v1/datacenters").json() if v["name"] == "store"]
    run = openbaton(nfvo, *[word.format(vim=store["id"]) for word in command])
    assert error_of(run).startswith(("The requested URL was not found", "The method is not allowed")), run.stdout


# --- projects, users, credentials ----------------------------------------------------------

def test_project_list(nfvo):
    [default] = [p for p in nfvo.api.get("/api/v1/projects").json() if p["name"] == "default"]
    assert {"id": default["id"], "name": "default", "description": default["description"]} in \
        listed(nfvo, "project")
    assert re.search(rf"\|\s*{default['id']}\s*\|\s*default\s*\|", openbaton(nfvo, "project", "list").stdout)


def test_user_list(nfvo):
    users = nfvo.api.get("/api/v1/users/")
    assert users.status_code == 200, users.text
    [admin] = [u for u in users.json() if u["username"] == "admin"]
    assert {"id": admin["id"], "username": "admin", "email": admin.get("email")} in listed(nfvo, "user")
    assert re.search(rf"\|\s*{admin['id']}\s*\|\s*admin\s*\|", openbaton(nfvo, "user", "list").stdout)


def test_project_and_user_create_show_delete(nfvo, tmp_path):
    (tmp_path / "project.json").write_text(json.dumps({"name": "cli-edge", "description": "made by the CLI"}))
    project = shown(nfvo, "project", "create", str(tmp_path / "project.json"))
    assert project["name"] == "cli-edge" and nfvo.api.get(f"/api/v1/projects/{project['id']}").status_code == 200
    assert shown(nfvo, "project", "show", project["id"])["description"] == "made by the CLI"

    (tmp_path / "user.json").write_text(json.dumps({
        "username": "cli-operator", "password": "operator-pw-1", "email": "op@example.org", "enabled": True,
        "roles": [{"role": "USER", "project": "cli-edge"}]}))
    user = shown(nfvo, "user", "create", str(tmp_path / "user.json"))
    assert user["username"] == "cli-operator" and "password" not in json.dumps(user)
    stored = nfvo.api.get(f"/api/v1/users/{user['id']}").json()
    assert [(r["role"], r["project"]) for r in stored["roles"]] == [("USER", "cli-edge")]
    assert shown(nfvo, "user", "show", user["id"])["email"] == "op@example.org"
    # the new user works with the CLI in its project, and sees nothing of project default
    assert nfvo.api.upload(iperf_tar(tmp_path)).status_code == 200
    assert len(listed(nfvo, "vnfpackage")) == 1
    assert json_values(openbaton(nfvo, "--format", "json", "vnfpackage", "list", username="cli-operator",
                                 password="operator-pw-1", project="cli-edge").stdout) == []

    assert error_of(openbaton(nfvo, "project", "show", "no-such-project")).startswith("No project")
    openbaton(nfvo, "user", "delete", user["id"])
    assert nfvo.api.get(f"/api/v1/users/{user['id']}").status_code == 404
    openbaton(nfvo, "project", "delete", project["id"])
    assert nfvo.api.get(f"/api/v1/projects/{project['id']}").status_code == 404


def test_refused_token_requests_carry_oauth_error_and_detail_message(nfvo):
    cases = [(("openbatonOSClient", "secret"), {"grant_type": "password", "username": "admin", "password": "x"},
              401, "invalid_grant"),
             (("openbatonOSClient", "wrong"), {"grant_type": "password", "username": "admin", "password": PASSWORD},
              401, "invalid_client"),
             (("openbatonOSClient", "secret"), {"grant_type": "refresh_token", "refresh_token": "forged"},
              401, "invalid_grant"),
             (("openbatonOSClient", "secret"), {"grant_type": "implicit"}, 400, "unsupported_grant_type")]
    for client, form, status, oauth_error in cases:
        answer = requests.post(f"{nfvo.url}/oauth/token", auth=client, data=form, timeout=30)
        body = assert_problem(answer, status)
        assert body["error"] == oauth_error and body["error_description"] == body["detailMessage"] == body["detail"]


def test_wrong_password_and_unknown_project_are_errors(nfvo):
    assert error_of(openbaton(nfvo, "vnfpackage", "list", password="wrong")) == "Invalid credential!"
    assert error_of(openbaton(nfvo, "vnfpackage", "list", project="no-such-project")) == \
        "No project 'no-such-project'"


# --- the session docs/openbaton.md shows ---------------------------------------------------

def test_documented_cli_session_runs(nfvo, tmp_path):
    """The ``sh session=openbaton-cli`` block of docs/openbaton.md, run line by line with bash after
    onboarding iperf-server (as ``make run`` does), its ``export`` of OB_* variables pointed at this
    nfvo (the doc shows embedded mode's defaults)."""
    vnfd = onboard(nfvo, tmp_path)
    text = (ROOT / "docs" / "openbaton.md").read_text(encoding="utf-8")
    [block] = re.findall(r"^```sh session=openbaton-cli\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    env = {**cli_env(nfvo), "PATH": f"{OPENBATON.parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for line in (raw.strip() for raw in block.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            documented = dict(word.split("=", 1) for word in shlex.split(line)[1:])
            assert set(documented) == {"OB_NFVO_IP", "OB_NFVO_PORT", "OB_USERNAME", "OB_PASSWORD", "OB_PROJECT_ID"}
            continue  # the test's own values (cli_env) stand in for the documented ones
        run = subprocess.run(["bash", "-c", line], env=env, cwd=tmp_path, capture_output=True, text=True,
                             timeout=300, stdin=subprocess.DEVNULL)
        assert run.returncode == 0 and "Traceback" not in run.stderr and "ERROR" not in run.stdout, \
            f"{line}\n{run.stdout}\n{run.stderr}"
        outputs.append(run.stdout)
    assert any(re.search(rf"\|\s*{vnfd['vnfPackageLocation']}\s*\|\s*iperf-server\s*\|", out) for out in outputs)
    [nsd] = nfvo.api.get("/api/v1/ns-descriptors").json()
    assert nsd["name"] == "iperf-ns" and [v["id"] for v in nsd["vnfd"]] == [vnfd["id"]]
    assert any(nsd["id"] in out for out in outputs), "the session shows the new NSD's id"


@pytest.mark.parametrize("path, body, pointer", [
    ("/api/v1/users", {"username": "u\u00003", "password": "long-enough-pw"}, "/username"),
    ("/api/v1/projects", {"name": "p\u00003"}, "/name"),
    ("/api/v1/projects", {"name": "p" * 300}, "/name"),
    ("/api/v1/datacenters", {"name": "v" * 300, "type": "local", "authUrl": "local://long"}, "/name"),
])
def test_values_postgresql_cannot_hold_are_422_naming_the_field(nfvo, path, body, pointer):
    """On PostgreSQL (this module's database), NUL characters and over-long names never reach a column."""
    problem = assert_problem(nfvo.api.post_json(path, body), 422, "validation-failed")
    assert pointer in [e.get("pointer") for e in problem["errors"]], problem
