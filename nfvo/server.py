"""``nfvo serve``: a cheroot WSGI server (threaded, request bodies streamed to the app, never buffered),
plus the embedded worker when no broker is configured."""

from __future__ import annotations

import signal
import sys

from cheroot import wsgi

from nfvo.config import Settings


def build_app(settings: Settings):
    """The app, after migrating an embedded (SQLite) database and creating first-start data."""
    from nfvo.api import create_app
    from nfvo.db.migrate import upgrade
    from nfvo.services.bootstrap import ensure_initial_data

    settings.ensure_dirs()
    if settings.embedded:
        upgrade(settings.database_url)
    app = create_app(settings)
    ensure_initial_data(app.extensions["nfvo"])
    return app


def start_embedded_worker(app) -> callable:
    """Runs the Celery worker on a thread of this process, re-enqueues the jobs a previous run left
    unfinished and sweeps stalled ones; returns a function that stops it."""
    from nfvo.services import packages
    from nfvo.worker.app import EmbeddedWorker, Sweeper, celery_app, use_context
    from nfvo.worker.tasks import enqueue

    ctx = app.extensions["nfvo"]
    use_context(ctx)
    worker, sweeper = EmbeddedWorker(celery_app), Sweeper(ctx, enqueue)
    worker.start()
    for job_id in packages.reclaim_all_jobs(ctx):
        enqueue(job_id)
    sweeper.start()

    def stop() -> None:
        sweeper.stop()
        worker.stop()

    return stop


def serve(settings: Settings, host: str, port: int, *, threads: int = 16) -> None:
    """Serves until SIGTERM or SIGINT."""
    app = build_app(settings)
    mode = "embedded (in-process worker)" if settings.embedded else "external workers"
    print(f"nfvo serving on http://{host}:{port}  mode: {mode}  home: {settings.home}", file=sys.stderr, flush=True)
    stop_worker = start_embedded_worker(app) if settings.embedded else (lambda: None)
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="nfvo", timeout=300,
                         request_queue_size=64)

    # SIGTERM ends the serve loop like Ctrl-C does; stopping from inside the handler would block.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.prepare()
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        stop_worker()
