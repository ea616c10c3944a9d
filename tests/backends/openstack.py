"""Real Keystone 30 + Glance 33 (from PyPI) on loopback ports, for the OpenStack driver's tests.

``openstack_fixture()`` makes a session-scoped pytest fixture yielding an
:class:`OpenStackCloud`; ``openstack_cloud()`` is the same as a context manager.  The
servers start at most once per test process, whichever modules ask for them, and stop
at the end of the session (and, as a safety net, at interpreter exit).

How it works:

1. Keystone, Glance and gunicorn are installed from PyPI into their own venv,
   ``<repo>/.cache/openstack-venv``, pinned by ``openstack/constraints.txt`` beside this
   file (about 55 s and 290 MB, once; reused while it holds the pinned versions).  The
   venv also gets ``openstack/nfvo_sqlite_immediate.py`` (see its docstring: without it
   Glance's imports fail at random on SQLite).
2. A *template* is made once per venv (``<venv>/nfvo-template-*``): Keystone's SQLite DB
   after ``db_sync``/``fernet_setup``/``credential_setup``/``bootstrap`` (identity
   endpoints on a placeholder URL), its keys, and Glance's DB after ``db_sync`` (about 15 s).
3. Every session copies the template into a temporary directory, points the identity
   endpoints at the ports picked for this run, starts Keystone and two Glance API
   processes with gunicorn (own process groups, killed with the test process even on
   SIGKILL), waits until they answer, and registers the image service, one region per
   Glance (see :data:`GLANCES`): ``RegionOne`` offers ``web-download`` imports from
   127.0.0.1 on any port, ``RegionTwo`` only ``glance-direct``.  That takes 7-10 s.
   A third Glance, ``RegionThree``, offers ``web-download`` behind the usual import filter,
   which refuses every port but 80 and 443 (so it refuses the tests' HTTP servers); it
   starts only when a test asks for it (:meth:`OpenStackCloud.started`, about 4 s more,
   once per session).  The Glances share one database and one file store.  The servers'
   logs of the last session are kept in ``<repo>/.cache/openstack-logs``.

Anything that goes wrong fails the test (never skips) with the log tail and what to do.
Nothing here reads the developer's OpenStack configuration (clouds.yaml, ``OS_*``).
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.backends import processes
from tests.backends.processes import (
    ServerRun,
    SharedServer,
    clean_env,
    file_lock,
    free_ports,
    kill_group,
    new_run_dir,
    remove_abandoned_runs,
    spawn,
    tail,
)

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = Path(__file__).with_name("openstack") / "constraints.txt"
VENV = Path(os.environ.get("NFVO_TEST_OPENSTACK_VENV") or ROOT / ".cache" / "openstack-venv")
LAST_LOGS = ROOT / ".cache" / "openstack-logs"
PINS = {"keystone": "30.0.0", "glance": "33.0.0"}  # gunicorn comes from the constraints file
ADMIN_PASSWORD = "nfvo-test-secret"
REGION, REGION_WITHOUT_IMPORT, REGION_IMPORT_FILTERED = "RegionOne", "RegionTwo", "RegionThree"
PLACEHOLDER = "http://127.0.0.1:1"  # identity endpoint URL in the template, replaced per run

PIP_TIMEOUT, STEP_TIMEOUT, READY_TIMEOUT = 900, 180, 90
HOW_TO_FIX = (
    "The OpenStack tests run a real Keystone and Glance installed from PyPI into "
    f"{VENV} (pinned by {CONSTRAINTS.relative_to(ROOT)}). They need python3 with the venv module, "
    "access to PyPI, about 300 MB of disk and 1 GB of memory. Remove that directory to force a "
    "clean reinstall, or point NFVO_TEST_OPENSTACK_VENV at a venv holding keystone==30.0.0, "
    "glance==33.0.0 and gunicorn."
)


@dataclass(frozen=True)
class GlanceSetup:
    """One Glance API process: its region, the suffix of its directories and logs, its import
    methods, the ports its ``web-download`` filter allows (``[]``: any), its gunicorn workers,
    and whether it starts with the session or on demand (:meth:`OpenStackCloud.started`)."""

    region: str
    suffix: str
    methods: str
    allowed_ports: str
    workers: str
    on_demand: bool = False

    @property
    def conf_dir(self) -> str:
        return f"glance{self.suffix}"


GLANCES = (
    GlanceSetup(REGION, "", "[glance-direct,web-download]", "[]", "2"),
    GlanceSetup(REGION_WITHOUT_IMPORT, "-2", "[glance-direct]", "[]", "1"),
    GlanceSetup(REGION_IMPORT_FILTERED, "-3", "[glance-direct,web-download]", "[80, 443]", "1", on_demand=True),
)


class OpenStackStartError(RuntimeError):
    """The test OpenStack could not be installed or started; the message says why and what to do."""


@dataclass
class OpenStackCloud(ServerRun):
    """A running Keystone + Glance: what a VIM registration needs, and where the logs are."""

    base: Path
    keystone_port: int
    glance_ports: dict[str, int]  # by region, of the Glances started so far
    username: str = "admin"
    password: str = ADMIN_PASSWORD
    project: str = "admin"
    user_domain: str = "Default"
    project_domain: str = "Default"
    region: str = REGION
    region_without_import: str = REGION_WITHOUT_IMPORT
    #: a Glance offering web-download whose import filter refuses every port but 80 and 443
    region_import_filtered: str = REGION_IMPORT_FILTERED
    processes: list[subprocess.Popen] = field(default_factory=list, repr=False)
    image_service_id: str = ""
    _starting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.keystone_port}/v3"

    @property
    def glance_port(self) -> int:
        return self.glance_ports[REGION]

    @property
    def glance_port_without_import(self) -> int:
        return self.glance_ports[REGION_WITHOUT_IMPORT]

    @property
    def glance_url(self) -> str:
        """RegionOne's Glance (web-download from 127.0.0.1, any port)."""
        return f"http://127.0.0.1:{self.glance_port}"

    @property
    def glance_url_without_import(self) -> str:
        return f"http://127.0.0.1:{self.glance_port_without_import}"

    def started(self, region: str) -> str:
        """``region``, once its Glance answers: one started on demand (``RegionThree``) starts
        on the first call (about 4 s) and runs until the session ends.  pytest.fail when it cannot."""
        glance = next((g for g in GLANCES if g.region == region), None)
        if glance is None:
            pytest.fail(f"the test OpenStack has no region {region!r}", pytrace=False)
        problem = None
        with self._starting:
            if region not in self.glance_ports:
                try:
                    _start_on_demand(self, glance)
                except OpenStackStartError as exc:
                    problem = f"{exc}\n{self.log_tail()}\n\n{HOW_TO_FIX}"
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return region

    @property
    def image_dir(self) -> Path:
        """Glance's file store: one file per image id."""
        return self.base / "images"

    def stop(self) -> None:
        """Kills the servers and removes the run directory (logs kept in LAST_LOGS).  Idempotent."""
        self.stop_servers(LAST_LOGS)


