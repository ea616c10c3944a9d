"""List a catalogue of 10,000 VNFDs page by page; print how the last page compares with the first.

Starts ``nfvo serve`` on a fresh PostgreSQL database (as the tests get one), writes the VNFDs
straight into its table (posting 10,000 through the API would measure the POST), then times
``GET /api/v1/vnf-descriptors`` with ``size=100`` at the first and the last page, a lookup by
vendor/name/version, and the whole list. The reference for each page is the same query run
directly on PostgreSQL with psycopg, so ``api / sql`` is the cost of HTTP, auth and JSON.

Usage: python benchmarks/list_vnfds.py [--count 10000] [--repeat 20]
Target: the last page costs at most 1.5 times the first (pages stay fast as the catalogue grows).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests
from psycopg.types.json import Json

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.harness import Nfvo, fresh_postgres_database, nfvo_env  # noqa: E402

PAGE = 100


def vnfd(n: int, project_id: str, vnfd_id: str) -> dict:
    return {"id": vnfd_id, "projectId": project_id, "name": f"vnf-{n}", "vendor": f"vendor-{n % 10}",
            "version": "1.0", "type": "server", "endpoint": "generic",
            "vdu": [{"vm_image": ["ubuntu"], "vimInstanceName": ["local"], "scale_in_out": 1,
                     "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}]}],
            "virtual_link": [{"name": "private"}], "deployment_flavour": [{"flavour_key": "m1.small"}]}


def fill(url: str, project_id: str, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        vnfd_id = str(uuid.uuid4())
        rows.append((vnfd_id, project_id, f"vnf-{n}", f"vendor-{n % 10}", "1.0", Json(vnfd(n, project_id, vnfd_id)),
                     start + timedelta(seconds=n)))
    with psycopg.connect(url.replace("+psycopg", "")) as db, db.cursor() as cur:
        cur.executemany("INSERT INTO vnfds (id, project_id, name, vendor, version, body, created_at) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
        cur.execute("ANALYZE vnfds")


def median_seconds(call, repeat: int) -> float:
    call()  # warm up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    last_page = (args.count - 1) // PAGE

    with tempfile.TemporaryDirectory(prefix="nfvo-bench-") as tmp, fresh_postgres_database() as database_url:
        home = Path(tmp) / "home"
        home.mkdir()
        node = Nfvo(home, nfvo_env(home, NFVO_DATABASE_URL=database_url))
        try:
            node.run("db", "upgrade")
            node.start_server()
            api = node.api
            project_id = api.get("/api/v1/projects").json()[0]["id"]
            fill(database_url, project_id, args.count)
            headers = api.headers()
            session = requests.Session()

            def get(query: str) -> list:
                answer = session.get(f"{api.url}/api/v1/vnf-descriptors?{query}", headers=headers, timeout=60)
                answer.raise_for_status()
                return answer.json()

            assert len(get(f"page={last_page}&size={PAGE}")) == args.count - last_page * PAGE
            with psycopg.connect(database_url.replace("+psycopg", "")) as db:
                def sql(offset: int) -> list:
                    return db.execute("SELECT body FROM vnfds WHERE project_id = %s ORDER BY created_at, id "
                                      "LIMIT %s OFFSET %s", (project_id, PAGE + 1, offset)).fetchall()

                results = [
                    ("first page", median_seconds(lambda: get(f"page=0&size={PAGE}"), args.repeat),
                     median_seconds(lambda: sql(0), args.repeat)),
                    ("last page", median_seconds(lambda: get(f"page={last_page}&size={PAGE}"), args.repeat),
                     median_seconds(lambda: sql(last_page * PAGE), args.repeat)),
                ]
            lookup = median_seconds(lambda: get("vendor=vendor-3&name=vnf-9993&version=1.0"), args.repeat)
            whole = median_seconds(lambda: get(""), max(3, args.repeat // 5))
        finally:
            node.stop()

    print(f"{args.count} VNFDs, pages of {PAGE}, median of {args.repeat} runs")
    print(f"{'':12} {'api ms':>8} {'sql ms':>8} {'api/sql':>8}")
    for label, api_s, sql_s in results:
        print(f"{label:12} {api_s * 1000:8.1f} {sql_s * 1000:8.1f} {api_s / sql_s:8.1f}")
    ratio = results[1][1] / results[0][1]
    print(f"last page / first page: {ratio:.2f} (target <= 1.5)")
    print(f"lookup by vendor/name/version: {lookup * 1000:.1f} ms")
    print(f"whole list ({args.count} VNFDs, no paging): {whole * 1000:.0f} ms")


if __name__ == "__main__":
    main()
