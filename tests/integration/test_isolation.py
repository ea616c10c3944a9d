"""Project isolation: every /api/v1 operation x every role x two projects, against one real nfvo.

Two projects, A and B, hold the same kinds of things: a VIM instance, an onboarded package
(with its VNFD and job), a VNFD of their own, an NSD and users with each role. Each test
is one cell: an operation sent with ``project-id`` of the *home* project by a caller with one
role there (GUEST, USER, ADMIN of the home project; NONE: a user whose only role is in the
other project; SYSADMIN: a system administrator). It asserts the exact status (and problem
slug), and that no successful answer mentions anything of the other project: ids of the other
project answer 404 from the home project, lists never contain its items. Operations that try
to delete or change the other project's things also check that those are still there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.integration.harness import Api, assert_problem, embedded_nfvo, example_files, make_tar
from tests.integration.servers import serve_http

pytestmark = pytest.mark.integration

PASSWORD = "isolation-pw"
ROLES = ("GUEST", "USER", "ADMIN", "NONE", "SYSADMIN")
HOMES = ("A", "B")


def table(guest, user, admin, none, sysadmin) -> dict[str, int]:
    return dict(zip(ROLES, (guest, user, admin, none, sysadmin), strict=True))


#: reading inside the home project
READ = table(200, 200, 200, 404, 200)
#: reading an id of the other project from the home project
HIDDEN = table(404, 404, 404, 404, 404)
#: writing an id of the other project from the home project (a GUEST is refused before the lookup)
HIDDEN_WRITE = table(403, 404, 404, 404, 404)


def write(ok: int) -> dict[str, int]:
    return table(403, ok, ok, 404, ok)


# --- the world: two projects with one of everything ---------------------------------------

@dataclass
class Side:
    key: str
    project: dict
    vim: dict = field(default_factory=dict)
    package_vnfd: dict = field(default_factory=dict)
    own_vnfd: dict = field(default_factory=dict)
    nsd: dict = field(default_factory=dict)
    job_id: str = ""
    image: dict = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.project["name"]

    def secrets(self) -> set[str]:
        """What must never appear in an answer given inside the other project."""
        return {self.project["id"], self.name, self.vim["id"], self.package_vnfd["id"],
                self.package_vnfd["vnfPackageLocation"], self.own_vnfd["id"], self.own_vnfd["name"],
                self.nsd["id"], self.job_id, self.image["id"], *(u["id"] for u in self.users.values())}


@dataclass
class World:
    nfvo: object
    sides: dict[str, Side]
    market: str
    public_image: dict = field(default_factory=dict)
    apis: dict[tuple[str, str], Api] = field(default_factory=dict)

    def api(self, home: str, role: str) -> Api:
        """The caller of ``role`` in ``home``, sending ``project-id: <home project id>``."""
        if (home, role) not in self.apis:
            project = self.sides[home].project["id"]
            if role == "SYSADMIN":
                self.apis[home, role] = Api(self.nfvo.url, project=project)
            else:
                user = self.user(home, role)
                self.apis[home, role] = Api(self.nfvo.url, user["username"], PASSWORD, project)
        return self.apis[home, role]

    def user(self, home: str, role: str) -> dict:
        if role == "NONE":  # a user of the other project, with no role in this one
            return self.sides[other_of(home)].users["USER"]
        return self.sides[home].users[role]

    def admin(self, key: str) -> Api:
        return self.api(key, "SYSADMIN")

    def forget(self, username: str) -> None:
        """Drops the cached callers of ``username`` (after a password change ended their tokens)."""
        for key in [k for k, api in self.apis.items() if api.username == username]:
            del self.apis[key]


def other_of(home: str) -> str:
    return "B" if home == "A" else "A"


def renamed_package(name: str) -> dict[str, bytes]:
    files = dict(example_files("iperf-server"))
    files["Metadata.yaml"] = files["Metadata.yaml"].decode().replace("name: iperf-server", f"name: {name}").encode()
    files["vnfd.json"] = json.dumps({**json.loads(files["vnfd.json"]), "name": name}).encode()
    return files


def own_vnfd(name: str) -> dict:
    vnfd = json.loads(example_files("iperf-server")["vnfd.json"])
    vnfd.pop("lifecycle_event")
    vnfd["vdu"][0]["vm_image"] = ["iperf-image"]
    return {**vnfd, "name": name, "vendor": "ISO", "version": "1.0"}


def nsd_of(name: str, *refs: str) -> dict:
    return {"name": name, "vendor": "ISO", "version": "1.0", "vnfd": [{"id": ref} for ref in refs]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("isolation")
    market = base / "market"
    market.mkdir()
    for home in HOMES:
        for role in ROLES:
            make_tar(market / f"md-{role}-{home}.tar", renamed_package(f"md-{role.lower()}-{home.lower()}"))
    with embedded_nfvo(base) as nfvo, serve_http(market) as market_url:
        admin = nfvo.api
        sides = {}
        for key in HOMES:
            answer = admin.post_json("/api/v1/projects", {"name": f"iso-{key.lower()}", "description": key})
            assert answer.status_code == 201, answer.text
            sides[key] = side = Side(key, answer.json())
            inside = {"project-id": side.project["id"]}
            side.vim = admin.post_json("/api/v1/datacenters", {"name": f"store-{key}", "type": "local",
                                                                "authUrl": f"local://iso-{key.lower()}"},
                                       headers=inside).json()
            tar = make_tar(base / f"iperf-{key}.tar", example_files("iperf-server"))
            with open(tar, "rb") as f:
                answer = admin.request("POST", "/api/v1/vnf-packages", headers=inside, files={"file": f})
            assert answer.status_code == 200, answer.text
            side.package_vnfd = answer.json()
            with open(make_tar(base / f"job-{key}.tar", renamed_package(f"job-{key.lower()}")), "rb") as f:
                answer = admin.request("POST", "/api/v1/vnf-packages", files={"file": f},
                                       headers={**inside, "Prefer": "respond-async"})
            assert answer.status_code == 202, answer.text
            side.job_id = answer.json()["id"]
            answer = admin.post_json("/api/v1/vnf-descriptors", own_vnfd(f"only-in-{key.lower()}"), headers=inside)
            assert answer.status_code == 201, answer.text
            side.own_vnfd = answer.json()
            answer = admin.post_json("/api/v1/ns-descriptors", nsd_of(f"nsd-{key}", side.package_vnfd["id"]),
                                     headers=inside)
            assert answer.status_code == 201, answer.text
            side.nsd = answer.json()
            side.image = add_image(admin, base / f"gold-{key}.img", f"gold-{key.lower()}", inside)
            for role in ("GUEST", "USER", "ADMIN"):
                answer = admin.post_json("/api/v1/users", {
                    "username": f"{role.lower()}-{key.lower()}", "password": PASSWORD,
                    "email": f"{role.lower()}@{key.lower()}.example.org",
                    "roles": [{"role": role, "project": side.name}]})
                assert answer.status_code == 201, answer.text
                side.users[role] = answer.json()
        for key, side in sides.items():  # NSDs for the market download, naming the other project's VNFD last
            other = sides[other_of(key)]
            (market / f"nsd-own-{key}.json").write_text(json.dumps(nsd_of(
                f"market-{key}", side.own_vnfd["id"], f"ISO/{side.own_vnfd['name']}/1.0")))
            (market / f"nsd-other-{key}.json").write_text(json.dumps(nsd_of(
                f"market-{key}", side.own_vnfd["id"], other.own_vnfd["id"])))
        public = add_image(admin, base / "public.img", "public-gold", {"project-id": sides["A"].project["id"]})
        answer = admin.request("PATCH", f"/api/v1/images/{public['id']}", json={"public": True},
                               headers={"project-id": sides["A"].project["id"]})
        assert answer.status_code == 200, answer.text
        world = World(nfvo, sides, market_url, public)
        for key in HOMES:
            job = world.admin(key).wait_job(sides[key].job_id)
            assert job["state"] == "succeeded", job
        yield world


def add_image(api: Api, path, name: str, headers: dict) -> dict:
    path.write_bytes(os.urandom(4096))
    with open(path, "rb") as f:
        answer = api.request("POST", "/api/v1/images", headers=headers, files={"file": f},
                             data={"name": name, "diskFormat": "raw"})
    assert answer.status_code == 201, answer.text
    return answer.json()


# --- the operations ----------------------------------------------------------------------

@dataclass
class Cell:
    world: World
    home: Side
    other: Side
    role: str
    api: Api

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{self.role.lower()}-{self.home.key.lower()}-{uuid.uuid4().hex[:6]}"

    def still_there(self, path: str) -> None:
        """``path`` of the other project still answers 200 to its system administrator."""
        answer = self.world.admin(self.other.key).get(path)
        assert answer.status_code == 200, f"{path} of the other project is gone: {answer.text}"


@dataclass(frozen=True)
class Op:
    run: Callable[[Cell], object]
    expected: dict[str, int]
    #: the slug of a 404 that is not about the project-id header (NONE's is project-not-found)
    missing: str = "not-found"
    #: slug of a 409 answer
    conflict: str | None = None
    #: a system administrator may see the other project's things here (users, projects)
    global_for_admin: bool = False
    #: checks a successful answer
    check: Callable[[Cell, object], None] | None = None


OPS: dict[str, Op] = {}


def op(name: str, expected: dict[str, int], **options):
    def register(run):
        OPS[name] = Op(run, expected, **options)
        return run
    return register


def ids(answer) -> set[str]:
    return {item["id"] for item in answer.json()}


# vnf-packages ------------------------------------------------------------------------------
@op("vnf-packages.list", READ, check=lambda c, a: (
    c.home.package_vnfd["vnfPackageLocation"] in ids(a)))
def vnf_packages_list(c):
    return c.api.get("/api/v1/vnf-packages/")


@op("vnf-packages.get", READ, missing="package-not-found",
    check=lambda c, a: a.json()["projectId"] == c.home.project["id"])
def vnf_packages_get(c):
    return c.api.get(f"/api/v1/vnf-packages/{c.home.package_vnfd['vnfPackageLocation']}")


@op("vnf-packages.get-other", HIDDEN, missing="package-not-found")
def vnf_packages_get_other(c):
    return c.api.get(f"/api/v1/vnf-packages/{c.other.package_vnfd['vnfPackageLocation']}")


@op("vnf-packages.script", READ, missing="package-not-found",
    check=lambda c, a: a.text == example_files("iperf-server")["scripts/install.sh"].decode())
def vnf_packages_script(c):
    return c.api.get(f"/api/v1/vnf-packages/{c.home.package_vnfd['vnfPackageLocation']}/scripts/install.sh")


@op("vnf-packages.script-other", HIDDEN, missing="package-not-found")
def vnf_packages_script_other(c):
    return c.api.get(f"/api/v1/vnf-packages/{c.other.package_vnfd['vnfPackageLocation']}/scripts/install.sh")


@op("vnf-packages.delete-other", HIDDEN_WRITE, missing="package-not-found")
def vnf_packages_delete_other(c):
    answer = c.api.delete(f"/api/v1/vnf-packages/{c.other.package_vnfd['vnfPackageLocation']}")
    c.still_there(f"/api/v1/vnf-packages/{c.other.package_vnfd['vnfPackageLocation']}")
    return answer


@op("vnf-packages.day0", write(409), missing="package-not-found", conflict="no-day0-files")
def vnf_packages_day0(c):  # an Open Baton package: nothing to render, but only a writer gets that far
    return c.api.post_json(f"/api/v1/vnf-packages/{c.home.package_vnfd['vnfPackageLocation']}/day0", {})


@op("vnf-packages.day0-other", HIDDEN_WRITE, missing="package-not-found")
def vnf_packages_day0_other(c):
    return c.api.post_json(f"/api/v1/vnf-packages/{c.other.package_vnfd['vnfPackageLocation']}/day0", {})


def _uploaded_in_home(c, answer) -> bool:
    package = answer.json().get("vnfPackageLocation") or answer.json()["id"]
    in_home = c.api.get(f"/api/v1/vnf-packages/{package}")
    in_other = c.world.admin(c.other.key).get(f"/api/v1/vnf-packages/{package}")
    return in_home.json()["projectId"] == c.home.project["id"] and in_other.status_code == 404


@op("vnf-packages.upload", write(200), check=_uploaded_in_home)
def vnf_packages_upload(c):
    tar = make_tar(c.world.nfvo.home / f"{c.unique('up')}.tar", renamed_package(c.unique("up")))
    return c.api.upload(tar)


@op("vnf-packages.marketdownload", write(200), check=_uploaded_in_home)
def vnf_packages_marketdownload(c):
    return c.api.post_json("/api/v1/vnf-packages/marketdownload",
                           {"link": f"{c.world.market}/md-{c.role}-{c.home.key}.tar"})


# jobs --------------------------------------------------------------------------------------
@op("jobs.get", READ, missing="job-not-found", check=lambda c, a: a.json()["state"] == "succeeded")
def jobs_get(c):
    return c.api.get(f"/api/v1/jobs/{c.home.job_id}")


@op("jobs.get-other", HIDDEN, missing="job-not-found")
def jobs_get_other(c):
    return c.api.get(f"/api/v1/jobs/{c.other.job_id}")


# vnf-descriptors ---------------------------------------------------------------------------
@op("vnf-descriptors.list", READ, check=lambda c, a: {c.home.package_vnfd["id"], c.home.own_vnfd["id"]} <= ids(a))
def vnf_descriptors_list(c):
    return c.api.get("/api/v1/vnf-descriptors/")


@op("vnf-descriptors.filter-other", READ, check=lambda c, a: a.json() == [])
def vnf_descriptors_filter_other(c):
    return c.api.get("/api/v1/vnf-descriptors", params={"vendor": "ISO", "name": c.other.own_vnfd["name"],
                                                        "version": "1.0"})


@op("vnf-descriptors.get-other", HIDDEN, missing="vnfd-not-found")
def vnf_descriptors_get_other(c):
    return c.api.get(f"/api/v1/vnf-descriptors/{c.other.own_vnfd['id']}")


@op("vnf-descriptors.put-other", HIDDEN_WRITE, missing="vnfd-not-found")
def vnf_descriptors_put_other(c):
    answer = c.api.request("PUT", f"/api/v1/vnf-descriptors/{c.other.own_vnfd['id']}",
                           json=own_vnfd(c.unique("taken")))
    assert c.world.admin(c.other.key).get(f"/api/v1/vnf-descriptors/{c.other.own_vnfd['id']}").json()["name"] == \
        c.other.own_vnfd["name"]
    return answer


@op("vnf-descriptors.delete-other", HIDDEN_WRITE, missing="vnfd-not-found")
def vnf_descriptors_delete_other(c):
    answer = c.api.delete(f"/api/v1/vnf-descriptors/{c.other.own_vnfd['id']}")
    c.still_there(f"/api/v1/vnf-descriptors/{c.other.own_vnfd['id']}")
    return answer


@op("vnf-descriptors.post", write(201), check=lambda c, a: a.json()["projectId"] == c.home.project["id"])
def vnf_descriptors_post(c):
    return c.api.post_json("/api/v1/vnf-descriptors", own_vnfd(c.unique("posted")))


# ns-descriptors ----------------------------------------------------------------------------
@op("ns-descriptors.list", READ, check=lambda c, a: c.home.nsd["id"] in ids(a))
def ns_descriptors_list(c):
    return c.api.get("/api/v1/ns-descriptors/")


@op("ns-descriptors.get-other", HIDDEN, missing="nsd-not-found")
def ns_descriptors_get_other(c):
    return c.api.get(f"/api/v1/ns-descriptors/{c.other.nsd['id']}")


@op("ns-descriptors.put-other", HIDDEN_WRITE, missing="nsd-not-found")
def ns_descriptors_put_other(c):
    answer = c.api.request("PUT", f"/api/v1/ns-descriptors/{c.other.nsd['id']}",
                           json=nsd_of(c.unique("taken"), c.home.own_vnfd["id"]))
    assert c.world.admin(c.other.key).get(f"/api/v1/ns-descriptors/{c.other.nsd['id']}").json()["name"] == \
        c.other.nsd["name"]
    return answer


@op("ns-descriptors.delete-other", HIDDEN_WRITE, missing="nsd-not-found")
def ns_descriptors_delete_other(c):
    answer = c.api.delete(f"/api/v1/ns-descriptors/{c.other.nsd['id']}")
    c.still_there(f"/api/v1/ns-descriptors/{c.other.nsd['id']}")
    return answer


def _names(reference: Callable[[Cell], str]):
    def check(c, answer) -> None:
        problem = assert_problem(answer, 422, "validation-failed")
        assert [e.get("pointer") for e in problem["errors"]] == ["/vnfd/1/id"], problem
        assert reference(c) in json.dumps(problem), problem
    return check


def _vendor_name_version(c) -> str:
    return f"ISO/{c.other.own_vnfd['name']}/1.0"


@op("ns-descriptors.post-ref-other-id", write(422), check=_names(lambda c: c.other.own_vnfd["id"]))
def ns_descriptors_post_ref_other_id(c):
    return c.api.post_json("/api/v1/ns-descriptors", nsd_of(c.unique("nsd"), c.home.own_vnfd["id"],
                                                            c.other.own_vnfd["id"]))


@op("ns-descriptors.post-ref-other-vendor-name-version", write(422), check=_names(_vendor_name_version))
def ns_descriptors_post_ref_other_vendor_name_version(c):
    return c.api.post_json("/api/v1/ns-descriptors", nsd_of(c.unique("nsd"), c.home.own_vnfd["id"],
                                                            _vendor_name_version(c)))


@op("ns-descriptors.post", write(201), check=lambda c, a: [v["id"] for v in a.json()["vnfd"]] == [
    c.home.own_vnfd["id"], c.home.package_vnfd["id"]])
def ns_descriptors_post(c):
    return c.api.post_json("/api/v1/ns-descriptors", nsd_of(c.unique("nsd"), c.home.own_vnfd["id"],
                                                            "FOKUS/iperf-server/1.0"))


@op("ns-descriptors.marketdownload", write(201), check=lambda c, a: [v["id"] for v in a.json()["vnfd"]] == [
    c.home.own_vnfd["id"], c.home.own_vnfd["id"]])
def ns_descriptors_marketdownload(c):
    return c.api.post_json("/api/v1/ns-descriptors/marketdownload",
                           {"link": f"{c.world.market}/nsd-own-{c.home.key}.json"})


@op("ns-descriptors.marketdownload-ref-other-id", write(422), check=_names(lambda c: c.other.own_vnfd["id"]))
def ns_descriptors_marketdownload_ref_other_id(c):
    return c.api.post_json("/api/v1/ns-descriptors/marketdownload",
                           {"link": f"{c.world.market}/nsd-other-{c.home.key}.json"})


# datacenters -------------------------------------------------------------------------------
# images --------------------------------------------------------------------------------------
@op("images.list", READ, check=lambda c, a: {c.home.image["id"], c.world.public_image["id"]} <= ids(a))
def images_list(c):
    return c.api.get("/api/v1/images/")


@op("images.get", READ, missing="image-not-found", check=lambda c, a: a.json()["id"] == c.home.image["id"])
def images_get(c):
    return c.api.get(f"/api/v1/images/{c.home.image['id']}")


@op("images.get-public", READ, missing="image-not-found", check=lambda c, a: a.json()["public"] is True)
def images_get_public(c):
    return c.api.get(f"/api/v1/images/{c.world.public_image['id']}")


@op("images.get-other", HIDDEN, missing="image-not-found")
def images_get_other(c):
    return c.api.get(f"/api/v1/images/{c.other.image['id']}")


@op("images.content-other", HIDDEN, missing="image-not-found")
def images_content_other(c):
    return c.api.get(f"/api/v1/images/{c.other.image['id']}/content")


@op("images.export", READ, missing="image-not-found", check=lambda c, a: a.content[257:262] == b"ustar")
def images_export(c):
    return c.api.get(f"/api/v1/images/{c.home.image['id']}/export")


@op("images.export-other", HIDDEN, missing="image-not-found")
def images_export_other(c):
    return c.api.get(f"/api/v1/images/{c.other.image['id']}/export")


@op("images.patch-other", HIDDEN_WRITE, missing="image-not-found")
def images_patch_other(c):
    answer = c.api.request("PATCH", f"/api/v1/images/{c.other.image['id']}", json={"description": "taken"})
    assert c.world.admin(c.other.key).get(f"/api/v1/images/{c.other.image['id']}").json()["description"] == ""
    return answer


@op("images.patch-public", table(403, 403, 403, 404, 200), missing="image-not-found")
def images_patch_public(c):
    return c.api.request("PATCH", f"/api/v1/images/{c.world.public_image['id']}", json={"tags": ["gold"]})


@op("images.delete-other", HIDDEN_WRITE, missing="image-not-found")
def images_delete_other(c):
    answer = c.api.delete(f"/api/v1/images/{c.other.image['id']}")
    c.still_there(f"/api/v1/images/{c.other.image['id']}")
    return answer


@op("images.distribute-other", HIDDEN_WRITE, missing="image-not-found")
def images_distribute_other(c):
    return c.api.post_json(f"/api/v1/images/{c.other.image['id']}/distribute", {})


@op("images.distribute-to-other-vim", write(404), missing="vim-not-found")
def images_distribute_to_other_vim(c):
    return c.api.post_json(f"/api/v1/images/{c.home.image['id']}/distribute", {"vimInstances": [c.other.vim["id"]]})


@op("images.post", write(201), check=lambda c, a: a.json()["projectId"] == c.home.project["id"])
def images_post(c):
    return c.api.request("POST", "/api/v1/images", files={"file": ("x.img", os.urandom(1024))},
                         data={"name": c.unique("img"), "diskFormat": "raw"})


@op("datacenters.list", READ, check=lambda c, a: c.home.vim["id"] in ids(a))
def datacenters_list(c):
    return c.api.get("/api/v1/datacenters/")


@op("datacenters.get-other", HIDDEN, missing="vim-not-found")
def datacenters_get_other(c):
    return c.api.get(f"/api/v1/datacenters/{c.other.vim['id']}")


@op("datacenters.refresh-other", HIDDEN, missing="vim-not-found")
def datacenters_refresh_other(c):
    return c.api.get(f"/api/v1/datacenters/{c.other.vim['id']}/refresh")


@op("datacenters.images-other", HIDDEN, missing="vim-not-found")
def datacenters_images_other(c):
    return c.api.get(f"/api/v1/datacenters/{c.other.vim['id']}/images")


@op("datacenters.delete-other", HIDDEN_WRITE, missing="vim-not-found")
def datacenters_delete_other(c):
    answer = c.api.delete(f"/api/v1/datacenters/{c.other.vim['id']}")
    c.still_there(f"/api/v1/datacenters/{c.other.vim['id']}")
    return answer


def _created_then_deleted(c, answer) -> bool:
    return c.api.delete(f"/api/v1/datacenters/{answer.json()['id']}").status_code == 204


@op("datacenters.post-name-of-other", write(201), check=_created_then_deleted)
def datacenters_post_name_of_other(c):
    """VIM names are unique per project: the other project's VIM name is free here."""
    return c.api.post_json("/api/v1/datacenters", {"name": c.other.vim["name"], "type": "local",
                                                   "authUrl": f"local://{c.unique('w')}"})


