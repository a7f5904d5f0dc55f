"""The dashboard: sessions running now, with a live head count, and the recent ones."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from rollcall.attendance.report import as_utc
from rollcall.storage import accounts
from rollcall.storage.audit import recent_entries
from rollcall.storage.sessions import attendance_rows, head_counts
from rollcall.web.access import me
from rollcall.web.context import db_session

bp = Blueprint("dashboard", __name__)
RECENT = 10


def _here(s, row, now_t: float | None) -> tuple[int, int, list[str]]:  # noqa: ANN001
    """(here, expected, missing names): someone is here if seen within the session's
    leave-after time of its latest sample, the same rule that reports them as having left."""
    marks = attendance_rows(s, row.id)
    here = {
        name
        for rec, name in marks
        if now_t is not None and rec.last_seen is not None
        and rec.last_seen >= now_t - (row.leave_after or 0)
    }  # fmt: skip
    missing = [name for _, name in marks if name not in here]
    return len(here), len(marks), missing


def _live(s, rows) -> list[dict[str, object]]:  # noqa: ANN001
    out = []
    for row in rows:
        counts = head_counts(s, row.id)
        last = counts[-1] if counts else None
        here, expected, missing = _here(s, row, last.t if last else None)
        out.append(
            {
                "session": row.name,
                "course": row.course.name if row.course else None,
                "started_at": as_utc(row.started_at).isoformat(),
                "head_count": last.count if last else None,
                "recognized": last.recognized if last else None,
                "t": round(last.t, 1) if last else None,
                "samples": len(counts),
                "here": here,
                "expected": expected,
                "missing": missing,
            }
        )
    return out


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        rows = accounts.visible_sessions(s, user)
        running = _live(s, [r for r in rows if r.state == "running"])
        recent = [r for r in rows if r.state != "running"][:RECENT]
        audit = recent_entries(s, 8) if user.role == "admin" else []
        return render_template("dashboard.html", running=running, recent=recent, audit=audit)


@bp.get("/live.json")
def live():  # noqa: ANN201
    """Polled by the dashboard every few seconds so running head counts update in place."""
    with db_session() as s:
        rows = accounts.visible_sessions(s, me(s))
        return jsonify(sessions=_live(s, [r for r in rows if r.state == "running"]))
