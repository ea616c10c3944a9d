"""Onboard a package holding a large image, and one linking to it, on each content store; print speed and memory.

For each image size and each content store (``file``: the filesystem store under NFVO_HOME; ``s3``:
OpenStack Swift with s3api, a real S3 server started for the run by ``tests.backends.swift``), runs
nfvo in external mode (an API and a worker process, PostgreSQL and Redis as for the tests, a fresh
database, NFVO_HOME on the same disk as the reference copy), onboards with ``curl`` a package holding
the image, then one whose ``image.link`` points at the same file on a loopback HTTP server, and prints:

- each onboarding's time as a ratio to one plain ``cp`` of the image on the same disk, measured
  in the same run: ``ratio = cp seconds / onboarding seconds``;
- how long the API took until the onboarding job existed (receiving and storing the package) and
  how long the job ran (the worker), from the job's timestamps in the database;
- the CPU seconds (psutil ``cpu_times``) used during each onboarding by the API, the worker, each
  Swift server, curl with the link server, and the rest of the machine (its busiest processes
  named), and the machine's busy cores and iowait: what limits the time;
- the peak RSS (the kernel's VmHWM) of the API and worker processes (with their children) and,
  apart and marked "not nfvo", of the Swift servers;
- for ``s3``, Swift alone: one PUT and one GET of the image with boto3 from this process, as nfvo's
  store sends and reads it, with the CPU each side used.

Usage: python benchmarks/onboard_image.py [--size-mib 1024[,4096...]] [--stores file,s3] [--part-mib N]
                                          [--keep] [--profile DIR]
Targets: filesystem store: ratio at least 0.5 with the image in the package, at least 0.8 by link;
peak RSS of the API and of the worker under 200 MB at every size, whatever the store. The S3
store's ratios have no target (the server's own work is in them).

``--profile DIR`` samples the API and worker processes with py-spy (not a dependency of nfvo:
``pip install py-spy`` anywhere on PATH) during each onboarding, writes the collapsed stacks to
DIR/<store>-<size>-<onboarding>-<process>.txt and prints where each process spent its busy samples.
Swift is not sampled: py-spy on its eventlet servers too made a 1 GiB S3 onboarding 10 times slower.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from boto3.s3.transfer import TransferConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backends.swift import start as start_swift  # noqa: E402
from tests.integration.harness import Nfvo, fresh_postgres_database, fresh_redis_db, nfvo_env  # noqa: E402
from tests.integration.servers import serve_http  # noqa: E402

MiB = 2**20
STORES = ("file", "s3")
KINDS = {"package": "image in package", "link": "image by link"}
TARGETS = {("file", "package"): 0.5, ("file", "link"): 0.8}  # ratio targets; none for s3
RSS_TARGET = 200e6


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        for start in range(0, size, 16 * MiB):
            f.write(os.urandom(min(16 * MiB, size - start)))


def peak_rss(pid: int) -> int:
    """Largest VmHWM among the process and its children (bytes); the processes must still run."""
    peaks = []
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        with contextlib.suppress(FileNotFoundError):
            status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
            peaks += [int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:")]
    if not peaks:
        raise SystemExit(f"process {pid} and its children are gone: no peak memory to read")
    return max(peaks)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of a process, its reaped children and its live descendants."""
    with contextlib.suppress(psutil.Error):
        proc, total = psutil.Process(pid), 0.0
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += sum(child.cpu_times()[:2])
        return total + sum(proc.cpu_times()[:4])  # user, system, children_user, children_system
    return 0.0


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process of ``pids``; ``client``: this process (the link's HTTP
    server thread) and its waited-for children (curl); ``busy``, ``iowait``: the whole machine."""
    me, kids, machine = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN), \
        psutil.cpu_times()
    return {**{label: cpu_of(pid) for label, pid in pids.items()},
            "client": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "busy": sum(machine) - machine.idle - machine.iowait, "iowait": machine.iowait}


def others_cpu(pids: dict[str, int]) -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds) of every other process of the machine (PostgreSQL, Redis, kernel
    threads, ...): neither this one, nor curl, nor a process of ``pids`` or one of their descendants."""
    skip = {os.getpid(), *pids.values()}
    for pid in pids.values():
        with contextlib.suppress(psutil.Error):
            skip.update(child.pid for child in psutil.Process(pid).children(recursive=True))
    return {p.pid: (p.info["name"], sum(p.info["cpu_times"][:2])) for p in psutil.process_iter(["name", "cpu_times"])
            if p.pid not in skip and p.info["cpu_times"] is not None and p.info["name"] != "curl"}