# drivers -----------------------------------------------------------------------------------
@op("drivers.list", READ, check=lambda c, a: "local" in {d["type"] for d in a.json()})
def drivers_list(c):
    return c.api.get("/api/v1/drivers/")


# projects ----------------------------------------------------------------------------------
def _projects_seen(c, answer) -> bool:
    if c.role == "SYSADMIN":
        return {c.home.project["id"], c.other.project["id"]} <= ids(answer)
    return answer.json() == [c.home.project]


@op("projects.list", READ, global_for_admin=True, check=_projects_seen)
def projects_list(c):
    return c.api.get("/api/v1/projects/")


@op("projects.get-other", table(404, 404, 404, 404, 200), missing="project-not-found", global_for_admin=True)
def projects_get_other(c):
    return c.api.get(f"/api/v1/projects/{c.other.project['id']}")


@op("projects.put-home", table(403, 403, 200, 404, 200), check=lambda c, a: a.json() == c.home.project)
def projects_put_home(c):
    return c.api.request("PUT", f"/api/v1/projects/{c.home.project['id']}",
                         json={"description": c.home.project["description"]})


@op("projects.put-other", table(404, 404, 404, 404, 200), missing="project-not-found", global_for_admin=True)
def projects_put_other(c):
    answer = c.api.request("PUT", f"/api/v1/projects/{c.other.project['id']}", json={"name": c.unique("taken")})
    if answer.status_code == 200:  # undo the system administrator's rename
        c.world.admin(c.other.key).request("PUT", f"/api/v1/projects/{c.other.project['id']}",
                                           json={"name": c.other.name})
    c.still_there(f"/api/v1/projects/{c.other.name}")
    return answer


