"""What the portal shows of the server side: each live session's agent, and the worker pool.

Every figure is read when the page is asked for, with short timeouts: a broker that is down
shows as "unreachable", never as a page that hangs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.attendance.lifecycle import CLOSED
from rollcall.storage.models import (
    AgentToken,
    AttendanceSession,
    Frame,
    HeadCount,
    SessionState,
)
from rollcall.wallclock import as_utc

# An agent asks or uploads at least this often, or once per sampling interval of its session
# (a meeting's agent may be quiet for up to its --max-interval between samples).
CONNECTED_WITHIN = timedelta(seconds=60)
RATE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class AgentLine:
    session: str
    agent: str | None
    connected: bool
    seen_at: datetime | None
    lag_s: float | None
    waiting: int  # frames on the server, not analyzed yet
    backlog: int  # frames the agent still holds (what it said with its last upload)
    entrance: bool = False
    watcher: str | None = None  # the process following an entrance now (host:pid)


@dataclass(frozen=True)
class PoolStatus:
    broker: str  # "in-process" (no broker), "connected" or "unreachable"
    workers: int | None
    queued_tasks: int | None
    waiting_frames: int
    samples_per_minute: float


def agent_lines(s: Session, sessions: list[AttendanceSession]) -> list[AgentLine]:
    """The running sessions (of those given) that an agent records."""
    now = datetime.now(UTC)
    live = [r for r in sessions if r.state != CLOSED and r.agent_token_id is not None]
    if not live:
        return []
    ids = [r.id for r in live]
    waiting = dict(
        s.execute(
            select(Frame.session_id, func.count()).where(Frame.session_id.in_(ids))
            .group_by(Frame.session_id)
        ).all()
    )  # fmt: skip
    tokens = {
        t.id: t
        for t in s.scalars(
            select(AgentToken).where(AgentToken.id.in_({r.agent_token_id for r in live}))
        )
    }
    names = {i: t.name for i, t in tokens.items()}
    # An agent refused at its next request (its token revoked, its owner disabled or taken
    # off the course) is not connected, however recently it was seen.
    refused = {r.id for r in live if not _may_go_on(s, tokens.get(r.agent_token_id), r)}
    from rollcall.analysis.entrance.uploads import watcher_of
    from rollcall.storage.clock import database_epoch

    states = {
        st.session_id: st
        for st in s.scalars(
            select(SessionState).where(
                SessionState.session_id.in_([r.id for r in live if r.mode == "entrance"])
            )
        )
    }
    lines = []
    clock = database_epoch(s) if states else 0.0
    for row in live:
        seen = None if row.agent_seen_at is None else as_utc(row.agent_seen_at)
        lines.append(
            AgentLine(
                session=row.name,
                agent=names.get(row.agent_token_id),
                connected=seen is not None
                and row.id not in refused
                and now - seen
                <= max(CONNECTED_WITHIN, timedelta(seconds=(row.max_interval or 0) + 30)),
                seen_at=seen,
                lag_s=row.agent_lag,
                waiting=waiting.get(row.id, 0),
                backlog=row.agent_backlog or 0,
                entrance=row.mode == "entrance",
                watcher=watcher_of(states.get(row.id), clock),
            )
        )
    return lines


def _may_go_on(s: Session, token: AgentToken | None, row: AttendanceSession) -> bool:
    """Whether the session's agent would be let in at its next request."""
    from rollcall.storage import agents

    return token is not None and agents.is_live(s, token) and agents.may_record(s, token, row)


def samples_per_minute(s: Session) -> float:
    """Samples written in the last RATE_WINDOW, per minute: the pool's work now, whenever
    their frames were taken (a backlog after an outage, a recording's backfill)."""
    since = datetime.now(UTC) - RATE_WINDOW
    recent = s.scalar(select(func.count(HeadCount.id)).where(HeadCount.recorded_at >= since))
    return (recent or 0) / (RATE_WINDOW.total_seconds() / 60)


def pool_status(s: Session, broker_url: str | None) -> PoolStatus:
    waiting = s.scalar(select(func.count(Frame.id))) or 0
    rate = samples_per_minute(s)
    if not broker_url:
        return PoolStatus("in-process", None, None, waiting, rate)
    try:
        workers, queued = _ask_broker(broker_url)
    except Exception:  # noqa: BLE001 - whatever the broker's client raises, the page still shows
        return PoolStatus("unreachable", None, None, waiting, rate)
    return PoolStatus("connected", workers, queued, waiting, rate)


def _ask_broker(broker_url: str) -> tuple[int, int | None]:
    from rollcall.workers.broker import PRIORITY_SEP, PRIORITY_STEPS, QUEUE, make_celery

    app = make_celery(broker_url)
    app.conf.broker_connection_timeout = 1.0
    app.conf.broker_connection_retry = False
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1.0)
        replies = app.control.ping(timeout=0.5, connection=conn) or []
        queued = None
        if broker_url.startswith(("redis://", "rediss://")):
            import redis

            # One list per priority step (the start-up samples wait in the last).
            keys = [QUEUE if p == 0 else f"{QUEUE}{PRIORITY_SEP}{p}" for p in PRIORITY_STEPS]
            with redis.Redis.from_url(broker_url, socket_timeout=1.0) as client:
                queued = sum(int(client.llen(k)) for k in keys)
    return len(replies), queued