# --- the fixture ------------------------------------------------------------------------


def _start_shared() -> OpenStackCloud:
    return start()


SHARED = SharedServer(_start_shared, OpenStackStartError, "OpenStack", HOW_TO_FIX)


def openstack_fixture(name: str | None = None) -> Callable:
    """A session-scoped pytest fixture yielding the shared :class:`OpenStackCloud`.

    In a test module: ``openstack = openstack_fixture()``.  Every module gets the same
    servers; they stop when the session ends.
    """
    return SHARED.fixture(name)


# --- starting ---------------------------------------------------------------------------


def start() -> OpenStackCloud:
    """Installs (once) and starts Keystone and Glance; raises OpenStackStartError."""
    ensure_venv()
    with file_lock(VENV.parent / "openstack-venv.lock"):
        _install_sqlite_hook()
    template = ensure_template()
    remove_abandoned_runs(RUN_PREFIX)
    base = new_run_dir(RUN_PREFIX)
    for _attempt in range(3):  # a free port may be taken between probing and binding
        at_start = [g.region for g in GLANCES if not g.on_demand]
        keystone_port, *glance_ports = free_ports(1 + len(at_start))
        cloud = OpenStackCloud(base, keystone_port, dict(zip(at_start, glance_ports, strict=True)))
        try:
            _launch(cloud, template)
            return cloud
        except _PortTaken:
            cloud.stop()
            base = new_run_dir(RUN_PREFIX)
        except OpenStackStartError as exc:
            logs = cloud.log_tail()
            cloud.stop()
            raise OpenStackStartError(f"{exc}\n{logs}\n\n{HOW_TO_FIX}") from None
    raise OpenStackStartError(f"no free loopback ports for Keystone and Glance.\n{HOW_TO_FIX}")