@op("projects.delete-other", table(404, 404, 404, 404, 409), missing="project-not-found", conflict="in-use",
    global_for_admin=True)
def projects_delete_other(c):
    answer = c.api.delete(f"/api/v1/projects/{c.other.project['id']}")
    c.still_there(f"/api/v1/projects/{c.other.project['id']}")
    return answer


@op("projects.post", table(403, 403, 403, 404, 201), global_for_admin=True)
def projects_post(c):
    return c.api.post_json("/api/v1/projects", {"name": c.unique("new")})


# users -------------------------------------------------------------------------------------
def _users_seen(c, answer) -> bool:
    usernames = {u["username"] for u in answer.json()}
    if c.role == "SYSADMIN":
        return {u["username"] for side in c.world.sides.values() for u in side.users.values()} <= usernames
    if c.role == "ADMIN":
        return usernames == {u["username"] for u in c.home.users.values()}
    return answer.json() == [c.world.user(c.home.key, c.role)]


@op("users.list", READ, global_for_admin=True, check=_users_seen)
def users_list(c):
    return c.api.get("/api/v1/users/")


@op("users.current", READ, check=lambda c, a: a.json()["username"] == (
    "admin" if c.role == "SYSADMIN" else c.world.user(c.home.key, c.role)["username"]))
