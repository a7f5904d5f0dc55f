"""The dashboard with many sessions running: server time of `/live.json` (polled every 5 s by
every open dashboard) and of `/`, against the number of running sessions.

    .venv/bin/python bench/bench_dashboard.py [--sessions 50 400] [--samples 60] [--marks 30]
        [--past 2000] [--repeat 15]

Each running session has `--samples` head counts (an hour at the default 20-90 s gaps) and
`--marks` people marked; `--past` closed sessions stand for the school's history. An admin's
requests go through Flask's test client (no network), on SQLite in a temporary
ROLLCALL_HOME unless ROLLCALL_DATABASE_URL names an empty server database. Prints the median
and p90 ms of each page per level, and the SQL statements each request sent.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event

PASSWORD = "a long enough benchmark password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def enroll(db, marks: int) -> list[int]:  # noqa: ANN001
    from rollcall.storage.models import Person

    with db.session() as s:
        people = [Person(name=f"Student {i:03d}") for i in range(marks)]
        s.add_all(people)
        s.flush()
        return [p.id for p in people]


def populate(db, running: int, samples: int, people: list[int], past: int, first: int) -> None:  # noqa: ANN001
    from rollcall.storage.models import AttendanceRecord, AttendanceSession, HeadCount

    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    marks = len(people)
    with db.session() as s:
        for i in range(past + running):
            closed = i < past
            row = AttendanceSession(
                name=f"s{first + i}",
                course_id=None,
                source="screen",
                started_at=start - timedelta(hours=past + running - i),
                state="closed" if closed else "running",
                seed=i,
                min_interval=20,
                max_interval=90,
                verify_every=300,
                leave_after=180,
            )
            s.add(row)
            s.flush()
            if closed:
                continue
            s.add_all(
                AttendanceRecord(
                    session_id=row.id,
                    person_id=p,
                    status="present",
                    first_seen=5.0,
                    last_seen=55.0 * samples,
                )
                for p in people
            )
            s.add_all(
                HeadCount(
                    session_id=row.id,
                    seq=k,
                    t=55.0 * k,
                    count=marks,
                    recognized=marks,
                    unknown=0,
                    verified=k % 3 == 0,
                )
                for k in range(samples)
            )


def timed(client, url: str, repeat: int, engine) -> tuple[list[float], int]:  # noqa: ANN001
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement)

    client.get(url)  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    event.listen(engine, "before_cursor_execute", count)
    client.get(url)
    event.remove(engine, "before_cursor_execute", count)
    return times, len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 400])
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--marks", type=int, default=30)
    parser.add_argument("--past", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="rollcall-dashboard-"))
    os.environ["ROLLCALL_HOME"] = str(home)
    from rollcall.config import Settings
    from rollcall.storage.accounts import create_user
    from rollcall.web import create_app

    app = create_app(Settings.from_env(), TESTING=True)
    db = app.extensions["rollcall"].db
    with db.session() as s:
        create_user(s, "ada", PASSWORD, "admin")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    client.post("/login", data={"name": "ada", "password": PASSWORD, "csrf_token": token})
    print(
        f"database {db.engine.url.render_as_string(hide_password=True)}; {args.samples} head "
        f"counts and {args.marks} marks a running session; {args.past} closed sessions"
    )
    print(f"{'running':>8} {'page':>11} {'median ms':>10} {'p90 ms':>8} {'statements':>11}")
    done, past, made = 0, args.past, 0
    people = enroll(db, args.marks)
    for level in sorted(args.sessions):
        populate(db, level - done, args.samples, people, past, first=made)
        made += level - done + past
        done, past = level, 0
        for url in ("/live.json", "/", "/sessions/", "/agents/", "/meetings/review"):
            times, statements = timed(client, url, args.repeat, db.engine)
            p90 = statistics.quantiles(times, n=10)[-1]
            print(
                f"{level:>8} {url:>11} {statistics.median(times):>10.1f} {p90:>8.1f} "
                f"{statements:>11}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