def busiest(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], top: int = 3) -> str:
    """The ``top`` names of :func:`others_cpu` that used the most CPU in between, with their seconds."""
    used: collections.Counter[str] = collections.Counter()
    for pid, (name, seconds) in after.items():
        used[name.split("/")[0]] += seconds - before.get(pid, (name, 0.0))[1]
    return ", ".join(f"{name} {seconds:.2f}" for name, seconds in used.most_common(top) if seconds >= 0.01) or "none"


def job_phases(db: str, started: float) -> tuple[float, float]:
    """(seconds from ``started`` until the newest job was created, seconds it ran until its last update)."""
    with psycopg.connect(db) as conn:
        created, updated = conn.execute("SELECT created_at, updated_at FROM jobs ORDER BY created_at DESC"
                                        " LIMIT 1").fetchone()
    return created.timestamp() - started, (updated - created).total_seconds()


def swift_pids(swift) -> dict[str, int]:
    """Swift's servers (account, container, object, proxy) by name, e.g. ``swift-proxy``."""
    return {Path(p.args[0]).name.removesuffix("-server"): p.pid for p in (swift.processes if swift else [])}


def swift_alone(swift, image: Path, work: Path, part: int) -> str:
    """One PUT of ``image`` with boto3 in parts of ``part`` bytes one at a time, and one GET streamed into a
    file in 1 MiB reads (as nfvo's store does both), timed, with the CPU each side used."""
    client, bucket, parts = swift.client(read_timeout=300), swift.new_bucket("alone"), TransferConfig(
        multipart_threshold=part, multipart_chunksize=part, max_concurrency=1, use_threads=False)

    def get() -> None:
        with open(work / "got.img", "wb") as out:
            shutil.copyfileobj(client.get_object(Bucket=bucket, Key="image")["Body"], out, MiB)

    pids, said = swift_pids(swift), []
    for verb, call in (("PUT", lambda: client.upload_file(str(image), bucket, "image", Config=parts)), ("GET", get)):
        before, start = cpu_snapshot(pids), time.perf_counter()
        call()
        seconds, after = time.perf_counter() - start, cpu_snapshot(pids)
        used = {k: after[k] - before[k] for k in after}
        said.append(f"{verb} {seconds:.2f} s (CPU s: swift {sum(v for k, v in used.items() if k in pids):.2f}, "
                    f"boto3 in this process {used['client']:.2f}; machine {used['busy'] / seconds:.2f} of 2 cores)")
    (work / "got.img").unlink()
    client.delete_object(Bucket=bucket, Key="image")
    return "; ".join(said)


def reference_cp(image: Path, copy: Path, times: int = 3) -> float:
    """The fastest of ``times`` plain ``cp`` runs of the image, each copy removed before the next.

    On the 2-core virtual machines measured (benchmarks/README.md) the first run, whose copy needs
    page-cache pages never used before, took 0.8-2.8 s per GiB, and the next ones, on the pages
    the removed copy freed, 0.26-0.31 s: the fastest is the reference, the hardest to match."""
    seconds = []
    for _ in range(times):
        start = time.perf_counter()
        subprocess.run(["cp", str(image), str(copy)], check=True)
        seconds.append(time.perf_counter() - start)
        copy.unlink()
    print(f"  cp runs: {', '.join(f'{s:.2f}' for s in seconds)} s; the reference is the fastest", flush=True)
    return min(seconds)


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
    if (spy := shutil.which("py-spy")) is None:
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


#: leaves ("function (file:line)") where a thread waits, which py-spy cannot always tell from work
WAITING = ("wait (threading.py", "select (selectors.py", "poll (selectors.py", "do_poll (eventlet/hubs/",
           "_recv (billiard/connection.py", "poll (kombu/utils/eventio.py",
           "_wait (nfvo/api/vnf_packages.py", "sleep ")


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