def users_current(c):
    return c.api.get("/api/v1/users/current")


@op("users.get-other-member", table(404, 404, 404, 404, 200), missing="user-not-found", global_for_admin=True)
def users_get_other_member(c):
    return c.api.get(f"/api/v1/users/{c.other.users['USER']['id']}")


@op("users.put-other-member", table(404, 404, 404, 404, 200), missing="user-not-found", global_for_admin=True)
def users_put_other_member(c):
    target = c.other.users["USER"]
    answer = c.api.request("PUT", f"/api/v1/users/{target['id']}", json={"roles": [], "email": "x@taken.org"})
    if answer.status_code == 200:  # undo the system administrator's change
        c.world.admin(c.other.key).request("PUT", f"/api/v1/users/{target['id']}", json=target)
    assert c.world.admin(c.other.key).get(f"/api/v1/users/{target['id']}").json() == target
    return answer


@op("users.grant-role-in-other", table(404, 422, 422, 404, 200), missing="user-not-found",
    global_for_admin=True)
def users_grant_role_in_other(c):
    """The home project's USER asks for (or its ADMIN gives it) a role in the other project."""
    target = c.home.users["USER"]
    answer = c.api.request("PUT", f"/api/v1/users/{target['id']}", json={"roles": [
        {"role": "USER", "project": c.home.name}, {"role": "USER", "project": c.other.project["id"]}]})
    if answer.status_code == 200:
        c.world.admin(c.home.key).request("PUT", f"/api/v1/users/{target['id']}", json=target)
    elif answer.status_code == 422:
        problem = answer.json()
        assert [(e["pointer"], e["message"]) for e in problem["errors"]] == [
            ("/roles/1/project", f"no project {c.other.project['id']!r}")]
    assert c.world.admin(c.home.key).get(f"/api/v1/users/{target['id']}").json() == target
    return answer


