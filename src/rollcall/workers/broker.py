"""The broker side both halves share: the task's name and queue, the Celery settings, and
the priorities. `rollcall serve` imports this to send tasks; only `rollcall worker` imports
celery_app, which also hooks the worker's start (networks loaded, the sweeper)."""

from __future__ import annotations

from celery import Celery

TASK = "rollcall.analyze_session"
QUEUE = "rollcall"
# Redis serves priority 0 (and messages without one) first, then 3, 6 and 9 (kombu's steps,
# each a list of its own: QUEUE + PRIORITY_SEP + step).
START_PRIORITY = 9
PRIORITY_STEPS = (0, 3, 6, 9)
PRIORITY_SEP = "\x06\x16"
TIME_LIMIT = 300  # seconds; a 49-face sample takes ~1-2 s, a backlog of a session many
VISIBILITY_TIMEOUT = 3 * TIME_LIMIT


def make_celery(broker_url: str) -> Celery:
    app = Celery("rollcall", broker=broker_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=TIME_LIMIT,
        task_soft_time_limit=TIME_LIMIT - 30,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": VISIBILITY_TIMEOUT,
            "priority_steps": list(PRIORITY_STEPS),
        },
        # A pool process above ~1.5 GB is replaced (onnxruntime arenas can creep).
        worker_max_memory_per_child=1_500_000,
    )
    return app
