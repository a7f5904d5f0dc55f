"""An instructor's week in real headless Chromium, on sessions taken by real `rollcall run`s.

Monday, Wednesday and Friday of one term week are recorded (the same stranger drops in each
time); the instructor sets the term and the alerts, the Friday run closes its session and the
alert email reaches a real local SMTP server (STARTTLS + AUTH); then a student's history, a
bulk edit and the strangers grouped across sessions; finally every main page at phone width
(390 px) with no horizontal overflow, measured in the browser, and a screenshot of each.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS

from helpers_session import enrollment_and_video_photos
from rollcall.config import Settings
from rollcall.synth import make_script, render_recording

ROSTER = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez"]
SKIPPER = "Hugo_Chavez"  # misses Wednesday and Friday
STRANGER = "John_Salley"
PASSWORD = "a long test password"
WEEK = [("algebra-mon", "2026-03-02"), ("algebra-wed", "2026-03-04"), ("algebra-fri", "2026-03-06")]
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.faces, pytest.mark.timeout(600)]


@pytest.fixture
def week(cli, home: Path, faces: Path, tmp_path: Path) -> dict[str, Path]:
    """Five people enrolled on Algebra (09:00-10:00 Paris), accounts for ada (admin) and ivy
    (Algebra's instructor, with an email), and two 2-minute recordings with the stranger:
    everyone, and everyone but SKIPPER."""
    enroll_dir = tmp_path / "enroll"
    video_photos = enrollment_and_video_photos(faces, ROSTER, enroll_dir, also=[STRANGER])
    recordings = {}
    for label, roster in (("all", ROSTER), ("without", [n for n in ROSTER if n != SKIPPER])):
        script = make_script(roster, 120.0, seed=4, strangers=[STRANGER], join_window_s=20)
        recordings[label] = render_recording(
            script, video_photos, tmp_path / f"{label}.mp4", (960, 540), fps=2
        ).path
    steps = [
        ("course", "add", "Algebra", "--from-dir", enroll_dir, "--consent", "signed form",
         "--starts", "09:00", "--ends", "10:00", "--timezone", "Europe/Paris"),
        ("user", "add", "ada", "--role", "admin", "--password-stdin"),
        ("user", "add", "ivy", "--role", "instructor", "--password-stdin"),
        ("user", "email", "ivy", "ivy@school.example"),
    ]  # fmt: skip
    for args in steps:
        result = cli(*args, input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    from rollcall.storage.accounts import get_user, set_instructor
    from rollcall.storage.db import Database
    from rollcall.storage.sessions import require_course

    with Database(Settings.from_env()).session() as s:
        set_instructor(s, require_course(s, "Algebra"), get_user(s, "ivy"), True)
    return recordings


def run_day(cli, name: str, day: str, recording: Path) -> None:  # noqa: ANN001
    result = cli(
        "run", "--session", name, "--source", recording, "--course", "Algebra",
        "--started-at", f"{day}T09:00+01:00", "--min-interval", "5", "--max-interval", "15",
        "--seed", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.fixture
def server(week: dict[str, Path]) -> Iterator[str]:
    from werkzeug.serving import make_server

    from rollcall.web import create_app

    app = create_app(Settings.from_env())
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


@pytest.fixture
def context(tmp_path: Path):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield browser
        finally:
            browser.close()


def login(page, server: str, name: str) -> None:  # noqa: ANN001
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def test_an_instructors_week(
    cli, week, server: str, context, smtp_server, monkeypatch, tmp_path: Path
) -> None:  # noqa: ANN001
    errors: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Monday and Wednesday are recorded before anything is set up.
    run_day(cli, *WEEK[0], week["all"])
    run_day(cli, *WEEK[1], week["without"])

    # The instructor sets the term (Mon/Wed/Fri, with a holiday) and the alerts.
    login(page, server, "ivy")
    page.goto(f"{server}/courses/Algebra")
    for day in ("mon", "wed", "fri"):
        page.check(f"input[name=meeting_days][value={day}]")
    page.fill("input[name=term_start]", "2026-03-02")
    page.fill("input[name=term_end]", "2026-03-13")
    page.fill("textarea[name=holidays]", "2026-03-09 Staff day")
    page.click("text=Save term")
    page.wait_for_url("**/courses/Algebra")
    assert "Term of Algebra saved" in page.content()
    page.click("text=Alert settings")
    page.check("input[name=after_session]")
    page.fill("input[name=absences]", "2")
    page.click("text=Save alert settings")
    page.wait_for_url("**/alerts/course/Algebra")
    # The preview already shows Wednesday's summary, not yet in the outbox.
    preview = page.locator("article.preview").first.inner_text()
    assert "algebra-wed" in preview and "would be sent" in preview

    # Friday's run closes its session: the alerts go out over SMTP at once.
    monkeypatch.setenv("ROLLCALL_SMTP_URL", smtp_server.url)
    run_day(cli, *WEEK[2], week["without"])
    subjects = [m["Subject"] for m in smtp_server.received]
    summary = [m for m in smtp_server.received if m["Subject"].startswith(
        "[rollcall] Algebra 2026-03-06 09:00:")]  # fmt: skip
    assert len(summary) == 1 and summary[0]["To"] == "ivy@school.example", subjects
    absent_line = next(
        line for line in summary[0].get_payload(decode=True).decode().splitlines()
        if line.startswith("Absent:")
    )  # fmt: skip
    assert SKIPPER in absent_line
    assert any(s.startswith(f"[rollcall] {SKIPPER}: ") and "absences in Algebra" in s
               for s in subjects), subjects  # fmt: skip
    assert all(smtp_server.tls_used) and len(smtp_server.logins) == len(subjects)
    page.goto(f"{server}/alerts/")
    assert page.locator("#outbox-table tr[data-state=sent]").count() == len(subjects)

    # The course page: three meetings held, on the term's calendar.
    page.goto(f"{server}/courses/Algebra")
    assert "3 meetings held" in page.locator("#calendar").inner_text()
    assert page.locator("#matrix-table tbody tr").count() == len(ROSTER)
    assert page.locator("td.day-held").count() == 3 and page.locator("td.day-holiday").count() == 1

    # A student's history: three sessions, two absences in a row, the trend chart.
    page.click(f"#matrix-table >> text={SKIPPER}")
    page.wait_for_url(f"**/history/{SKIPPER}")
    assert page.locator("#history-table tbody tr").count() == 3
    streak = page.locator("text=/\\d+ in a row/").first.inner_text()
    assert int(streak.split()[0]) >= 2, streak
    assert page.locator("svg.trend text.mark").count() == 3

    # Bulk edit on Friday's sheet: two people late, one reason, two audit entries.
    page.goto(f"{server}/sessions/algebra-fri")
    page.check(f"input[name=person][value={ROSTER[0]}]")
    page.check(f"input[name=person][value={ROSTER[1]}]")
    page.select_option("#bulk-form select[name=status]", "late")
    page.fill("#bulk-form input[name=reason]", "Fire drill before class")
    page.click("#bulk-form button[type=submit]")
    page.wait_for_url("**/sessions/algebra-fri#audit")
    audit = page.locator("#audit table").inner_text()
    assert audit.count("Fire drill before class") == 2

    # The stranger, seen in each session, is one entry with all sightings.
    page.goto(f"{server}/unknowns/")
    biggest = max(
        int(s.get_attribute("data-sessions")) for s in page.locator("article.stranger").all()
    )
    assert biggest >= 2, "the stranger was not grouped across sessions"
    # Assigning asks about the person picked (it said "the chosen person"); dismissed here.
    card = page.locator("article.stranger").first
    choice = card.locator("select[name=person] option").nth(1)
    card.locator("select[name=person]").select_option(label=choice.inner_text())
    asked: list[str] = []

    def answer(dialog) -> None:  # noqa: ANN001
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", answer)
    card.locator("form[data-confirm] button[type=submit]").first.click()
    assert asked and choice.inner_text() in asked[0] and "{person}" not in asked[0], asked

    # Every main page at phone width: no horizontal overflow; a screenshot of each.
    shots = Path(os.environ.get("ROLLCALL_SCREENSHOTS", tmp_path / "phone"))
    shots.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PHONE)
    pages = {
        "ivy": [
            "/", "/sessions/", "/sessions/algebra-fri", f"/sessions/algebra-fri/marks/{ROSTER[0]}",
            "/courses/", "/courses/Algebra", "/reports/", "/reports/Algebra",
            f"/history/{SKIPPER}", "/unknowns/", "/alerts/", "/alerts/course/Algebra",
            "/alerts/1", "/account/password",
        ],
        "ada": ["/people/", f"/people/{ROSTER[0]}", "/people/new", "/admin/users",
                "/admin/tokens", "/unknowns/"],
    }  # fmt: skip
    overflow = {}
    for user, urls in pages.items():
        login(page, server, user)
        for url in urls:
            response = page.goto(server + url)
            assert response.status == 200, url
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                overflow[url] = width
            name = f"{user}{url.replace('/', '_') or '_'}.png"
            page.screenshot(path=str(shots / name), full_page=True)
    print(f"\nphone screenshots: {shots} ({len(list(shots.glob('*.png')))} pages)")
    assert not overflow, f"wider than {PHONE['width']} px: {overflow}"
    # The menu collapses to a button on a phone, and opens.
    assert page.locator("ul.menu").is_hidden()
    page.click("label.menu-button")
    assert page.locator("ul.menu").is_visible()
    # ... and from the keyboard alone (the toggle was out of the tab order: a UX review).
    page.goto(server + "/")
    assert page.locator("ul.menu").is_hidden()
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "menu-toggle":
            break
    assert page.evaluate("document.activeElement.id") == "menu-toggle"
    page.keyboard.press("Space")
    assert page.locator("ul.menu").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('ul.menu') !== null")
    # A session's sheet on a phone: each person a card, their Edit link on the screen.
    page.goto(f"{server}/sessions/algebra-fri")
    edit = page.locator("#attendance-table a", has_text="Edit").first.bounding_box()
    assert edit is not None and edit["x"] + edit["width"] <= PHONE["width"], edit
    assert not errors, errors
