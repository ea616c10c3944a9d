"""Onboard a package holding a large image, and one linking to it; print peak memory and speed.

Runs nfvo in external mode (an API process and a worker process, PostgreSQL and Redis as
for the tests) with NFVO_HOME on the same disk as the reference copy, then prints:

- peak RSS (the kernel's VmHWM) of the API processes and of the worker processes;
- the time of each onboarding as a ratio to one plain ``cp`` of the image on the same disk:
  ``ratio = cp seconds / onboarding seconds``. Onboarding must receive the bytes and write the
  image once onto the VIM, so a ratio near 0.5 means no extra copies.

Usage: python benchmarks/onboard_image.py [--size-mib 1024] [--keep] [--profile DIR]
Targets: peak RSS under 200 MB whatever the size; ratio at least 0.5.

``--profile DIR`` samples the API and worker processes with py-spy (not a dependency of nfvo:
``pip install py-spy`` anywhere on PATH) during each onboarding, writes the collapsed stacks to
DIR/<onboarding>-<process>.txt and prints where each process spent its busy samples.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.harness import Nfvo, fresh_postgres_database, fresh_redis_db, nfvo_env  # noqa: E402
from tests.integration.servers import serve_http  # noqa: E402

MiB = 2**20


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 16 * MiB))
            f.write(chunk)
            left -= len(chunk)


def peak_rss(pid: int) -> int:
    """Largest VmHWM among the process and its children (bytes); the processes must still run."""
    procs = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    peaks = []
    for proc in procs:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except FileNotFoundError:
            continue
        peaks += [int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    if not peaks:
        raise SystemExit(f"process {pid} and its children are gone: no peak memory to read")
    return max(peaks)


def package(tmp: Path, name: str, image: Path | None, link: str | None) -> Path:
    source = f"  file: images/{image.name}\n" if image else f"  link: {link}\n"
    metadata = (f"name: {name}\nprovider: bench\nvim_types: [local]\nimage:\n  upload: true\n{source}"
                f"image-config:\n  name: {name}-img\n  diskFormat: raw\n  containerFormat: bare\n")
    vnfd = (f'{{"name": "{name}", "vendor": "bench", "type": "t", "endpoint": "generic",'
            f' "vdu": [{{"vm_image": []}}]}}')
    (tmp / name).mkdir()
    (tmp / name / "Metadata.yaml").write_text(metadata)
    (tmp / name / "vnfd.json").write_text(vnfd)
    out = tmp / f"{name}.tar"
    with tarfile.open(out, "w") as tar:
        tar.add(tmp / name / "Metadata.yaml", "Metadata.yaml")
        tar.add(tmp / name / "vnfd.json", "vnfd.json")
        if image:
            tar.add(image, f"images/{image.name}")
    return out


def timed_upload(api, path: Path) -> float:
    """Seconds for one synchronous onboarding, uploaded with curl as an operator would."""
    command = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {api.token()}",
               "-H", "project-id: default", "-F", f"file=@{path}", f"{api.url}/api/v1/vnf-packages"]
    start = time.perf_counter()
    status = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - start
    if status != "200":
        raise SystemExit(f"onboarding {path.name} failed with HTTP {status}")
    return elapsed


@contextlib.contextmanager
def profiled(name: str, pids: dict[str, int], out: Path | None):
    """py-spy records each process of ``pids`` (label -> pid) while the block runs, when ``out`` is set."""
    if out is None:
        yield
        return
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy on PATH: pip install py-spy")
    out.mkdir(parents=True, exist_ok=True)
    recorders = {label: subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--threads",
                                          "--rate", "250", "--format", "raw", "--output",
                                          str(out / f"{name}-{label}.txt")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for label, pid in pids.items()}
    time.sleep(1.5)  # attached
    try:
        yield
    finally:
        for label, recorder in recorders.items():
            recorder.send_signal(signal.SIGINT)
            _, err = recorder.communicate(timeout=120)
            if recorder.returncode not in (0, -signal.SIGINT):
                print(f"py-spy on {label}: {err.decode(errors='replace')[-500:]}")
        for label in pids:
            summarise(out / f"{name}-{label}.txt", f"{name}, {label}")


#: where a sampled thread is waiting, not working (py-spy cannot tell these from work)
WAITING = ("Condition.wait ", "EpollSelector.select ", "_epoll.poll ", "Connection.wait ", "select ",
           "Event.wait ", "Thread.join ", "SocketIO.readinto ", "sleep ")


def summarise(path: Path, title: str, top: int = 10) -> None:
    """The functions where a process's working samples ended (self time), largest first; samples of
    threads that wait (WAITING) are counted apart."""
    leaves: collections.Counter[str] = collections.Counter()
    waiting = 0
    if not path.exists():
        print(f"{title}: no samples")
        return
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not (stack and count.isdigit()):
            continue
        leaf = stack.split(";")[-1].strip()
        if leaf.startswith(WAITING):
            waiting += int(count)
        else:
            leaves[leaf] += int(count)
    total = sum(leaves.values()) or 1
    print(f"\n{title}: {total} working samples at 250 Hz ({total / 250:.2f} s of thread time; {waiting} more "
          "waiting), by the function they ended in")
    for frame, count in leaves.most_common(top):
        print(f"  {100 * count / total:5.1f} %  {frame[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--profile", type=Path, help="sample the processes with py-spy; stacks go here")
    args = parser.parse_args()
    size = args.size_mib * MiB

    work = Path(tempfile.mkdtemp(prefix="nfvo-bench-", dir=ROOT / ".cache" if (ROOT / ".cache").is_dir() else None))
    try:
        image = work / "disk.img"
        print(f"writing a {args.size_mib} MiB random image in {work}", flush=True)
        write_random(image, size)
        start = time.perf_counter()
        subprocess.run(["cp", str(image), str(work / "copy.img")], check=True)
        cp_seconds = time.perf_counter() - start
        (work / "copy.img").unlink()
        with_image = package(work, "bench-file", image, None)

        home = work / "home"
        home.mkdir()
        with fresh_postgres_database() as db, fresh_redis_db() as broker, serve_http(work) as url:
            node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db, NFVO_BROKER_URL=broker))
            migrated = node.run("db", "upgrade")
            if migrated.returncode != 0:
                raise SystemExit(f"nfvo db upgrade failed: {migrated.stderr}")
            node.start_server()
            worker = node.start_worker()
            try:
                registered = node.api.post_json("/api/v1/datacenters", {"name": "bench", "type": "local",
                                                                         "authUrl": "local://bench"})
                assert registered.status_code == 201, registered.text
                # a first, small onboarding: the worker has booted and both processes hold their
                # connections and imports before anything is timed
                warm = work / "warm.img"
                write_random(warm, MiB)
                timed_upload(node.api, package(work, "bench-warm", warm, None))
                pids = {"api": node.server.popen.pid, "worker": worker.popen.pid}
                with profiled("file", pids, args.profile):
                    file_seconds = timed_upload(node.api, with_image)
                linked = package(work, "bench-link", None, f"{url}/disk.img")
                with profiled("link", pids, args.profile):
                    link_seconds = timed_upload(node.api, linked)
                api_rss, worker_rss = peak_rss(node.server.popen.pid), peak_rss(worker.popen.pid)
            finally:
                node.stop()

        print(f"\nimage size                 {args.size_mib} MiB")
        print(f"cp (reference)             {cp_seconds:7.2f} s")
        print(f"onboard, image in package  {file_seconds:7.2f} s   ratio {cp_seconds / file_seconds:5.2f}  (target >= 0.5)")
        print(f"onboard, image by link     {link_seconds:7.2f} s   ratio {cp_seconds / link_seconds:5.2f}  (target >= 0.5)")
        print(f"peak RSS, API process      {api_rss / MiB:7.1f} MiB  (target < 200 MB)")
        print(f"peak RSS, worker process   {worker_rss / MiB:7.1f} MiB  (target < 200 MB)")
        targets_met = max(api_rss, worker_rss) < 200e6 and min(cp_seconds / file_seconds, cp_seconds / link_seconds) >= 0.5
        print("all targets met" if targets_met else "targets NOT met (see benchmarks/README.md)")
        return 0 if targets_met else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
