"""Helpers for test back-ends that run real servers as child processes on loopback ports.

Shared by :mod:`tests.backends.openstack` and :mod:`tests.backends.swift`: starting a
server in its own process group that dies with the test process, killing that group,
picking free loopback ports, a lock file between test processes, the per-run temporary
directory (with the owner's pid, so a later run removes what a killed one left), and
reading the end of a log, installing a server's venv; :class:`ServerRun` and :class:`SharedServer`, one running
back-end per test process with its pytest fixture.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: environment variables never handed to a server's interpreter or to pip: our own venv's
#: Python settings would leak into the server's venv
_ALWAYS_DROPPED = ("PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV")


def clean_env(*drop_prefixes: str) -> dict[str, str]:
    """``os.environ`` without our venv's Python settings (``PYTHON*``, ``VIRTUAL_ENV``,
    ``PIP_REQUIRE_VIRTUALENV``) and without every variable starting with one of
    ``drop_prefixes`` (say ``"OS_"``, the developer's OpenStack settings)."""
    prefixes = (*_ALWAYS_DROPPED, *drop_prefixes)
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def die_with_parent() -> None:
    """For ``preexec_fn``, in the child before exec: get SIGTERM when the test process dies,
    even by SIGKILL (Linux's PR_SET_PDEATHSIG; elsewhere it does nothing)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Starts ``args`` in a new session (its own process group, see :func:`kill_group`)
    with stdout and stderr appended to ``log``, stdin from /dev/null, and
    :func:`die_with_parent`.  Does not wait for anything."""
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=die_with_parent)


def kill_group(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stops a process started by :func:`spawn` and everything in its process group:
    SIGTERM, then SIGKILL after ``timeout`` seconds, then SIGKILL again for workers that
    outlived their master.  Does nothing to a process that has already been reaped."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):  # workers that outlived their master
        os.killpg(process.pid, signal.SIGKILL)


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that were free a moment ago.  Another process
    may take one before the server binds it: callers retry with new ports when a server
    reports "Address already in use"."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing) while the block runs: test
    processes running at the same time (pytest-xdist, two checkouts sharing a cache)
    install or prepare a shared venv one at a time."""
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def new_run_dir(prefix: str) -> Path:
    """A new temporary directory ``<tmp>/<prefix>XXXX`` holding ``owner.pid`` (this process)."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    (base / "owner.pid").write_text(str(os.getpid()))
    return base


def remove_abandoned_runs(prefix: str) -> None:
    """Removes the run directories (see :func:`new_run_dir`) of test processes that died
    without cleaning up; their servers died with them (:func:`die_with_parent`)."""
    for run in Path(tempfile.gettempdir()).glob(prefix + "*"):
        try:
            owner = int((run / "owner.pid").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(run, ignore_errors=True)
        except (OSError, ValueError):
            pass


def ensure_venv(venv: Path, requirements: list[str], *, constraints: Path, env: dict[str, str],
                problem: Callable[[], str | None], error: type[Exception], what: str, how_to_fix: str,
                timeout: float) -> None:
    """Creates or repairs the venv ``venv`` holding ``requirements`` (pip, pinned by
    ``constraints``), under a lock between test processes; reused while ``problem()`` finds
    nothing wrong with it.  Raises ``error`` naming ``what`` with the end of the install log
    and ``how_to_fix`` when installing fails or leaves a venv ``problem()`` still refuses."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(venv.parent / f"{venv.name}.lock"):
        if problem() is None:
            return
        if venv.exists():
            shutil.rmtree(venv)
        log = venv.parent / f"{venv.name}-install.log"
        steps = [[sys.executable, "-m", "venv", str(venv)],
                 [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                  "-c", str(constraints), *requirements]]
        with open(log, "wb") as out:
            for step in steps:
                try:
                    code = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                          stdin=subprocess.DEVNULL, env=env).returncode
                except subprocess.TimeoutExpired:
                    code = "timeout"
                if code != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    raise error(f"Installing {what} failed ({' '.join(step[:3])}...: {code}):\n"
                                f"{tail(log)}\n\n{how_to_fix}")
        if found := problem():
            raise error(f"The {what} venv is unusable after installing: {found}\n\n{how_to_fix}")


class ServerRun:
    """What a running back-end (a dataclass with ``base``, its run directory, and ``processes``)
    shares: the end of its logs, and stopping it."""

    base: Path
    processes: list[subprocess.Popen]

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for log in sorted((self.base / "logs").glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop_servers(self, last_logs: Path) -> None:
        """Kills the servers' process groups (TERM, then KILL), keeps a copy of the logs in
        ``last_logs`` for a look after the session, and removes the run directory.  Idempotent."""
        for process in self.processes:
            kill_group(process)
        self.processes.clear()
        if (self.base / "logs").is_dir():
            shutil.rmtree(last_logs, ignore_errors=True)
            with contextlib.suppress(OSError):
                shutil.copytree(self.base / "logs", last_logs)
        shutil.rmtree(self.base, ignore_errors=True)


class SharedServer:
    """One back-end per test process, started on first use by ``start`` (which raises
    ``error``, a RuntimeError subclass whose message says what to do), stopped at exit.  A
    failed start is remembered: later test modules fail at once with the same message."""

    def __init__(self, start: Callable[[], ServerRun], error: type[RuntimeError], what: str, how_to_fix: str):
        self._start, self._error, self._what, self._how_to_fix = start, error, what, how_to_fix
        self._lock = threading.Lock()
        self._server: ServerRun | None = None
        self._failure: str | None = None

    def get(self) -> ServerRun:
        """The running server; raises ``error``."""
        with self._lock:
            if self._failure is not None:
                raise self._error(self._failure)
            if self._server is None:
                try:
                    self._server = self._start()
                except self._error as exc:
                    self._failure = str(exc)
                    raise
                except Exception as exc:  # an OSError on the cache directory, a broken interpreter, ...
                    self._failure = f"Starting the test {self._what} failed: {exc!r}\n\n{self._how_to_fix}"
                    raise self._error(self._failure) from exc
                atexit.register(self.stop)
            return self._server

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None

    @contextlib.contextmanager
    def running(self) -> Iterator[ServerRun]:
        """The running server; pytest.fail (one message, no chained traceback) if it cannot run."""
        import pytest

        problem = None
        try:
            server = self.get()
        except self._error as exc:
            problem = str(exc)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        yield server

    def fixture(self, name: str | None = None) -> Callable:
        """A session-scoped pytest fixture yielding the server; every module gets the same one,
        stopped when the session ends."""
        import pytest

        def fixture() -> Iterator[ServerRun]:
            with self.running() as server:
                yield server
            self.stop()  # session-scoped: runs once the whole session is over

        return pytest.fixture(scope="session", name=name)(fixture)