@op("users.post", table(403, 403, 403, 404, 201), global_for_admin=True)
def users_post(c):
    return c.api.post_json("/api/v1/users", {"username": c.unique("new"), "password": PASSWORD,
                                             "roles": [{"role": "USER", "project": c.home.name}]})


def _throwaway_of_other(c) -> dict:
    answer = c.world.admin(c.other.key).post_json("/api/v1/users", {
        "username": c.unique("victim"), "password": PASSWORD, "roles": [{"role": "USER", "project": c.other.name}]})
    assert answer.status_code == 201, answer.text
    return answer.json()


@op("users.delete-other-member", table(404, 404, 404, 404, 204), missing="user-not-found")
def users_delete_other_member(c):
    victim = _throwaway_of_other(c)
    answer = c.api.delete(f"/api/v1/users/{victim['id']}")
    if answer.status_code != 204:
        c.still_there(f"/api/v1/users/{victim['id']}")
    return answer


@op("users.changepwd-of-other-member", table(403, 403, 403, 404, 204), missing="user-not-found")
def users_changepwd_of_other_member(c):
    victim = _throwaway_of_other(c)
    answer = c.api.request("PUT", f"/api/v1/users/changepwd/{victim['username']}", json={"new_pwd": "taken-over"})
    still = Api(c.world.nfvo.url, victim["username"], PASSWORD if answer.status_code != 204 else "taken-over", "")
    assert still.get("/api/v1/users/current").status_code == 200
    return answer


