"""The Celery app. External mode uses NFVO_BROKER_URL; embedded mode an in-memory broker."""

from __future__ import annotations

import logging
import threading

import kombu.exceptions
from celery import Celery
from celery.signals import worker_process_init, worker_ready
from celery.utils.threads import bound_open_broker_sockets
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.consumer import COLLECT_SOCKET_TIMEOUT
from kombu.common import ignore_errors

from nfvo import config
from nfvo.db.session import dispose_all
from nfvo.services import packages
from nfvo.services.context import Context

celery_app = Celery("nfvo", include=["nfvo.worker.tasks"])


class Consumer(CeleryConsumer):
    """Celery's task consumer, which closes its task channel itself when the broker connection is lost.

    Work-around for kombu's Redis transport (kombu 5.7, celery 5.7): closing a lost connection,
    kombu closes the task channel first, and that close stops at the reply of the BRPOP in
    flight (a worker with a free slot always has one), which cannot be read. kombu then closes
    the other channels until one fails (remote control's, which needs Redis to delete its queue),
    detaches the transport, and closes the task channel again: to give back the messages of the
    running jobs it builds a Redis client from the detached transport and dies with
    ``AttributeError("'NoneType' object has no attribute 'hostname'")``, which Celery treats as
    fatal. Closed here first (a second attempt when the first stopped at the BRPOP), the task
    channel is closed while the transport is attached; Redis being away is then an ordinary
    connection error, and the worker reconnects.
    """

    def on_connection_error_after_connected(self, exc):
        task_consumer, connection = self.task_consumer, self.connection
        if task_consumer is not None and connection is not None:
            bound_open_broker_sockets(connection, COLLECT_SOCKET_TIMEOUT)  # as Celery does before closing
            channel = task_consumer.channel
            for _attempt in range(2):
                if getattr(channel, "closed", True):
                    break
                ignore_errors(connection, channel.close)
        super().on_connection_error_after_connected(exc)


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
        worker_consumer="nfvo.worker.app:Consumer",
        # Remote control stays on: its subscription is the one broker socket that a worker whose
        # every slot is busy keeps reading, so such a worker notices at once that Redis went away
        # and reconnects. Without it, a job ending while Redis is away fails its ack, the worker's
        # slot is never given back, and the worker stops taking tasks.
        worker_enable_remote_control=True,
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
