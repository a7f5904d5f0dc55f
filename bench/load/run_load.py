"""Load test of the staff portal while sessions are being taken: latency, errors, lost marks.

    .venv/bin/python bench/load/run_load.py [--users 200] [--duration 90] [--threads 16]

1. prepare (once, cached in bench/load/out/): three recordings rendered from the real photos
   (as in tests/helpers_session.py), an enrolled ROLLCALL_HOME with 200 staff accounts (40
   admins, 160 instructors), 20 closed sessions to browse and edit, and the *baseline*: each
   recording processed by `rollcall run` with nothing else going on;
2. copy the prepared home, start `rollcall serve` (waitress on 127.0.0.1 only) and three
   workers that take sessions from the recordings back to back (`rollcall run`, same SQLite);
3. locust, headless, with --users staff browsing, calling the API and editing marks for
   --duration seconds (bench/load/locustfile.py);
4. report p50/p95 per endpoint group and overall (logins and the ramp-up left out), errors,
   and lost marks: every session taken under load must have exactly the baseline's marks, and
   every mark edit the portal accepted must be in the audit trail.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess  # nosec B404 - starts our own CLI and locust with fixed arguments
import sys
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "out"
BIN = Path(sys.executable).parent
HOST, PORT = "127.0.0.1", 8765  # loopback only: nothing else may be targeted
PASSWORD = "load test password"
RECORDING_S = 120.0
SEEDS = (11, 12, 13)
RUN_ARGS = ["--min-interval", "2", "--max-interval", "6", "--leave-after", "30", "--seed", "5"]
ADMINS, INSTRUCTORS, STATIC = 40, 160, 20
MAX_ROUNDS = 30  # per worker: bounds the loop whatever happens


# locust's command: the venv's (pip install -e ".[load]"), or --locust PATH (its own venv, when
# locust's dependencies should not enter the project's).
LOCUST = {"path": str(BIN / "locust")}
RUNNER_THREADS = {"value": 0}  # ROLLCALL_THREADS for the workers (0: OpenCV's default)
# Sessions under load are taken as live ones are: each recording plays at its own pace
# (`rollcall run --realtime`). --fast-sessions processes them flat out instead, a far heavier
# load than any live session gives (one recognition sample every few seconds).
LIVE = {"value": True}


def _env(home: Path, runner: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ROLLCALL_DATABASE_URL"}
    env |= {"ROLLCALL_HOME": str(home), "ROLLCALL_LOAD_OUT": str(OUT)}
    if runner and RUNNER_THREADS["value"]:
        env["ROLLCALL_THREADS"] = str(RUNNER_THREADS["value"])
    return env


def rollcall(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(  # nosec B603 - our own CLI, fixed arguments
        [str(BIN / "rollcall"), *args],
        env=_env(home, runner=args[0] == "run"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def marks(home: Path, session: str) -> list[tuple]:
    conn = sqlite3.connect(home / "rollcall.db", timeout=30)
    try:
        return conn.execute(
            "SELECT p.name, a.status, a.first_seen, a.last_seen FROM attendance a "
            "JOIN people p ON p.id = a.person_id JOIN sessions s ON s.id = a.session_id "
            "WHERE s.name = ? ORDER BY p.name",
            (session,),
        ).fetchall()
    finally:
        conn.close()


# -- 1. prepare ---------------------------------------------------------------------------------


def prepare() -> None:
    if (OUT / "prepared.json").exists():
        return
    sys.path.insert(0, str(ROOT))
    from argon2 import PasswordHasher
    from tests.conftest import faces_root
    from tests.helpers_session import ROSTER, enroll_home, meeting_script, pick_cast, render

    from rollcall.config import Settings
    from rollcall.storage import accounts
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceRecord, AttendanceSession, CourseAlerts, Person
    from rollcall.storage.sessions import upsert_course
    from rollcall.vision.engine import FaceEngine

    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    engine = FaceEngine()
    cast = pick_cast(faces_root(), engine)
    for seed in SEEDS:
        render(meeting_script(RECORDING_S, seed), cast, OUT / f"meeting-{seed}.mp4")
    home = OUT / "home"
    enroll_home(home, cast, engine)
    # Cheap hashes to create 200 accounts quickly; the first login rehashes at full cost.
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    db = Database(Settings(home=home))
    staff = []
    with db.session() as s:
        people = list(s.query(Person).filter(Person.name.in_(ROSTER)))
        live = [upsert_course(s, f"Live-{k}", ROSTER) for k in range(1, 4)]
        static = []
        # The static sessions fill a term of Monday/Wednesday/Friday meetings, so the course
        # pages draw a calendar and a people x dates matrix, and histories have a trend.
        term_start = date(2026, 1, 5)
        meetings = [term_start + timedelta(days=d) for d in range(120) if d % 7 in (0, 2, 4)]
        for course in live:
            s.add(CourseAlerts(course_id=course.id, after_session=True, absences=2, cc=""))
        for i in range(1, STATIC + 1):
            course = upsert_course(s, f"Static-{i}", ROSTER)
            course.meeting_days, course.term_start = "mon,wed,fri", term_start
            course.term_end = meetings[-1]
            row = AttendanceSession(
                name=f"static-{i}",
                course_id=course.id,
                source="lecture.mp4",
                started_at=datetime.combine(meetings[i * 2], datetime.min.time(), tzinfo=UTC)
                + timedelta(hours=9),
                state="closed",
                seed=1,
                min_interval=20,
                max_interval=90,
                verify_every=300,
                leave_after=180,
                processed_until=600,
                duration=600,
            )
            s.add(row)
            s.flush()
            s.add_all(
                AttendanceRecord(session_id=row.id, person_id=p.id, status="present")
                for p in people
            )
            static.append(course)
        live_names = [f"live-{k}-1" for k in range(1, 4)]
        for i in range(ADMINS + INSTRUCTORS):
            # Interleaved, so any number of simulated users is a mix of both roles.
            admin = i % 5 == 0 and sum(u["role"] == "admin" for u in staff) < ADMINS
            name = f"{'adm' if admin else 'ins'}-{i:03d}"
            user = accounts.create_user(s, name, PASSWORD, "admin" if admin else "instructor")
            if admin:
                sessions, mine = [f"static-{j}" for j in range(1, STATIC + 1)], live_names
                courses = [c.name for c in static + live]
            else:
                k, j = i % 3, i % STATIC
                accounts.set_instructor(s, static[j], user, True)
                accounts.set_instructor(s, live[k], user, True)
                sessions, mine = [f"static-{j + 1}"], [live_names[k]]
                courses = [static[j].name, live[k].name]
            staff.append(
                {
                    "name": name,
                    "role": user.role,
                    "password": PASSWORD,
                    "token": accounts.create_token(s, user),
                    "sessions": sessions,
                    "live": mine,
                    "courses": courses,
                    "people": list(ROSTER),
                }
            )
    db.engine.dispose()
    (OUT / "staff.json").write_text(json.dumps(staff, indent=1))
    baseline = {}
    for k, seed in enumerate(SEEDS, 1):
        clone = OUT / f"baseline-{k}"
        shutil.copytree(home, clone)
        started = time.monotonic()
        result = rollcall(clone, *_run_args(k, seed, "baseline"))
        assert result.returncode == 0, result.stderr
        baseline[str(k)] = {
            "marks": marks(clone, "baseline"),
            "seconds": round(time.monotonic() - started, 1),
        }
        shutil.rmtree(clone)
    (OUT / "prepared.json").write_text(json.dumps({"baseline": baseline}, indent=1))


def _run_args(k: int, seed: int, session: str, live: bool = False) -> list[str]:
    source = str(OUT / f"meeting-{seed}.mp4")
    pace = ["--realtime"] if live else []
    args = ["run", "--session", session, "--source", source, "--course", f"Live-{k}"]
    return [*args, *RUN_ARGS, *pace]


# -- 2.-3. the load -----------------------------------------------------------------------------


def _wait_http(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # nosec B310 - our loopback URL
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


class Worker(threading.Thread):
    """Takes sessions from one recording back to back until told to stop (at most MAX_ROUNDS)."""

    def __init__(self, home: Path, k: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.home, self.k, self.seed = home, k, seed
        self.stop = threading.Event()
        self.done: list[tuple[str, int, float]] = []  # (session, exit code, seconds)

    def run(self) -> None:
        for r in range(1, MAX_ROUNDS + 1):
            if self.stop.is_set():
                return
            name = f"live-{self.k}-{r}"
            started = time.monotonic()
            result = rollcall(self.home, *_run_args(self.k, self.seed, name, LIVE["value"]))
            self.done.append((name, result.returncode, round(time.monotonic() - started, 1)))
            if result.returncode != 0:
                (OUT / f"{name}.stderr").write_text(result.stderr)


def load(users: int, duration: int, threads: int, ramp: float) -> dict:
    home = OUT / "run-home"
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(OUT / "home", home)
    for f in ("requests.csv", "edits.log"):
        (OUT / f).unlink(missing_ok=True)
    server = subprocess.Popen(  # nosec B603 - our own CLI on loopback, fixed arguments
        [str(BIN / "rollcall"), "serve", "--host", HOST, "--port", str(PORT)]
        + ["--threads", str(threads)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=(OUT / "server.log").open("w"),
    )
    workers = [Worker(home, k, seed) for k, seed in enumerate(SEEDS, 1)]
    try:
        _wait_http(f"http://{HOST}:{PORT}/login", 30)
        for w in workers:
            w.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
            marks_exist(home, f"live-{k}-1") for k in range(1, 4)
        ):
            time.sleep(0.5)
        locust = subprocess.run(  # nosec B603 - locust against our loopback server
            [LOCUST["path"], "-f", str(HERE / "locustfile.py"), "--headless"]
            + ["-u", str(users), "-r", str(users / ramp), "-t", f"{duration}s"]
            + ["--host", f"http://{HOST}:{PORT}", "--only-summary", "--stop-timeout", "10"],
            env=_env(home),
            capture_output=True,
            text=True,
            timeout=duration + 120,
            check=False,
        )
        (OUT / "locust.log").write_text(locust.stdout + locust.stderr)
        for w in workers:
            w.stop.set()
        for w in workers:
            w.join(timeout=300)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {"home": home, "runs": [d for w in workers for d in w.done]}


def marks_exist(home: Path, session: str) -> bool:
    try:
        return bool(marks(home, session))
    except sqlite3.Error:
        return False


# -- 4. the report ------------------------------------------------------------------------------


def summarise(result: dict, ramp: float) -> dict:
    home: Path = result["home"]
    rows = list(csv.DictReader((OUT / "requests.csv").open()))
    # Measured from when every user has logged in: 200 argon2 verifications (and first-login
    # rehashes) are by design slow, and are reported apart under "login".
    # A straggler or two must not empty the window: start when 99% of the logins are done.
    done = sorted(float(r["t"]) for r in rows if r["group"] == "login")
    logged_in = done[int(0.99 * (len(done) - 1))] if done else 0.0
    start = max(min(float(r["t"]) for r in rows) + ramp + 5, logged_in + 2)
    window = [r for r in rows if float(r["t"]) >= start and r["group"] != "login"]
    groups: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for r in window:
        groups.setdefault(r["group"], []).append(float(r["ms"]))
        if r["ok"] != "1":
            errors[r["group"]] = errors.get(r["group"], 0) + 1
    errors_all = sum(1 for r in rows if r["ok"] != "1")

    def stats(ms: list[float]) -> dict:
        if not ms:
            return {"n": 0, "p50": 0, "p95": 0, "max": 0}
        a = np.array(ms)
        return {
            "n": len(ms),
            "p50": round(float(np.percentile(a, 50))),
            "p95": round(float(np.percentile(a, 95))),
            "max": round(float(a.max())),
        }

    per_group = {g: stats(v) | {"errors": errors.get(g, 0)} for g, v in sorted(groups.items())}
    overall = stats([ms for v in groups.values() for ms in v])
    seconds = max((float(r["t"]) for r in window), default=start) - start
    logins = [float(r["ms"]) for r in rows if r["group"] == "login"]
    # Lost marks: every session finished under load against its recording's baseline.
    baseline = json.loads((OUT / "prepared.json").read_text())["baseline"]
    compared, lost, unfinished = 0, [], []
    for name, code, _ in result["runs"]:
        k = name.split("-")[1]
        if code != 0:
            unfinished.append(name)
            continue
        got = [list(m) for m in marks(home, name)]
        compared += 1
        if got != baseline[k]["marks"]:
            lost.append(name)
    edits = sum(1 for _ in (OUT / "edits.log").open()) if (OUT / "edits.log").exists() else 0
    conn = sqlite3.connect(home / "rollcall.db")
    audited = conn.execute(
        "SELECT COUNT(*) FROM audit_entries WHERE action = 'mark.edited'"
    ).fetchone()[0]
    conn.close()
    return {
        "window_s": round(seconds, 1),
        "requests": len(window),
        "rps": round(len(window) / max(seconds, 1), 1),
        "overall": overall | {"errors": sum(errors.values())},
        "groups": per_group,
        "errors_including_logins": errors_all,
        "login": stats(logins) if logins else {},
        "runs": result["runs"],
        "sessions_compared": compared,
        "sessions_with_lost_or_changed_marks": lost,
        "runs_failed": unfinished,
        "mark_edits_accepted": edits,
        "mark_edits_in_audit": audited,
        "baseline_run_seconds": {k: v["seconds"] for k, v in baseline.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--duration", type=int, default=90, help="seconds of load (30 to 300)")
    ap.add_argument("--threads", type=int, default=16, help="waitress threads")
    ap.add_argument("--ramp", type=float, default=20.0, help="seconds to start every user")
    ap.add_argument(
        "--runner-threads", type=int, default=0, help="ROLLCALL_THREADS of the three runs"
    )
    ap.add_argument(
        "--fast-sessions",
        action="store_true",
        help="process the recordings flat out instead of at their own (live) pace",
    )
    ap.add_argument("--label", default="", help="a name for this run in the summary file")
    ap.add_argument("--locust", default=LOCUST["path"], help="the locust command to run")
    args = ap.parse_args()
    LOCUST["path"] = args.locust
    args.duration = max(30, min(300, args.duration))
    RUNNER_THREADS["value"] = args.runner_threads
    LIVE["value"] = not args.fast_sessions
    prepare()
    summary = summarise(load(args.users, args.duration, args.threads, args.ramp), args.ramp)
    summary |= {"users": args.users, "threads": args.threads, "duration": args.duration}
    summary |= {"runner_threads": args.runner_threads, "live_sessions": LIVE["value"]}
    name = f"load-summary{'-' + args.label if args.label else ''}.json"
    (OUT / name).write_text(json.dumps(summary, indent=1))
    g = summary["groups"]
    print(
        f"{args.users} users, {args.threads} threads, {summary['window_s']} s measured, "
        f"{summary['requests']} requests ({summary['rps']}/s)"
    )
    for group, s in g.items():
        print(
            f"  {group:10s} n={s['n']:5d}  p50 {s['p50']:5d} ms  p95 {s['p95']:5d} ms  "
            f"errors {s['errors']}"
        )
    o = summary["overall"]
    print(
        f"  {'overall':10s} n={o['n']:5d}  p50 {o['p50']:5d} ms  p95 {o['p95']:5d} ms  "
        f"errors {o['errors']}"
    )
    print(f"login: {summary['login']}; errors incl. logins: {summary['errors_including_logins']}")
    print(
        f"sessions taken under load: {summary['sessions_compared']} compared, lost/changed "
        f"marks in {summary['sessions_with_lost_or_changed_marks']}, failed runs "
        f"{summary['runs_failed']}; mark edits accepted {summary['mark_edits_accepted']}, "
        f"in the audit trail {summary['mark_edits_in_audit']}"
    )


if __name__ == "__main__":
    main()