class _PortTaken(Exception):
    pass


RUN_PREFIX = "nfvo-openstack-"


def ensure_venv() -> None:
    """Creates or repairs the OpenStack venv; reused while it holds the pinned versions."""
    processes.ensure_venv(VENV, [*(f"{n}=={v}" for n, v in PINS.items()), "gunicorn"], constraints=CONSTRAINTS,
                          env=_clean_env(), problem=_venv_problem, error=OpenStackStartError,
                          what="Keystone and Glance", how_to_fix=HOW_TO_FIX, timeout=PIP_TIMEOUT)


def _venv_problem() -> str | None:
    python = VENV / "bin" / "python"
    if not python.exists() or not (VENV / "bin" / "gunicorn").exists():
        return f"{VENV} has no python or gunicorn"
    check = ("import importlib.metadata as m, sys; import keystone, glance, gunicorn; "
             f"sys.exit(0 if all(m.version(n) == v for n, v in {PINS!r}.items()) else 3)")
    try:
        result = subprocess.run([str(python), "-c", check], capture_output=True, timeout=60, env=_clean_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} does not run: {exc}"
    return None if result.returncode == 0 else f"{VENV} lacks {PINS} ({result.stderr.decode()[-500:]})"


def ensure_template() -> Path:
    """Keystone and Glance databases initialised once per venv (the slow keystone-manage part)."""
    recipe = CONSTRAINTS.read_bytes() + ADMIN_PASSWORD.encode() + _keystone_conf(Path("/")).encode()
    digest = hashlib.sha256(recipe).hexdigest()[:16]
    template = VENV / f"nfvo-template-{digest}"
    with file_lock(VENV.parent / "openstack-venv.lock"):
        if (template / "ready").exists():
            return template
        shutil.rmtree(template, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="template-", dir=VENV))
        for d in ("fernet-keys", "credential-keys", "logs"):
            (work / d).mkdir()
        (work / "keystone.conf").write_text(_keystone_conf(work))
        user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        manage = [str(VENV / "bin" / "keystone-manage"), "--config-file", str(work / "keystone.conf")]
        glance_conf = work / "glance-manage.conf"
        glance_conf.write_text(f"[DEFAULT]\nlog_file = {work}/logs/glance-manage.log\n"
                               f"[database]\nconnection = sqlite:///{work}/glance.db\n")
        glance_sync = subprocess.Popen(  # in parallel with Keystone's steps
            [str(VENV / "bin" / "glance-manage"), "--config-file", str(glance_conf), "db_sync"],
            stdout=open(work / "logs" / "glance-db-sync.log", "wb"), stderr=subprocess.STDOUT, env=_clean_env(),
        )
        try:
            for step in (
                ["db_sync"],
                ["fernet_setup", "--keystone-user", user, "--keystone-group", group],
                ["credential_setup", "--keystone-user", user, "--keystone-group", group],
                ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD, "--bootstrap-region-id", REGION,
                 "--bootstrap-admin-url", f"{PLACEHOLDER}/v3", "--bootstrap-internal-url", f"{PLACEHOLDER}/v3",
                 "--bootstrap-public-url", f"{PLACEHOLDER}/v3"],
            ):
                _run_step([*manage, *step], work / "logs" / "keystone-manage.log")
            try:
                code = glance_sync.wait(timeout=STEP_TIMEOUT)
            except subprocess.TimeoutExpired:
                code = "timeout"
            if code != 0:
                raise OpenStackStartError(f"glance-manage db_sync failed ({code}):\n"
                                          f"{tail(work / 'logs' / 'glance-db-sync.log')}\n\n{HOW_TO_FIX}")
        except BaseException:
            if glance_sync.poll() is None:
                glance_sync.kill()
                glance_sync.wait()
            shutil.rmtree(work, ignore_errors=True)
            raise
        for name in ("keystone.conf", "glance-manage.conf"):
            (work / name).unlink()
        shutil.rmtree(work / "logs")
        (work / "ready").write_text("ok\n")
        work.rename(template)
        return template


