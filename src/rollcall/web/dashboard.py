"""The dashboard: sessions running now, with a live head count, and the recent ones."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from rollcall.attendance.report import as_utc
from rollcall.attendance.run_lease import stalled
from rollcall.storage import accounts
from rollcall.storage.audit import recent_entries
from rollcall.storage.sessions import live_summaries
from rollcall.web.access import me
from rollcall.web.context import db_session

bp = Blueprint("dashboard", __name__)
RECENT = 10
STALLED = "its run stopped answering: resume it (rollcall run --resume)"


def _live(s, rows) -> list[dict[str, object]]:  # noqa: ANN001
    summaries = live_summaries(s, [row.id for row in rows])
    out = []
    for row in rows:
        summary = summaries[row.id]
        last = summary.latest
        # Here: seen within the session's leave-after time of its latest sample, the same rule
        # that reports them as having left.
        since = None if last is None else last.t - (row.leave_after or 0)
        here = {
            name for name, seen in summary.marked
            if since is not None and seen is not None and seen >= since
        }  # fmt: skip
        out.append(
            {
                "session": row.name,
                "course": row.course.name if row.course else None,
                "started_at": as_utc(row.started_at).isoformat(),
                "head_count": last.count if last else None,
                "recognized": last.recognized if last else None,
                "t": round(last.t, 1) if last else None,
                "samples": summary.samples,
                "here": len(here),
                "expected": len(summary.marked),
                "missing": [name for name, _ in summary.marked if name not in here],
                # A `rollcall run` that was killed leaves its session "running": say so.
                "stalled": STALLED if stalled(row) else "",
            }
        )
    return out


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        # Only what the page shows: a school's years of sessions are not read every visit.
        running = _live(s, accounts.visible_sessions(s, user, running=True))
        recent = accounts.visible_sessions(s, user, running=False, limit=RECENT)
        audit = recent_entries(s, 8) if user.role == "admin" else []
        return render_template("dashboard.html", running=running, recent=recent, audit=audit)


@bp.get("/live.json")
def live():  # noqa: ANN201
    """Polled by the dashboard every few seconds so running head counts update in place."""
    with db_session() as s:
        return jsonify(sessions=_live(s, accounts.visible_sessions(s, me(s), running=True)))
