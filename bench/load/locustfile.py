"""Staff browsing the portal under load: admins and instructors, pages, evidence, API, mark edits,
and the week's pages: course calendars and matrices, people's histories, unknown faces, outbox.

Driven by bench/load/run_load.py, which prepares the accounts (bench/load/out/staff.json) and
starts the server; run alone only against a portal on 127.0.0.1. Every request is named by its
endpoint group so the summary can report p50/p95 per group.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
from pathlib import Path

from locust import HttpUser, between, events, task

OUT = Path(os.environ.get("ROLLCALL_LOAD_OUT", Path(__file__).with_name("out")))
STAFF = json.loads((OUT / "staff.json").read_text()) if (OUT / "staff.json").exists() else []
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SELECTED = re.compile(r'<option value="(\w+)" selected>')
STATUSES = ("present", "late", "left_early", "absent")
_next = itertools.count()
_lock = threading.Lock()
_log = None


@events.test_start.add_listener
def _open_log(environment, **_kw) -> None:  # noqa: ANN001
    global _log
    _log = (OUT / "requests.csv").open("w")
    _log.write("t,group,ms,ok\n")


@events.request.add_listener
def _record(request_type, name, response_time, exception, response=None, **_kw) -> None:  # noqa: ANN001
    import time

    ok = exception is None
    if _log is not None:
        with _lock:
            _log.write(f"{time.time():.3f},{name},{response_time:.1f},{int(ok)}\n")


@events.test_stop.add_listener
def _close_log(environment, **_kw) -> None:  # noqa: ANN001
    if _log is not None:
        _log.close()


def _page(client, url: str, name: str, **kw) -> None:  # noqa: ANN001, ANN003
    """GET a page; landing on the login form (a lost or refused session) is a failure."""
    with client.get(url, name=name, catch_response=True, **kw) as r:
        if r.status_code != 200 or r.url.split("?")[0].endswith("/login"):
            r.failure(f"{r.status_code} at {r.url}")


class Staff(HttpUser):
    """One staff account per simulated user, in the order of staff.json (admins first, mixed)."""

    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.me = STAFF[next(_next) % len(STAFF)]
        page = self.client.get("/login", name="login").text
        token = _CSRF.search(page).group(1)
        with self.client.post(
            "/login",
            data={"name": self.me["name"], "password": self.me["password"], "csrf_token": token},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"login refused: {r.status_code}")
        self.api = {"Authorization": f"Bearer {self.me['token']}"}
        self.sessions = self.me["sessions"]  # sessions this user may see and edit
        self.live = self.me["live"]  # sessions being taken right now

    @task(4)
    def dashboard(self) -> None:
        _page(self.client, "/", "dashboard")
        _page(self.client, "/live.json", "dashboard")

    @task(3)
    def sheet(self) -> None:
        name = random.choice(self.sessions + self.live)
        _page(self.client, "/sessions/", "sessions")
        _page(self.client, f"/sessions/{name}", "sheet")

    @task(2)
    def evidence(self) -> None:
        name = random.choice(self.sessions)
        person = random.choice(self.me["people"])
        with self.client.get(
            f"/sessions/{name}/evidence/{person}", name="evidence", catch_response=True
        ) as r:
            # Someone never seen has no evidence picture: a 404 is the right answer.
            if r.status_code in (200, 404):
                r.success()

    @task(3)
    def api(self) -> None:
        self.client.get("/api/v1/sessions", headers=self.api, name="api")
        name = random.choice(self.sessions + self.live)
        self.client.get(f"/api/v1/sessions/{name}/attendance", headers=self.api, name="api")

    @task(2)
    def course(self) -> None:
        """The course page: term calendar and the people x dates matrix."""
        name = random.choice(self.me["courses"])
        _page(self.client, f"/courses/{name}", "course")

    @task(2)
    def history(self) -> None:
        _page(self.client, f"/history/{random.choice(self.me['people'])}", "history")

    @task(1)
    def review(self) -> None:
        _page(self.client, "/unknowns/", "unknowns")
        _page(self.client, "/alerts/", "outbox")
        if self.me["role"] == "admin":
            _page(self.client, "/admin/users", "admin")

    @task(1)
    def edit_mark(self) -> None:
        name = random.choice(self.sessions)
        person = random.choice(self.me["people"])
        url = f"/sessions/{name}/marks/{person}"
        with self.client.get(url, name="mark", catch_response=True) as r:
            token, current = _CSRF.search(r.text), _SELECTED.search(r.text)
            if r.status_code != 200 or not (token and current):
                r.failure(f"mark page: {r.status_code} at {r.url}")
                return
        token, current = token.group(1), current.group(1)
        status = random.choice([s for s in STATUSES if s != current])
        with self.client.post(
            url,
            data={"status": status, "reason": "load test edit", "csrf_token": token},
            name="mark-edit",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code == 302:
                r.success()
                with _lock, (OUT / "edits.log").open("a") as f:
                    f.write(f"{name}\t{person}\t{status}\n")
            elif r.status_code == 400 and "already" in r.text:
                # Another user changed the same mark in between: a conflict, not a failure.
                r.success()
            else:
                r.failure(f"mark edit: {r.status_code}")
