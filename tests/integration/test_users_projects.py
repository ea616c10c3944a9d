"""Users, projects, roles and tokens against a real ``nfvo serve`` (embedded mode), plus the
users migration on SQLite and PostgreSQL and the real ``openbaton`` CLI's user and project views."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, inspect
from werkzeug.security import check_password_hash

from nfvo.db import migrate
from tests.integration.harness import Api, assert_problem, embedded_nfvo, fresh_postgres_database

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-password"
OPENBATON = Path(sys.executable).with_name("openbaton")


@pytest.fixture(scope="module")
def nfvo(tmp_path_factory):
    with embedded_nfvo(tmp_path_factory.mktemp("users")) as node:
        yield node


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_project(nfvo, name: str | None = None) -> dict:
    answer = nfvo.api.post_json("/api/v1/projects", {"name": name or unique("proj"), "description": "test"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def make_user(nfvo, roles: list[dict], username: str | None = None, **fields) -> dict:
    body = {"username": username or unique("user"), "password": PASSWORD, "roles": roles, **fields}
    answer = nfvo.api.post_json("/api/v1/users", body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def login(nfvo, user: dict, project: str = "", password: str = PASSWORD) -> Api:
    """An Api for ``user``; with ``project`` "" its project-id header is empty, which names no project."""
    return Api(nfvo.url, user["username"], password, project)


def token_answer(nfvo, **form) -> requests.Response:
    return requests.post(f"{nfvo.url}/oauth/token", auth=("openbatonOSClient", "secret"), data=form, timeout=30)


def roles_of(user: dict) -> set[tuple[str, str]]:
    return {(r["role"], r["project"]) for r in user["roles"]}


# --- users -------------------------------------------------------------------------------

def test_user_is_created_shown_and_listed_in_open_baton_json(nfvo):
    project = make_project(nfvo)
    other = make_project(nfvo)
    body = {"username": unique("alice"), "password": PASSWORD, "email": "alice@example.org", "enabled": True,
            "roles": [{"role": "USER", "project": project["name"]}, {"role": "GUEST", "project": other["id"]}]}
    answer = nfvo.api.post_json("/api/v1/users/", body)
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert set(user) == {"id", "username", "email", "enabled", "roles"}
    assert (user["username"], user["email"], user["enabled"]) == (body["username"], "alice@example.org", True)
    assert sorted(user["roles"], key=lambda r: r["role"]) == [
        {"id": f"GUEST:{other['name']}", "role": "GUEST", "project": other["name"], "projectId": other["id"]},
        {"id": f"USER:{project['name']}", "role": "USER", "project": project["name"], "projectId": project["id"]},
    ]
    assert PASSWORD not in answer.text and "password" not in answer.text
    assert nfvo.api.get(f"/api/v1/users/{user['id']}").json() == user
    assert nfvo.api.get(f"/api/v1/users/{user['username']}").json() == user
    listed = nfvo.api.get("/api/v1/users").json()
    assert user in listed and [u["username"] for u in listed] == sorted(u["username"] for u in listed)
    assert "password" not in nfvo.api.get("/api/v1/users").text


def test_password_is_stored_as_a_salted_hash(nfvo):
    first, second = make_user(nfvo, []), make_user(nfvo, [])
    with sqlite3.connect(nfvo.home / "nfvo.sqlite") as db:
        hashes = dict(db.execute("SELECT id, password_hash FROM users WHERE id IN (?, ?)", (first["id"], second["id"])))
    assert hashes[first["id"]] != hashes[second["id"]]  # salted: same password, different hashes
    for stored in hashes.values():
        assert stored.startswith(("scrypt:", "pbkdf2:")) and PASSWORD not in stored
        assert check_password_hash(stored, PASSWORD) and not check_password_hash(stored, PASSWORD + "x")


def test_every_problem_of_a_user_is_reported_at_once(nfvo):
    body = {"username": "has space", "password": "short", "email": "not-an-email", "enabled": "yes",
            "roles": [{"role": "BOSS", "project": "no-such-project"}, {"role": "GUEST", "project": "*"},
                      {"role": "USER", "project": "default"}, {"role": "GUEST", "project": "default"}, "x"]}
    problem = assert_problem(nfvo.api.post_json("/api/v1/users", body), 422, "validation-failed")
    found = {(e["pointer"], e["message"]) for e in problem["errors"]}
    assert found == {
        ("/username", "must be 1 to 255 characters, without white space or '/'"),
        ("/password", "must be at least 8 characters long"),
        ("/email", "must be an email address (name@domain.tld) or null"),
        ("/enabled", "must be true or false"),
        ("/roles/0/role", "must be one of GUEST, USER, ADMIN, OB_ADMIN"),
        ("/roles/0/project", "no project 'no-such-project'"),
        ("/roles/1/project", "'*' (every project) goes only with ADMIN, which makes a system administrator"),
        ("/roles/3/project", "a second role in 'default': one role per project"),
        ("/roles/4", "must be an object {\"role\", \"project\"}"),
    }
    assert all(e["file"] == "request body" and e["line"] == 1 for e in problem["errors"])
    missing = assert_problem(nfvo.api.post_json("/api/v1/users", {}), 422, "validation-failed")
    assert {e["pointer"] for e in missing["errors"]} == {"/username", "/password"}
    for reserved in ("current", "changepwd", str(uuid.uuid4())):
        problem = assert_problem(nfvo.api.post_json("/api/v1/users", {"username": reserved, "password": PASSWORD}),
                                 422, "validation-failed")
        assert [e["pointer"] for e in problem["errors"]] == ["/username"]
    assert_problem(nfvo.api.post_json("/api/v1/users", ["a", "list"]), 422, "validation-failed")
    assert_problem(nfvo.api.request("POST", "/api/v1/users", data="{", headers={"Content-Type": "application/json"}),
                   422, "validation-failed")


def test_duplicate_username_is_409(nfvo):
    user = make_user(nfvo, [])
    answer = nfvo.api.post_json("/api/v1/users", {"username": user["username"], "password": PASSWORD})
    assert user["username"] in assert_problem(answer, 409, "duplicate-user")["detail"]


@pytest.mark.parametrize("role", [{"role": "OB_ADMIN", "project": "*"}, {"role": "ADMIN", "project": "*"}])
def test_ob_admin_and_admin_of_every_project_make_a_system_administrator(nfvo, role):
    admin = make_user(nfvo, [role])
    assert roles_of(admin) == {("ADMIN", "*")}
    api = login(nfvo, admin)
    assert {u["username"] for u in api.get("/api/v1/users").json()} >= {"admin", admin["username"]}
    assert "default" in {p["name"] for p in api.get("/api/v1/projects").json()}
    assert api.post_json("/api/v1/projects", {"name": unique("by-admin")}).status_code == 201
    assert api.get("/api/v1/datacenters", headers={"project-id": "default"}).status_code == 200


def test_a_user_sees_only_itself_and_may_not_create(nfvo):
    project = make_project(nfvo)
    user = make_user(nfvo, [{"role": "USER", "project": project["name"]}])
    make_user(nfvo, [{"role": "USER", "project": project["name"]}])
    api = login(nfvo, user, project["id"])
    assert api.get("/api/v1/users").json() == [user]
    assert api.get("/api/v1/users/current").json() == user
    assert_problem(api.get("/api/v1/users/admin"), 404, "user-not-found")
    assert_problem(api.post_json("/api/v1/users", {"username": unique("x"), "password": PASSWORD}), 403, "forbidden")
    assert_problem(api.post_json("/api/v1/projects", {"name": unique("x")}), 403, "forbidden")
    assert [p["id"] for p in api.get("/api/v1/projects").json()] == [project["id"]]


def test_update_keeps_what_the_body_leaves_out_and_checks_who_changes_what(nfvo):
    project = make_project(nfvo)
    user = make_user(nfvo, [{"role": "GUEST", "project": project["name"]}], email="old@example.org")
    api = login(nfvo, user, project["name"])  # a GUEST may still change its own email
    answer = api.request("PUT", f"/api/v1/users/{user['id']}", json={**user, "email": "new@example.org"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**user, "email": "new@example.org"}
    assert_problem(api.request("PUT", "/api/v1/users/current", json={"email": "x@example.org"}), 404)
    assert_problem(api.request("PUT", f"/api/v1/users/{user['username']}", json={"enabled": False}), 403, "forbidden")
    assert_problem(api.request("PUT", f"/api/v1/users/{user['username']}",
                               json={"roles": [{"role": "ADMIN", "project": project["name"]}]}), 403, "forbidden")
    renamed = assert_problem(api.request("PUT", f"/api/v1/users/{user['id']}", json={"username": "other"}), 422)
    assert [e["pointer"] for e in renamed["errors"]] == ["/username"]

    answer = nfvo.api.request("PUT", f"/api/v1/users/{user['username']}",
                              json={"roles": [{"role": "USER", "project": project["id"]}], "password": "ignored!!"})
    assert roles_of(answer.json()) == {("USER", project["name"])}
    assert api.get("/api/v1/users/current").status_code == 200  # the password did not change


def test_a_disabled_user_can_neither_call_nor_log_in(nfvo):
    user = make_user(nfvo, [{"role": "USER", "project": "default"}])
    api = login(nfvo, user, "default")
    assert api.get("/api/v1/vnf-packages").status_code == 200
    assert nfvo.api.request("PUT", f"/api/v1/users/{user['id']}", json={"enabled": False}).json()["enabled"] is False
    assert_problem(api.get("/api/v1/vnf-packages"), 401, "unauthenticated")
    assert_problem(token_answer(nfvo, grant_type="password", username=user["username"], password=PASSWORD),
                   401, "invalid-credentials")
    nfvo.api.request("PUT", f"/api/v1/users/{user['id']}", json={"enabled": True})
    assert login(nfvo, user, "default").get("/api/v1/vnf-packages").status_code == 200


def test_change_own_password(nfvo):
    user = make_user(nfvo, [{"role": "GUEST", "project": "default"}])
    api = login(nfvo, user, "default")
    refresh = token_answer(nfvo, grant_type="password", username=user["username"], password=PASSWORD).json()
    wrong = assert_problem(api.request("PUT", "/api/v1/users/changepwd", json={"old_pwd": "wrong", "new_pwd": "x"}),
                           422, "validation-failed")
    assert {(e["pointer"], e["message"]) for e in wrong["errors"]} == {
        ("/old_pwd", "is not the current password"), ("/new_pwd", "must be at least 8 characters long")}
    assert_problem(api.request("PUT", "/api/v1/users/changepwd", json={}), 422, "validation-failed")

    answer = api.request("PUT", "/api/v1/users/changepwd", json={"old_pwd": PASSWORD, "new_pwd": "brand-new-pw"})
    assert answer.status_code == 204, answer.text
    assert "password changed" in assert_problem(api.get("/api/v1/users/current"), 401, "unauthenticated")["detail"]
    refused = token_answer(nfvo, grant_type="refresh_token", refresh_token=refresh["refresh_token"])
    assert assert_problem(refused, 401, "invalid-credentials")["error"] == "invalid_grant"
    assert_problem(token_answer(nfvo, grant_type="password", username=user["username"], password=PASSWORD), 401)
    assert login(nfvo, user, "default", "brand-new-pw").get("/api/v1/users/current").json()["id"] == user["id"]


def test_a_system_administrator_sets_another_users_password(nfvo):
    user = make_user(nfvo, [{"role": "ADMIN", "project": "default"}])
    api = login(nfvo, user, "default")
    assert_problem(api.request("PUT", "/api/v1/users/changepwd/admin", json={"new_pwd": "taken-over!"}), 403)
    assert_problem(nfvo.api.request("PUT", "/api/v1/users/changepwd/nobody-here", json={"new_pwd": "whatever1"}),
                   404, "user-not-found")
    short = assert_problem(nfvo.api.request("PUT", f"/api/v1/users/changepwd/{user['username']}",
                                            json={"new_pwd": "short"}), 422)
    assert [e["pointer"] for e in short["errors"]] == ["/new_pwd"]
    answer = nfvo.api.request("PUT", f"/api/v1/users/changepwd/{user['username']}", json={"new_pwd": "set-by-admin"})
    assert answer.status_code == 204, answer.text
    assert_problem(api.get("/api/v1/users/current"), 401, "unauthenticated")
    assert login(nfvo, user, "default", "set-by-admin").get("/api/v1/users/current").status_code == 200


def test_delete_user(nfvo):
    user = make_user(nfvo, [{"role": "ADMIN", "project": "default"}])
    api = login(nfvo, user, "default")
    assert_problem(api.delete(f"/api/v1/users/{user['id']}"), 403, "forbidden")
    assert_problem(nfvo.api.delete("/api/v1/users/admin"), 403, "forbidden")  # not oneself
    assert nfvo.api.delete(f"/api/v1/users/{user['username']}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/users/{user['id']}"), 404, "user-not-found")
    assert_problem(nfvo.api.delete(f"/api/v1/users/{user['id']}"), 404, "user-not-found")
    assert_problem(api.get("/api/v1/vnf-packages"), 401, "unauthenticated")


def test_a_project_admin_manages_the_roles_in_its_project_only(nfvo):
    mine, theirs = make_project(nfvo), make_project(nfvo)
    boss = make_user(nfvo, [{"role": "ADMIN", "project": mine["name"]}])
    member = make_user(nfvo, [{"role": "USER", "project": mine["name"]}, {"role": "GUEST", "project": theirs["name"]}],
                       email="member@example.org")
    stranger = make_user(nfvo, [{"role": "USER", "project": theirs["name"]}])
    api = login(nfvo, boss, mine["name"])

    seen = {u["username"]: u for u in api.get("/api/v1/users").json()}
    assert set(seen) == {boss["username"], member["username"]}
    assert roles_of(seen[member["username"]]) == {("USER", mine["name"])}  # not the role in the other project
    assert theirs["id"] not in api.get("/api/v1/users").text
    assert_problem(api.get(f"/api/v1/users/{stranger['id']}"), 404, "user-not-found")

    answer = api.request("PUT", f"/api/v1/users/{member['id']}", json={**seen[member["username"]],
                         "roles": [{"role": "ADMIN", "project": mine["name"]}]})
    assert answer.status_code == 200, answer.text
    assert roles_of(answer.json()) == {("ADMIN", mine["name"])}
    assert roles_of(nfvo.api.get(f"/api/v1/users/{member['id']}").json()) == \
        {("ADMIN", mine["name"]), ("GUEST", theirs["name"])}

    elsewhere = assert_problem(api.request("PUT", f"/api/v1/users/{member['id']}", json={"roles": [
        {"role": "USER", "project": mine["name"]}, {"role": "ADMIN", "project": theirs["name"]}]}), 422)
    assert [(e["pointer"], e["message"]) for e in elsewhere["errors"]] == [
        ("/roles/1/project", f"no project {theirs['name']!r}")]
    for change in ({"email": "hijack@example.org"}, {"enabled": False},
                   {"roles": [{"role": "ADMIN", "project": "*"}, {"role": "USER", "project": mine["name"]}]}):
        assert_problem(api.request("PUT", f"/api/v1/users/{member['id']}", json=change), 403, "forbidden")
    assert_problem(api.request("PUT", f"/api/v1/users/{stranger['id']}", json={"roles": []}), 404)
    assert_problem(api.post_json("/api/v1/users", {"username": unique("x"), "password": PASSWORD}), 403)

    answer = api.request("PUT", f"/api/v1/users/{member['id']}", json={"roles": []})
    assert answer.status_code == 200 and answer.json()["roles"] == []
    assert_problem(api.get(f"/api/v1/users/{member['id']}"), 404, "user-not-found")
    assert roles_of(nfvo.api.get(f"/api/v1/users/{member['id']}").json()) == {("GUEST", theirs["name"])}


# --- projects ----------------------------------------------------------------------------

def test_project_create_show_update(nfvo):
    name = unique("edge")
    answer = nfvo.api.post_json("/api/v1/projects/", {"name": name, "description": "edge sites", "id": "ignored"})
    assert answer.status_code == 201, answer.text
    project = answer.json()
    assert project == {"id": project["id"], "name": name, "description": "edge sites"}
    assert project in nfvo.api.get("/api/v1/projects").json()
    assert nfvo.api.get(f"/api/v1/projects/{project['id']}").json() == project
    assert nfvo.api.get(f"/api/v1/projects/{name}").json() == project
    assert ("ADMIN", name) not in roles_of(nfvo.api.get("/api/v1/users/current").json())

    renamed = nfvo.api.request("PUT", f"/api/v1/projects/{project['id']}", json={**project, "name": name + "-2"})
    assert renamed.json() == {**project, "name": name + "-2"}
    described = nfvo.api.request("PUT", f"/api/v1/projects/{name}-2", json={"description": "only this"})
    assert described.json() == {**project, "name": name + "-2", "description": "only this"}

    assert name + "-2" in assert_problem(nfvo.api.post_json("/api/v1/projects", {"name": name + "-2"}),
                                         409, "duplicate-project")["detail"]
    assert_problem(nfvo.api.request("PUT", f"/api/v1/projects/{project['id']}", json={"name": "default"}),
                   409, "duplicate-project")
    problem = assert_problem(nfvo.api.post_json("/api/v1/projects", {"description": 7}), 422, "validation-failed")
    assert {e["pointer"] for e in problem["errors"]} == {"/name", "/description"}
    for bad in ("*", " padded", "", "x" * 256, str(uuid.uuid4())):
        assert_problem(nfvo.api.post_json("/api/v1/projects", {"name": bad}), 422, "validation-failed")
    assert_problem(nfvo.api.get("/api/v1/projects/no-such-project"), 404, "project-not-found")


def test_project_admin_may_change_its_project_but_not_delete_it(nfvo):
    project = make_project(nfvo)
    boss = make_user(nfvo, [{"role": "ADMIN", "project": project["name"]}])
    user = make_user(nfvo, [{"role": "USER", "project": project["name"]}])
    answer = login(nfvo, boss).request("PUT", f"/api/v1/projects/{project['id']}", json={"description": "mine"})
    assert answer.status_code == 200 and answer.json()["description"] == "mine"
    assert_problem(login(nfvo, user).request("PUT", f"/api/v1/projects/{project['id']}", json={"description": "x"}),
                   403, "forbidden")
    assert_problem(login(nfvo, boss).delete(f"/api/v1/projects/{project['id']}"), 403, "forbidden")


def test_the_default_project_keeps_its_name_and_stays(nfvo):
    assert_problem(nfvo.api.delete("/api/v1/projects/default"), 409, "default-project")
    assert_problem(nfvo.api.request("PUT", "/api/v1/projects/default", json={"name": "renamed"}), 409, "default-project")
    answer = nfvo.api.request("PUT", "/api/v1/projects/default", json={"name": "default", "description": "main"})
    assert answer.status_code == 200 and answer.json()["description"] == "main"


def test_a_project_is_deleted_only_when_empty(nfvo):
    project = make_project(nfvo)
    member = make_user(nfvo, [{"role": "USER", "project": project["name"]}, {"role": "GUEST", "project": "default"}])
    inside = {"project-id": project["id"]}
    vim = nfvo.api.post_json("/api/v1/datacenters", {"name": "store", "type": "local", "authUrl": "local://del-me"},
                             headers=inside).json()
    vnfd = nfvo.api.post_json("/api/v1/vnf-descriptors", {
        "name": "lonely", "vendor": "ACME", "version": "1.0", "type": "t", "endpoint": "generic",
        "vdu": [{"vm_image": ["img"], "scale_in_out": 1, "vimInstanceName": ["store"]}]}, headers=inside)
    assert vnfd.status_code == 201, vnfd.text
    vnfd = vnfd.json()

    problem = assert_problem(nfvo.api.delete(f"/api/v1/projects/{project['id']}"), 409, "in-use")
    assert "1 VNF descriptor, 1 VIM instance" in problem["detail"]
    assert {e["message"] for e in problem["errors"]} == {f"VNF descriptor {vnfd['id']} (lonely)",
                                                         f"VIM instance {vim['id']} (store)"}
    assert nfvo.api.delete(f"/api/v1/vnf-descriptors/{vnfd['id']}", headers=inside).status_code == 204
    assert nfvo.api.delete(f"/api/v1/datacenters/{vim['id']}", headers=inside).status_code == 204

    assert nfvo.api.delete(f"/api/v1/projects/{project['id']}").status_code == 204
    assert_problem(nfvo.api.get(f"/api/v1/projects/{project['id']}"), 404, "project-not-found")
    assert roles_of(nfvo.api.get(f"/api/v1/users/{member['id']}").json()) == {("GUEST", "default")}
    assert_problem(nfvo.api.get("/api/v1/datacenters", headers=inside), 404, "project-not-found")


# --- tokens ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def short_lived(tmp_path_factory):
    """A second nfvo whose tokens live 2 s (NFVO_TOKEN_TTL)."""
    with embedded_nfvo(tmp_path_factory.mktemp("ttl"), NFVO_TOKEN_TTL="2") as node:
        yield node


def test_tokens_expire_after_nfvo_token_ttl_and_are_refreshed(short_lived):
    granted = token_answer(short_lived, grant_type="password", username="admin", password="test-admin-pw").json()
    assert granted["expires_in"] == 2 and granted["access_token"] == granted["value"]
    headers = {"Authorization": f"Bearer {granted['access_token']}", "project-id": "default"}
    assert requests.get(f"{short_lived.url}/api/v1/users/current", headers=headers, timeout=30).status_code == 200

    time.sleep(3.5)  # past the 2 s lifetime
    expired = requests.get(f"{short_lived.url}/api/v1/users/current", headers=headers, timeout=30)
    assert "expired" in assert_problem(expired, 401, "unauthenticated")["detail"]

    refreshed = token_answer(short_lived, grant_type="refresh_token", refresh_token=granted["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    headers["Authorization"] = f"Bearer {refreshed.json()['access_token']}"
    answer = requests.get(f"{short_lived.url}/api/v1/users/current", headers=headers, timeout=30)
    assert answer.status_code == 200 and answer.json()["username"] == "admin"
    assert_problem(token_answer(short_lived, grant_type="refresh_token", refresh_token=granted["access_token"]), 401)


def test_the_last_system_administrator_stays(short_lived):
    """Run on the second nfvo, whose only system administrator is ``admin``."""
    api = Api(short_lived.url)
    me = api.get("/api/v1/users/current").json()
    assert_problem(api.request("PUT", "/api/v1/users/admin", json={"roles": [{"role": "ADMIN", "project": "default"}]}),
                   409, "last-admin")
    assert_problem(api.request("PUT", "/api/v1/users/admin", json={"enabled": False}), 409, "last-admin")
    assert api.get("/api/v1/users/current").json() == me

    second = api.post_json("/api/v1/users", {"username": "root2", "password": PASSWORD,
                                             "roles": [{"role": "OB_ADMIN", "project": "*"}]}).json()
    answer = api.request("PUT", "/api/v1/users/admin", json={"roles": [{"role": "ADMIN", "project": "default"}]})
    assert answer.status_code == 200 and roles_of(answer.json()) == {("ADMIN", "default")}
    other = Api(short_lived.url, "root2", PASSWORD)
    assert_problem(other.request("PUT", "/api/v1/users/root2", json={"roles": []}), 409, "last-admin")
    restored = other.request("PUT", "/api/v1/users/admin", json={"roles": me["roles"]})
    assert roles_of(restored.json()) == roles_of(me)
    assert other.delete(f"/api/v1/users/{second['id']}").status_code == 403  # not oneself
    assert api.delete(f"/api/v1/users/{second['id']}").status_code == 204


# --- the schema, the API description, the real CLI -----------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_users_migration_upgrades_and_downgrades(backend, tmp_path):
    def columns(url: str) -> set[str]:
        engine = create_engine(url)
        try:
            return {c["name"] for c in inspect(engine).get_columns("users")}
        finally:
            engine.dispose()

    def run(url: str) -> None:
        migrate.upgrade(url, "0002")
        assert "email" not in columns(url)
        migrate.upgrade(url)
        assert "email" in columns(url)
        from alembic import command
        command.downgrade(migrate.alembic_config(url), "0002")
        assert "email" not in columns(url)

    if backend == "sqlite":
        run(f"sqlite:///{tmp_path / 'nfvo.sqlite'}")
    else:
        with fresh_postgres_database() as url:
            run(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_openapi_describes_users_and_projects(nfvo):
    paths = requests.get(f"{nfvo.url}/api/openapi.json", timeout=30).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/users/"]) and {"get", "put", "delete"} <= set(
        paths["/api/v1/users/{user_ref}"])
    assert "put" in paths["/api/v1/users/changepwd"] and "put" in paths["/api/v1/users/changepwd/{username}"]
    assert {"get", "put", "delete"} <= set(paths["/api/v1/projects/{project_ref}"])
    assert "requestBody" in paths["/api/v1/users/"]["post"]


def openbaton(nfvo, *args: str) -> str:
    if not OPENBATON.exists():
        pytest.fail(f"{OPENBATON} is missing: install the test extra (make install), which brings "
                    "openbaton-cli==6.0.0", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OB_")}
    env.update(OB_NFVO_IP="127.0.0.1", OB_NFVO_PORT=str(nfvo.port), OB_USERNAME="admin",
               OB_PASSWORD="test-admin-pw", OB_PROJECT_ID="default")
    run = subprocess.run([str(OPENBATON), *args], env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0 and "Traceback" not in run.stderr and "ERROR" not in run.stdout, \
        f"{run.stdout}\n{run.stderr}"
    return run.stdout


def test_openbaton_cli_lists_and_shows_users_and_projects(nfvo):
    user = make_user(nfvo, [{"role": "USER", "project": "default"}], email="cli@example.org")
    listed = openbaton(nfvo, "user", "list")
    assert re.search(rf"\|\s*{user['id']}\s*\|\s*{user['username']}\s*\|\s*cli@example.org\s*\|", listed), listed
    shown = openbaton(nfvo, "user", "show", user["id"])
    assert "USER:default" in shown and "cli@example.org" in shown and "password" not in shown
    default = nfvo.api.get("/api/v1/projects/default").json()
    assert re.search(rf"\|\s*{default['id']}\s*\|\s*default\s*\|", openbaton(nfvo, "project", "list"))


# --- the examples of docs/users.md ---------------------------------------------------------

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FENCE = re.compile(r"^```json ([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def test_examples_in_users_doc_answer_as_shown(nfvo):
    """Each ```json call=METHOD:PATH example=NAME``` block of docs/users.md is sent as the
    system administrator, in order; its ```json answer=NAME status=N``` block must be the
    answer, every UUID aside (ids differ from run to run)."""
    def ids_aside(value):
        return json.loads(UUID.sub("<id>", json.dumps(value)))

    text = (Path(__file__).resolve().parents[2] / "docs" / "users.md").read_text(encoding="utf-8")
    blocks = [(dict(w.split("=", 1) for w in m.group(1).split()), m.group(2)) for m in FENCE.finditer(text)]
    answers = {markers["answer"]: (int(markers["status"]), json.loads(body)) for markers, body in blocks
               if "answer" in markers}
    calls = [(markers["example"], markers["call"].split(":", 1), json.loads(body)) for markers, body in blocks
             if "call" in markers]
    assert {name for name, _, _ in calls} == set(answers) and len(calls) >= 4
    for name, (method, path), body in calls:
        answer = nfvo.api.request(method, path, json=body)
        status, shown = answers[name]
        assert answer.status_code == status, f"{name}: {answer.text}"
        assert ids_aside(answer.json()) == ids_aside(shown), name
