"""The kiosk screen in real headless Chromium, served by waitress as `rollcall serve` does: a mark
recorded while the page is open appears on it, with its photo; then a stranger and a visitor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from tests.web.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, shot

from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Person,
    SessionEvent,
    UnknownFace,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The seeded portal under waitress (4 threads, at most 2 kiosk streams), in a thread."""
    from waitress.server import create_server

    app.config.update(KIOSK_STREAM_SECONDS=5.0)  # short streams: the page must reconnect
    server = create_server(app, host="127.0.0.1", port=0, threads=4, asyncore_use_poll=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        server.close()
        thread.join(5)


@pytest.fixture
def page(tmp_path: Path):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_a_mark_appears_on_the_open_kiosk_page(app: Flask, server: str, page) -> None:  # noqa: ANN001
    db = app.extensions["rollcall"].db
    start = datetime.now(UTC) - timedelta(minutes=5)
    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        row.started_at, row.state, session_id = start, "running", row.id
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{server}/kiosk/algebra-1?token={app.config['SEED_KIOSK_TOKEN']}")
    assert page.url == f"{server}/kiosk/algebra-1"  # the token left the address bar
    page.wait_for_selector("#kiosk-state:text('Live')")
    assert page.locator("li.line").count() == 0
    # Longer than a stream lasts: the page has reconnected at least once by now.
    page.wait_for_timeout(6000)

    with db.session() as s:  # what the recorder writes when Bob walks in
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        alice_crop = s.scalar(
            select(AttendanceRecord.evidence_path).where(AttendanceRecord.id == 1)
        )
        mark = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.person_id == bob.id, AttendanceRecord.session_id == session_id
            )
        )
        first_seen = (datetime.now(UTC) - start).total_seconds()
        mark.status, mark.first_seen, mark.marked_at = "present", first_seen, datetime.now(UTC)
        mark.evidence_path = alice_crop
    line = page.locator("li.line.marked")
    line.wait_for(timeout=10_000)
    hhmm = f"{(start + timedelta(seconds=first_seen)).astimezone():%H:%M}"
    assert line.locator(".name").inner_text() == "Bob"
    assert line.locator(".what").inner_text().endswith(f"marked at {hhmm}")
    photo = line.locator("img")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    font_px = page.evaluate(
        "() => parseFloat(getComputedStyle(document.querySelector('li.line .name')).fontSize)"
    )
    assert font_px >= 35  # readable from two metres
    assert not page.locator("#kiosk-empty").is_visible()
    shot(page, "kiosk-marked")

    with db.session() as s:  # a stranger, then someone enrolled but not on the list
        now_t = (datetime.now(UTC) - start).total_seconds()
        written = datetime.now(UTC) - timedelta(seconds=2)
        s.add(UnknownFace(session_id=session_id, t=now_t - 1, crop_path=alice_crop,
                          best_similarity=0.2, recorded_at=written))  # fmt: skip
        carol = Person(name="Carol")
        s.add(carol)
        s.flush()
        s.add(SessionEvent(session_id=session_id, t=now_t, kind="visitor", person_id=carol.id,
                           crop_path=alice_crop))  # fmt: skip
    visitor = page.locator("li.line.visitor")
    visitor.wait_for(timeout=10_000)
    assert visitor.locator(".name").inner_text() == "Carol"
    assert "please see staff" in visitor.locator(".what").inner_text()
    unknown = page.locator("li.line.unknown")
    assert unknown.locator(".name").inner_text() == "Not recognised"
    assert page.locator("li.line").first.locator(".name").inner_text() == "Carol"  # newest first
    shot(page, "kiosk-visitor-unknown")
    assert not errors, errors


def test_the_kiosk_says_offline_when_the_server_stops_answering(
    app: Flask, server: str, page
) -> None:  # noqa: ANN001
    """An entrance operator's review: with the server down, the kiosk kept saying "Live" over
    stale lines (EventSource kept retrying, and only a closed stream said Offline)."""
    page.goto(f"{server}/kiosk/algebra-1?token={app.config['SEED_KIOSK_TOKEN']}")
    page.wait_for_selector("#kiosk-state:text('Live')")
    # The server goes: its streams end (5 s here) and every reconnection fails.
    page.route("**/stream**", lambda route: route.abort())
    page.wait_for_selector("#kiosk-state:text('Offline: ask staff')", timeout=30_000)
    page.unroute("**/stream**")
    page.wait_for_selector("#kiosk-state:text('Live')", timeout=30_000)  # and back