@op("users.changepwd-own", table(204, 204, 204, 404, None))
def users_changepwd_own(c):
    """Every role changes its own password (and changes it back); not run for the shared admin."""
    user = c.world.user(c.home.key, c.role)
    own = Api(c.world.nfvo.url, user["username"], PASSWORD, c.home.project["id"])
    answer = own.request("PUT", "/api/v1/users/changepwd", json={"old_pwd": PASSWORD, "new_pwd": "changed-pw"})
    if answer.status_code == 204:
        back = Api(c.world.nfvo.url, user["username"], "changed-pw", "").request(
            "PUT", "/api/v1/users/changepwd", json={"old_pwd": "changed-pw", "new_pwd": PASSWORD})
        assert back.status_code == 204, back.text
        c.world.forget(user["username"])  # its tokens ended with the password change
    return answer


# --- the matrix --------------------------------------------------------------------------

CELLS = [(name, role, home) for name, operation in OPS.items() for role in ROLES for home in HOMES
         if operation.expected[role] is not None]


@pytest.mark.parametrize(("name", "role", "home"), CELLS, ids=[f"{n}-{r}-in-{h}" for n, r, h in CELLS])
def test_isolation(world, name, role, home):
    operation = OPS[name]
    cell = Cell(world, world.sides[home], world.sides[other_of(home)], role, world.api(home, role))
    answer = operation.run(cell)
    expected = operation.expected[role]
    assert answer.status_code == expected, f"{answer.status_code} (expected {expected}): {answer.text[:2000]}"
    if expected >= 400:
        slug = {401: "unauthenticated", 403: "forbidden", 422: "validation-failed", 409: operation.conflict,
                404: "project-not-found" if role == "NONE" else operation.missing}[expected]
        assert_problem(answer, expected, slug)
    elif not (operation.global_for_admin and role == "SYSADMIN"):
        leaked = sorted(s for s in cell.other.secrets() if s in answer.text)
        assert not leaked, f"the answer mentions the other project's {leaked}: {answer.text[:2000]}"
    if operation.check is not None and expected in (200, 201, 422):
        assert operation.check(cell, answer) is not False, answer.text[:2000]


