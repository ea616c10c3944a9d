"""The Celery app. External mode uses NFVO_BROKER_URL; embedded mode an in-memory broker."""

from __future__ import annotations

import logging
import threading

import kombu.exceptions
from celery import Celery
from celery.signals import worker_process_init, worker_ready

from nfvo import config
from nfvo.db.session import dispose_all
from nfvo.services import packages
from nfvo.services.context import Context

celery_app = Celery("nfvo", include=["nfvo.worker.tasks"])


def configure(settings: config.Settings) -> Celery:
    """Points the app at the settings' broker (``memory://`` when embedded)."""
    celery_app.conf.update(
        broker_url=settings.broker_url or "memory://localhost/",
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # Broker restarts: a worker keeps trying to reconnect for as long as it takes, and lets its
        # running jobs go on meanwhile (the job row, not the message, is the truth: a message
        # redelivered for a finished job does nothing, and the lease sweep re-queues lost ones).
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Redis redelivers an unacked task only after this; job leases recover sooner (see Sweeper).
        # The health check and keepalive notice a dead or restarted Redis instead of waiting on it.
        broker_transport_options={"visibility_timeout": 4 * 3600, "health_check_interval": 10,
                                  "socket_keepalive": True, "retry_on_timeout": True},
    )
    if settings.embedded:  # the in-memory broker otherwise waits a second between polls
        celery_app.conf.broker_transport_options = {"polling_interval": 0.05}
    return celery_app


_context: Context | None = None


def context() -> Context:
    """This process's context: the one ``use_context`` set, else built from the environment."""
    global _context
    if _context is None:
        _context = Context(config.load())
    return _context


def use_context(ctx: Context) -> None:
    """Makes tasks run in this process use ``ctx`` (embedded mode shares the app's)."""
    global _context
    _context = ctx


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    # A forked pool process must not share the parent's database connections.
    global _context
    dispose_all()
    _context = None


class EmbeddedWorker:
    """A Celery worker on a thread of this process (solo pool), for ``nfvo serve`` without a broker."""

    def __init__(self, app: Celery):
        self._controller = app.WorkController(
            pool_cls="solo", concurrency=1, without_heartbeat=True, without_mingle=True, without_gossip=True,
            loglevel="WARNING", hostname="embedded@nfvo",
        )
        self._thread = threading.Thread(target=self._controller.start, name="nfvo-embedded-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._controller.stop(in_sighandler=False)
        self._thread.join(timeout=10)


class Sweeper:
    """At start and every half NFVO_JOB_STALE_SECONDS: enqueues again the jobs whose worker stopped
    beating, and removes the files crashes left that nothing owns (packages.sweep_leftovers)."""

    def __init__(self, ctx: Context, enqueue):
        self._ctx, self._enqueue = ctx, enqueue
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nfvo-job-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> None:
        """One round; a failure (database or broker briefly away) is logged, the next round tries again."""
        log = logging.getLogger(__name__)
        try:
            packages.sweep_leftovers(self._ctx)
        except Exception:
            log.exception("sweep of leftover files failed")
        try:
            for job_id in packages.stalled_jobs(self._ctx):
                self._enqueue(job_id)
        except kombu.exceptions.OperationalError as exc:  # the broker is away: no traceback every round
            log.warning("job sweep could not reach the broker: %s", exc)
        except Exception:
            log.exception("job sweep failed")

    def _loop(self) -> None:
        self.sweep()
        while not self._stop.wait(self._ctx.settings.job_stale_after / 2):
            self.sweep()


@worker_ready.connect
def _start_sweeper(**_kwargs) -> None:
    from nfvo.worker.tasks import enqueue

    if not context().settings.embedded:
        Sweeper(context(), enqueue).start()