@dataclass
class Run:
    """What one (store, size) measured."""

    store: str
    size_mib: int
    cp: float
    seconds: dict[str, float] = field(default_factory=dict)  # onboarding -> s
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)  # onboarding -> label -> CPU s
    others: dict[str, str] = field(default_factory=dict)  # onboarding -> busiest other processes
    phases: dict[str, tuple[float, float]] = field(default_factory=dict)  # onboarding -> API s, job s
    alone: str = ""  # Swift alone, for s3
    rss: dict[str, int] = field(default_factory=dict)  # api, worker -> bytes
    swift_rss: dict[str, int] = field(default_factory=dict)  # Swift server -> bytes (not nfvo)

    def ratio(self, kind: str) -> float:
        return self.cp / self.seconds[kind]

    def failures(self) -> list[str]:
        where = f"{self.store} {self.size_mib} MiB"
        return ([f"{where} {KINDS[k]}: ratio {self.ratio(k):.2f} < {TARGETS[self.store, k]}"
                 for k in KINDS if self.ratio(k) < TARGETS.get((self.store, k), 0)]
                + [f"{where}: {label} peak RSS {value / 1e6:.0f} MB >= 200 MB"
                   for label, value in self.rss.items() if value >= RSS_TARGET])


@contextlib.contextmanager
def store_settings(store: str, part_mib: int | None = None):
    """(NFVO_STORE_* settings, Swift server or None) for ``store``; Swift runs while the block does."""
    if store == "file":
        yield {}, None
        return
    print("starting Swift (S3 API)", flush=True)
    swift = start_swift()
    try:
        yield {"NFVO_STORE_URL": f"s3://{swift.new_bucket('bench')}/nfvo", "NFVO_STORE_ENDPOINT": swift.endpoint_url,
               "NFVO_STORE_REGION": swift.region, "NFVO_STORE_ACCESS_KEY": swift.access_key,
               "NFVO_STORE_SECRET_KEY": swift.secret_key, **({"NFVO_STORE_PART_SIZE": str(part_mib * MiB)}
                                                                if part_mib else {})}, swift
    finally:
        swift.stop()


def measure(run: Run, work: Path, image: Path, with_image: Path, args: argparse.Namespace) -> None:
    """Starts nfvo on ``run.store`` and onboards the image in a package, then by link; fills ``run``."""
    home = work / f"home-{run.store}"
    home.mkdir()
    with (store_settings(run.store, args.part_mib) as (settings, swift), fresh_postgres_database() as db,
          fresh_redis_db() as broker, serve_http(work) as url):
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=db, NFVO_BROKER_URL=broker, **settings))
        migrated = node.run("db", "upgrade")
        if migrated.returncode != 0:
            raise SystemExit(f"nfvo db upgrade failed: {migrated.stderr}")
        node.start_server()
        worker = node.start_worker()
        try:
            registered = node.api.post_json("/api/v1/datacenters", {"name": "bench", "type": "local",
                                                                     "authUrl": "local://bench"})
            assert registered.status_code == 201, registered.text
            # a first, small onboarding: every process holds its connections and imports before anything is timed
            warm = work / "warm.img"
            write_random(warm, MiB)
            timed_upload(node.api, package(work / run.store, "bench-warm", warm, None))
            pids = {"api": node.server.popen.pid, "worker": worker.popen.pid}
            servers = swift_pids(swift)
            linked = package(work / run.store, "bench-link", None, f"{url}/{image.name}")
            for kind, path in (("package", with_image), ("link", linked)):
                with profiled(f"{run.store}-{run.size_mib}-{kind}", pids, args.profile):
                    others, before, started = others_cpu(pids | servers), cpu_snapshot(pids | servers), time.time()
                    run.seconds[kind] = timed_upload(node.api, path)
                    after = cpu_snapshot(pids | servers)
                    run.others[kind] = busiest(others, others_cpu(pids | servers))
                run.cpu[kind] = {label: after[label] - before[label] for label in after}
                run.phases[kind] = job_phases(db, started)
            run.rss = {label: peak_rss(pid) for label, pid in pids.items()}
            run.swift_rss = {label: peak_rss(pid) for label, pid in servers.items()}
            if swift:
                run.alone = swift_alone(swift, image, work / run.store, (args.part_mib or 32) * MiB)
        finally:
            node.stop()