def test_every_v1_route_is_in_the_matrix(world):
    """A new /api/v1 route must be added to the matrix above."""
    spec = world.nfvo.api.http.get(f"{world.nfvo.url}/api/openapi.json").json()
    routes = {(method.upper(), path) for path, item in spec["paths"].items() if path.startswith("/api/v1/")
              for method in item if method in ("get", "post", "put", "delete", "patch")}
    covered = {
        ("GET", "/api/v1/vnf-packages/"), ("POST", "/api/v1/vnf-packages/"),
        ("POST", "/api/v1/vnf-packages/marketdownload"), ("GET", "/api/v1/vnf-packages/{package_id}"),
        ("DELETE", "/api/v1/vnf-packages/{package_id}"), ("POST", "/api/v1/vnf-packages/{package_id}/day0"),
        ("GET", "/api/v1/vnf-packages/{package_id}/scripts/{script_id}"),
        ("GET", "/api/v1/jobs/{job_id}"),
        ("GET", "/api/v1/vnf-descriptors/"), ("POST", "/api/v1/vnf-descriptors/"),
        ("GET", "/api/v1/vnf-descriptors/{vnfd_id}"), ("PUT", "/api/v1/vnf-descriptors/{vnfd_id}"),
        ("DELETE", "/api/v1/vnf-descriptors/{vnfd_id}"),
        ("GET", "/api/v1/ns-descriptors/"), ("POST", "/api/v1/ns-descriptors/"),
        ("GET", "/api/v1/ns-descriptors/{nsd_id}"), ("PUT", "/api/v1/ns-descriptors/{nsd_id}"),
        ("DELETE", "/api/v1/ns-descriptors/{nsd_id}"), ("POST", "/api/v1/ns-descriptors/marketdownload"),
        ("GET", "/api/v1/datacenters/"), ("POST", "/api/v1/datacenters/"),
        ("GET", "/api/v1/datacenters/{vim_id}"), ("DELETE", "/api/v1/datacenters/{vim_id}"),
        ("GET", "/api/v1/datacenters/{vim_id}/refresh"), ("GET", "/api/v1/datacenters/{vim_id}/images"),
        ("GET", "/api/v1/drivers/"),
        ("GET", "/api/v1/images/"), ("POST", "/api/v1/images/"), ("GET", "/api/v1/images/{image_id}"),
        ("PATCH", "/api/v1/images/{image_id}"), ("DELETE", "/api/v1/images/{image_id}"),
        ("GET", "/api/v1/images/{image_id}/content"), ("POST", "/api/v1/images/{image_id}/distribute"),
        ("GET", "/api/v1/images/{image_id}/export"),
        ("GET", "/api/v1/projects/"), ("POST", "/api/v1/projects/"), ("GET", "/api/v1/projects/{project_ref}"),
        ("PUT", "/api/v1/projects/{project_ref}"), ("DELETE", "/api/v1/projects/{project_ref}"),
        ("GET", "/api/v1/users/"), ("POST", "/api/v1/users/"), ("GET", "/api/v1/users/current"),
        ("GET", "/api/v1/users/{user_ref}"), ("PUT", "/api/v1/users/{user_ref}"),
        ("DELETE", "/api/v1/users/{user_ref}"), ("PUT", "/api/v1/users/changepwd"),
        ("PUT", "/api/v1/users/changepwd/{username}"),
    }
    assert routes - covered == set(), "routes without a row in the isolation matrix"