def _run_step(command: list[str], log: Path) -> None:
    with open(log, "ab") as out:
        try:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT,
                                  stdin=subprocess.DEVNULL, env=_clean_env()).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if code != 0:
        raise OpenStackStartError(f"{' '.join(command[:1] + command[3:5])} failed ({code}):\n{tail(log)}\n\n"
                                  f"{HOW_TO_FIX}")


def _install_sqlite_hook() -> None:
    """Puts ``nfvo_sqlite_immediate`` (see its docstring) on the OpenStack venv's path, with a .pth."""
    site = next((VENV / "lib").glob("python3*/site-packages"))
    hook = CONSTRAINTS.with_name("nfvo_sqlite_immediate.py")
    shutil.copy(hook, site / hook.name)
    (site / "nfvo_sqlite_immediate.pth").write_text("import nfvo_sqlite_immediate\n")


def _launch(cloud: OpenStackCloud, template: Path) -> None:
    base = cloud.base
    for d in ("logs", "images", "locks"):
        (base / d).mkdir(exist_ok=True)
    shutil.copytree(template / "fernet-keys", base / "fernet-keys")
    shutil.copytree(template / "credential-keys", base / "credential-keys")
    shutil.copy(template / "keystone.db", base / "keystone.db")
    shutil.copy(template / "glance.db", base / "glance.db")
    with contextlib.closing(sqlite3.connect(base / "keystone.db")) as db, db:
        db.execute("UPDATE endpoint SET url = replace(url, ?, ?)", (PLACEHOLDER, f"http://127.0.0.1:{cloud.keystone_port}"))
    for name in ("keystone.db", "glance.db"):  # readers no longer block the writer (Glance's import threads)
        with contextlib.closing(sqlite3.connect(base / name)) as db:
            db.execute("PRAGMA journal_mode=WAL")

    (base / "keystone.conf").write_text(_keystone_conf(base))
    (base / "keystone_app.py").write_text(
        "import os, sys\n"
        "sys.argv = sys.argv[:1]  # keystone parses sys.argv with oslo.config; hide gunicorn's\n"
        f"os.environ.setdefault('OS_KEYSTONE_CONFIG_DIR', {str(base)!r})\n"
        "from keystone.server import wsgi\n"
        "application = wsgi.initialize_public_application()\n"
    )
    cloud.processes.append(spawn(
        [GUNICORN, *GUNICORN_COMMON, "--chdir", str(base), "-b", f"127.0.0.1:{cloud.keystone_port}", "-w", "2",
         "--error-logfile", str(base / "logs" / "keystone-gunicorn.log"), "keystone_app:application"],
        _server_env(), base / "logs" / "keystone-stdout.log"))
    glances = [g for g in GLANCES if g.region in cloud.glance_ports]
    for glance in glances:
        _spawn_glance(cloud, glance, cloud.glance_ports[glance.region])

    _wait_ready(cloud, f"http://127.0.0.1:{cloud.keystone_port}/v3", "Keystone")
    _register_image_service(cloud, glances)
    for glance in glances:
        _wait_ready(cloud, f"http://127.0.0.1:{cloud.glance_ports[glance.region]}/versions", f"Glance ({glance.region})")
    _check_glance_auth(cloud)