def report(run: Run) -> None:
    print(f"\n{run.store} store, {run.size_mib} MiB image; cp (reference) {run.cp:.2f} s")
    for kind, title in KINDS.items():
        target = TARGETS.get((run.store, kind))
        seconds, cpu = run.seconds[kind], run.cpu[kind]
        swift = {k.removeprefix("swift-"): v for k, v in cpu.items() if k.startswith("swift-")}
        named = cpu["api"] + cpu["worker"] + cpu["client"] + sum(swift.values())
        print(f"  {title:17} {seconds:7.2f} s   ratio {run.ratio(kind):5.2f}  "
              + (f"(target >= {target})" if target else "(no target)")
              + " ; API until the job existed {:.2f} s, job {:.2f} s".format(*run.phases[kind]))
        print(f"    CPU s: api {cpu['api']:.2f}, worker {cpu['worker']:.2f}"
              + (f", swift {sum(swift.values()):.2f} (" + ", ".join(f"{k} {v:.2f}" for k, v in swift.items()) + ")"
                 if swift else "")
              + f", curl + link server {cpu['client']:.2f}, rest of machine {cpu['busy'] - named:.2f} "
              f"(processes: {run.others[kind]}); "
              f"machine {cpu['busy'] / seconds:.2f} of 2 cores busy, iowait {cpu['iowait']:.2f} s")
    print(f"  peak RSS: API {run.rss['api'] / MiB:.1f} MiB, worker {run.rss['worker'] / MiB:.1f} MiB "
          "(target < 200 MB)" + ("; not nfvo: " + ", ".join(f"{k} {v / MiB:.1f} MiB" for k, v in run.swift_rss.items())
                                 if run.swift_rss else ""))
    if run.alone:
        print(f"  Swift alone, boto3 from this process: {run.alone}", flush=True)


def table(runs: list[Run]) -> None:
    print("\n| store | size | cp | in package: s (ratio) | by link: s (ratio) | peak RSS API / worker "
          "| Swift peak RSS, account / container / object / proxy (not nfvo) |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        swift = " / ".join(f"{v / MiB:.0f}" for v in r.swift_rss.values()) + " MiB" if r.swift_rss else "-"
        print(f"| {r.store} | {r.size_mib} MiB | {r.cp:.2f} s | {r.seconds['package']:.2f} ({r.ratio('package'):.2f}) "
              f"| {r.seconds['link']:.2f} ({r.ratio('link'):.2f}) | {r.rss['api'] / MiB:.0f} / {r.rss['worker'] / MiB:.0f}"
              f" MiB | {swift} |")


def listed(kind, choices=None):
    def parse(text: str) -> list:
        values = [kind(v) for v in text.split(",") if v.strip()]
        if not values or (choices and set(values) - set(choices)):
            raise argparse.ArgumentTypeError(f"a comma-separated list{' of ' + ', '.join(choices) if choices else ''}")
        return values
    return parse


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=listed(int), default=[1024], help="image sizes, e.g. 1024,4096")
    parser.add_argument("--stores", type=listed(str, STORES), default=list(STORES), help="file, s3 or both")
    parser.add_argument("--part-mib", type=int, help="NFVO_STORE_PART_SIZE of the s3 store (default nfvo's: 32)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--profile", type=Path, help="sample the processes with py-spy; stacks go here")
    args = parser.parse_args()

    runs: list[Run] = []
    for size_mib in args.size_mib:
        work = Path(tempfile.mkdtemp(prefix="nfvo-bench-", dir=ROOT / ".cache" if (ROOT / ".cache").is_dir() else None))
        try:
            image = work / "disk.img"
            print(f"writing a {size_mib} MiB random image in {work}", flush=True)
            write_random(image, size_mib * MiB)
            cp_seconds = reference_cp(image, work / "copy.img")
            with_image = package(work, "bench-file", image, None)
            for store in args.stores:
                (work / store).mkdir()
                runs.append(Run(store, size_mib, cp_seconds))
                measure(runs[-1], work, image, with_image, args)
                report(runs[-1])
                if not args.keep:  # the stored images: disk for the next store
                    shutil.rmtree(work / f"home-{store}", ignore_errors=True)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)

    table(runs)
    missed = [failure for run in runs for failure in run.failures()]
    print("\n" + ("all targets met" if not missed else "targets NOT met (see benchmarks/README.md):\n  "
                  + "\n  ".join(missed)))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
