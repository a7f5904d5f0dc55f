"""A Celery app for test_priority: rollcall's broker settings and task name, with a task that
only writes down, in order, the session ids it was given (no database, no networks)."""

from __future__ import annotations

import os
from pathlib import Path

from rollcall.workers.broker import TASK, make_celery

app = make_celery(os.environ["ORDER_BROKER_URL"])


@app.task(name=TASK)
def analyze_session(session_id: int) -> None:
    with Path(os.environ["ORDER_LOG"]).open("a") as log:
        log.write(f"{session_id}\n")