GUNICORN = str(VENV / "bin" / "gunicorn")
GUNICORN_COMMON = ["--no-control-socket", "--graceful-timeout", "5"]


def _server_env() -> dict:
    return {**_clean_env(), "PYTHONWARNINGS": "ignore"}


def _spawn_glance(cloud: OpenStackCloud, glance: GlanceSetup, port: int) -> None:
    """Writes the configuration of ``glance`` for ``port`` and starts it (without waiting)."""
    base, conf_dir = cloud.base, cloud.base / glance.conf_dir
    for d in (conf_dir, base / f"staging{glance.suffix}", base / f"cache{glance.suffix}"):
        d.mkdir(exist_ok=True)
    shutil.copy(VENV / "etc" / "glance" / "glance-api-paste.ini", conf_dir / "glance-api-paste.ini")
    (conf_dir / "glance-api.conf").write_text(_glance_conf(cloud, glance, port))
    cloud.processes.append(spawn(
        [GUNICORN, *GUNICORN_COMMON, "-b", f"127.0.0.1:{port}", "-w", glance.workers, "--threads", "4",
         "--timeout", "300", "--error-logfile", str(base / "logs" / f"{glance.conf_dir}-gunicorn.log"),
         "glance.wsgi.api:application"],
        {**_server_env(), "OS_GLANCE_CONFIG_DIR": str(conf_dir)}, base / "logs" / f"{glance.conf_dir}-stdout.log"))


def _start_on_demand(cloud: OpenStackCloud, glance: GlanceSetup) -> None:
    """Starts ``glance`` in the running cloud, waits until it answers, then registers its region
    and endpoints in Keystone; raises OpenStackStartError."""
    for _attempt in range(3):  # a free port may be taken between probing and binding
        port = free_ports(1)[0]
        _spawn_glance(cloud, glance, port)
        try:
            _wait_ready(cloud, f"http://127.0.0.1:{port}/versions", f"Glance ({glance.region})")
        except _PortTaken:
            kill_group(cloud.processes.pop())
            for log in ("gunicorn", "stdout"):  # else the next failure of any server would read as this one
                (cloud.base / "logs" / f"{glance.conf_dir}-{log}.log").unlink(missing_ok=True)
            continue
        cloud.glance_ports[glance.region] = port
        _register_image_service(cloud, [glance])
        return
    raise OpenStackStartError(f"no free loopback port for Glance ({glance.region})")


def _keystone_conf(base: Path) -> str:
    return (
        f"[DEFAULT]\nlog_dir = {base}/logs\n"
        f"[database]\nconnection = sqlite:///{base}/keystone.db\n"
        f"[token]\nprovider = fernet\n"
        f"[fernet_tokens]\nkey_repository = {base}/fernet-keys\n"
        f"[fernet_receipts]\nkey_repository = {base}/fernet-keys\n"
        f"[credential]\nkey_repository = {base}/credential-keys\n"
        "[identity]\npassword_hash_rounds = 4\n"  # bcrypt's minimum: a login costs ms, not 0.3 s
    )


def _glance_conf(cloud: OpenStackCloud, glance: GlanceSetup, port: int) -> str:
    base, conf_dir, methods, suffix = cloud.base, cloud.base / glance.conf_dir, glance.methods, glance.suffix
    return f"""[DEFAULT]
log_file = {base}/logs/glance-api{suffix}.log
node_staging_uri = file://{base}/staging{suffix}
worker_self_reference_url = http://127.0.0.1:{port}
enabled_import_methods = {methods}
image_cache_dir = {base}/cache{suffix}
[database]
connection = sqlite:///{base}/glance.db
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = {base}/images/
[paste_deploy]
flavor = keystone
config_file = {conf_dir}/glance-api-paste.ini
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:{cloud.keystone_port}
auth_url = http://127.0.0.1:{cloud.keystone_port}
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = {cloud.project}
username = {cloud.username}
password = {cloud.password}
[oslo_concurrency]
lock_path = {base}/locks
[import_filtering_opts]
# loopback is refused unless listed; an empty allowed_ports lets any port through (the tests'
# HTTP servers use random ports), [80, 443] is Glance's default. These list options need the [..] syntax.
allowed_hosts = [127.0.0.1]
allowed_ports = {glance.allowed_ports}
"""


