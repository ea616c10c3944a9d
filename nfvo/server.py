"""``nfvo serve``: gunicorn (gthread) streaming request bodies to the app, plus the embedded worker."""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from nfvo.config import Settings


class Server(BaseApplication):
    """One gunicorn master; in embedded mode its single process also runs the Celery worker thread
    and re-enqueues the jobs a previous run left unfinished."""

    def __init__(self, settings: Settings, bind: str, *, threads: int = 8, processes: int = 1):
        self.settings = settings
        self.options = {
            "bind": bind,
            "workers": processes,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 120,
            "graceful_timeout": 20,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "limit_request_field_size": 16384,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if self.settings.embedded:
            self.cfg.set("post_worker_init", _start_embedded_worker)

    def load(self):
        from nfvo.api import create_app
        from nfvo.db.migrate import upgrade
        from nfvo.services.bootstrap import ensure_initial_data

        self.settings.ensure_dirs()
        if self.settings.embedded:
            upgrade(self.settings.database_url)
        app = create_app(self.settings)
        ensure_initial_data(app.extensions["nfvo"])
        return app


def _start_embedded_worker(gunicorn_worker) -> None:
    from nfvo.services import packages
    from nfvo.worker.app import EmbeddedWorker, Sweeper, celery_app, use_context
    from nfvo.worker.tasks import enqueue

    ctx = gunicorn_worker.wsgi.extensions["nfvo"]
    use_context(ctx)
    EmbeddedWorker(celery_app).start()
    for job_id in packages.reclaim_all_jobs(ctx):
        enqueue(job_id)
    Sweeper(ctx, enqueue).start()
