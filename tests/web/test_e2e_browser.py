"""End to end in real headless Chromium: a session from a real `rollcall run`, seen by staff.

log in -> open the session -> open the evidence -> edit a mark -> see the audit entry -> export CSV,
saving screenshots of the main pages to artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers_session import enrollment_and_video_photos
from rollcall.config import Settings
from rollcall.synth import make_script, render_recording

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps trying to reach the internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ROSTER = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez"]
STRANGER = "John_Salley"
PASSWORD = "a long test password"
SESSION = "algebra-week-1"

pytestmark = [pytest.mark.faces, pytest.mark.timeout(600)]


@pytest.fixture
def recorded_session(cli, home: Path, faces: Path, tmp_path: Path) -> Settings:
    """Enroll 5 people, render a 2-minute gallery recording of them, `rollcall run` it."""
    enroll_dir = tmp_path / "enroll"
    video_photos = enrollment_and_video_photos(faces, ROSTER, enroll_dir, also=[STRANGER])
    script = make_script(ROSTER, 120.0, seed=4, strangers=[STRANGER], join_window_s=20)
    recording = render_recording(script, video_photos, tmp_path / "lecture.mp4", (960, 540), fps=2)
    steps = [
        (
            "course",
            "add",
            "Algebra",
            "--from-dir",
            enroll_dir,
            "--consent",
            "signed form",
            "--starts",
            "09:00",
            "--ends",
            "10:00",
        ),
        (
            "run",
            "--session",
            SESSION,
            "--source",
            recording.path,
            "--course",
            "Algebra",
            "--min-interval",
            "5",
            "--max-interval",
            "15",
            "--seed",
            "7",
        ),
    ]
    for args in steps:
        result = cli(*args)
        assert result.exit_code == 0, result.output
    result = cli("user", "add", "ada", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return Settings.from_env()


@pytest.fixture
def server(recorded_session: Settings) -> Iterator[str]:
    """The portal on 127.0.0.1 and a free port, in a thread."""
    from werkzeug.serving import make_server

    from rollcall.web import create_app

    app = create_app(recorded_session)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


@pytest.fixture
def page(tmp_path: Path):  # noqa: ANN201
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile for every run
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def shot(page, name: str) -> None:  # noqa: ANN001
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_staff_verify_edit_and_export(server: str, page) -> None:  # noqa: ANN001
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{server}/sessions/{SESSION}")
    assert "/login" in page.url  # anonymous: sent to log in first
    shot(page, "01-login")
    page.fill("input[name=name]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/sessions/{SESSION}")

    # The sheet: everyone expected, a chart, evidence thumbnails.
    rows = page.locator("#attendance-table tbody tr")
    assert rows.count() == len(ROSTER)
    assert page.locator("svg.chart circle.dot-verified").count() >= 1
    thumbs = page.locator("#attendance-table img.thumb")
    assert thumbs.count() >= 1
    # Waited for, not read at once: on a loaded machine the thumbnail can still be on its way
    # when the page's URL is reached. A broken image never gets a width and times out.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=thumbs.first.element_handle(),
        timeout=20_000,
    )
    shot(page, "02-session-sheet")
    # Sortable headers are tab stops; the Select and Evidence columns have nothing to sort by
    # and are not (a UX review).
    stops = page.locator("#attendance-table thead th[tabindex='0']").all_inner_texts()
    assert "Person" in stops and "Status" in stops
    assert not {"Select", "Evidence"} & set(stops), stops
    # Filters and sorts fold accents and case as the server does (a timetabler's review:
    # "ismail" did not find "İsmail", and "Émile" sorted after "Zoë").
    assert page.evaluate("folded('İsmail Yılmaz, Weiß, Jose\u0301, ZÜRICH')") == (
        "ismail yilmaz, weiss, jose, zurich"
    )
    assert page.evaluate("['Zoë', 'Émile', 'adam'].sort(compare)") == ["adam", "Émile", "Zoë"]
    assert page.evaluate("folded('Łukasz Søren Æsa')") == "lukasz soren aesa"  # as accents.py

    # Open the evidence of the first recognised person.
    thumbs.first.click()
    page.wait_for_url("**/marks/**")
    person = page.locator("h1").inner_text()
    evidence = page.locator("img.evidence")
    assert evidence.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, "03-evidence")

    # Edit the mark with a reason.
    page.select_option("select[name=status]", "absent")
    page.fill("textarea[name=reason]", "Photo shows a look-alike; checked with the register")
    page.click("text=Save the change")
    page.wait_for_url(f"**/sessions/{SESSION}#audit")
    audit = page.locator("#audit table")
    assert "Photo shows a look-alike" in audit.inner_text()
    assert "→ absent" in audit.inner_text()
    assert person in audit.inner_text()
    shot(page, "04-after-edit")

    # Export CSV: the edit is in it.
    with page.expect_download() as download:
        page.click("text=Export CSV")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = {r["person"]: r for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))}
    assert set(rows) == set(ROSTER)
    assert rows[person]["status"] == "absent" and rows[person]["edited"] == "yes"

    # The other main pages render.
    for url, name in [
        ("/", "05-dashboard"),
        ("/people/", "06-people"),
        ("/unknowns/", "07-unknowns"),
        ("/courses/Algebra", "08-course"),
        ("/reports/Algebra", "09-report"),
    ]:
        response = page.goto(server + url)
        assert response.status == 200, url
        shot(page, name)
    assert not errors, errors