def _wait_ready(cloud: OpenStackCloud, url: str, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for process in cloud.processes:
            if process.poll() is not None:
                text = cloud.log_tail()
                if "Address already in use" in text or "Connection in use" in text:
                    raise _PortTaken()
                raise OpenStackStartError(f"{' '.join(process.args[-1:])} exited with {process.returncode} "
                                          f"while waiting for {what}")
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise OpenStackStartError(f"{what} did not answer {url} within {READY_TIMEOUT} s")


def _token(cloud: OpenStackCloud) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": cloud.username, "domain": {"name": cloud.user_domain}, "password": cloud.password}}},
        "scope": {"project": {"name": cloud.project, "domain": {"name": cloud.project_domain}}}}}
    answer = requests.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    if answer.status_code != 201:
        raise OpenStackStartError(f"Keystone refused the admin login: {answer.status_code} {answer.text[:500]}")
    return answer.headers["X-Subject-Token"]


def _register_image_service(cloud: OpenStackCloud, glances: list[GlanceSetup]) -> None:
    """The image service (once) and the region and endpoints of each of ``glances``."""
    headers = {"X-Auth-Token": _token(cloud)}

    def post(path: str, body: dict) -> dict:
        answer = requests.post(f"{cloud.auth_url}/{path}", json=body, headers=headers, timeout=30)
        if answer.status_code != 201:
            raise OpenStackStartError(f"Keystone refused POST /v3/{path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    if not cloud.image_service_id:
        cloud.image_service_id = post("services", {"service": {"name": "glance", "type": "image",
                                                               "enabled": True}})["service"]["id"]
    for glance in glances:
        if glance.region != REGION:  # keystone-manage bootstrap made RegionOne
            post("regions", {"region": {"id": glance.region}})
        url = f"http://127.0.0.1:{cloud.glance_ports[glance.region]}"
        for interface in ("public", "internal", "admin"):
            post("endpoints", {"endpoint": {"service_id": cloud.image_service_id, "interface": interface,
                                            "url": url, "region_id": glance.region, "enabled": True}})


def _check_glance_auth(cloud: OpenStackCloud) -> None:
    """Glance validates tokens with Keystone: a listing with a token proves the whole chain."""
    headers = {"X-Auth-Token": _token(cloud)}
    deadline = time.monotonic() + READY_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = requests.get(f"{cloud.glance_url}/v2/images", headers=headers, timeout=30)
            info = requests.get(f"{cloud.glance_url}/v2/info/import", headers=headers, timeout=30)
            if answer.status_code == 200 and info.status_code == 200:
                if "web-download" not in info.text:
                    raise OpenStackStartError(f"Glance does not offer web-download: {info.text[:300]}")
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except requests.RequestException as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise OpenStackStartError(f"Glance does not list images with a Keystone token: {last}")


def _clean_env() -> dict:
    """The environment without the developer's OpenStack settings or our venv's Python paths."""
    return clean_env("OS_")


if __name__ == "__main__":  # python -m tests.backends.openstack: start, print, wait for Ctrl-C
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # run the finally below
    running = start()
    print(f"Keystone {running.auth_url} (admin / {running.password}, project admin), "
          "Glance " + ", ".join(f"{region} http://127.0.0.1:{port}" for region, port in running.glance_ports.items())
          + f"; up in {time.monotonic() - started:.1f} s. Ctrl-C stops.", flush=True)
    try:
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        running.stop()
