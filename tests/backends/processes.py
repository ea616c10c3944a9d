"""Helpers for test back-ends that run real servers as child processes on loopback ports.

Shared by :mod:`tests.backends.openstack` and :mod:`tests.backends.swift`: starting a
server in its own process group that dies with the test process, killing that group,
picking free loopback ports, a lock file between test processes, the per-run temporary
directory (with the owner's pid, so a later run removes what a killed one left), and
reading the end of a log.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
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
