"""Online meetings in the portal: a participant report uploaded to a session, the sit-in it
reveals shown with its evidence, proposals confirmed, suspected cases reviewed; and, in real
headless Chromium, the same from a browser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select

from rollcall.storage.meetings import MeetingReview, PersonAlias
from rollcall.storage.models import AttendanceRecord, Person, Sighting
from rollcall.synth.reports import Attendee, teams_report, zoom_report

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # algebra-1 in the seeded portal


def sit_in(app: Flask) -> None:
    """Alice in her own tile; an unknown face in the tile labelled Bob (Bob never seen). Both
    are enrolled: an unknown face in the tile of someone who could not be recognised anyway
    says nothing against them."""
    import numpy as np

    from rollcall.storage.models import Person
    from rollcall.storage.people import add_template

    db = app.extensions["rollcall"].db
    with db.session() as s:
        for i, person in enumerate(
            s.scalars(select(Person).where(Person.name.in_(["Alice", "Bob"])))
        ):
            vector = np.random.default_rng(i).normal(size=128).astype(np.float32)
            add_template(s, person, cipher=db.cipher, embedder="sface+dlib", vector=vector,
                         source_name=f"{person.name}.jpg", source_sha256=f"{i:064x}",
                         face_px=120.0, sharpness=300.0)  # fmt: skip
        for sg in s.scalars(select(Sighting)):
            sg.tile, sg.label = 0, "Alice"
            s.add(Sighting(session_id=sg.session_id, seq=sg.seq, t=sg.t, person_id=None, x=300,
                           y=10, w=40, h=40, tile=1, label="Bob"))  # fmt: skip


def report_bytes() -> bytes:
    people = [
        Attendee("Alice", "alice@school.example", ((0, 600),)),
        Attendee("Bob", "bob@school.example", ((10, 590),)),
        Attendee("Bobby T", None, ((20, 300),)),
    ]
    return zoom_report(people, START, ZoneInfo("UTC"))


def _upload(b, data: bytes, name: str = "participants.csv"):  # noqa: ANN001, ANN202
    import io

    return b.post("/sessions/algebra-1/participants",
                  data={"report": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")  # fmt: skip


def test_upload_shows_the_sit_in_with_evidence_and_review(app: Flask, browser) -> None:  # noqa: ANN001
    sit_in(app)
    ivy = browser("ivy")
    assert _upload(ivy, report_bytes()).status_code == 302
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    assert "3 account(s)" in page
    bob_row = re.search(r'<tr class="case-proxy_suspected".*?</tr>', page, re.S)
    assert bob_row and "an unknown face" in bob_row.group(0)
    assert "/unknowns/1/crop" in bob_row.group(0)  # the crop of the face seen in Bob's tile
    assert 'class="case-verified"' in page
    # The nickname is only proposed; ivy confirms another person for it.
    assert "Bobby T" in page and 'id="waiting"' in page
    case = re.search(r'name="case" value="([^"]+)"', bob_row.group(0)).group(1)
    # Each case's controls say whose case they decide (a screen reader heard three identical
    # "Note on this case", "Confirmed", "Dismiss" per row: a teacher's review).
    assert 'aria-label="Dismiss the case of Bob"' in bob_row.group(0)
    assert ivy.post("/sessions/algebra-1/review",
                    data={"case": case, "decision": "dismissed",
                          "note": "camera was broken"}).status_code == 302  # fmt: skip
    with app.extensions["rollcall"].db.session() as s:
        review = s.scalar(select(MeetingReview))
        assert (review.decision, review.decided_by) == ("dismissed", "ivy")
        # Nothing was decided against Bob: his mark is as it was.
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        mark = s.scalar(select(AttendanceRecord).where(AttendanceRecord.person_id == bob.id))
        assert mark.status == "absent" and not mark.edited
    listing = ivy.get("/meetings/review").get_data(as_text=True)
    assert "camera was broken" in listing and "algebra-1" in listing
    assert "algebra-1" not in browser("otto").get("/meetings/review").get_data(as_text=True)


def test_a_wrong_report_is_removed_from_the_session_page(app: Flask, browser) -> None:  # noqa: ANN001
    from rollcall.storage.meetings import MeetingParticipant

    ivy = browser("ivy")
    assert _upload(ivy, report_bytes()).status_code == 302
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    assert "/sessions/algebra-1/participants/remove" in page and "data-confirm" in page
    assert browser("otto").post("/sessions/algebra-1/participants/remove").status_code == 403
    done = ivy.post("/sessions/algebra-1/participants/remove", follow_redirects=True)
    assert "Removed imported reports: 3 stay(s), 3 account(s)" in done.get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(func.count(MeetingParticipant.id))) == 0


def test_the_review_list_does_not_grow_with_sessions_without_a_report(app: Flask, browser) -> None:  # noqa: ANN001
    """Only sessions with a participant report can have cases: the list used to reconcile
    every session ever recorded, a few queries each."""
    from datetime import timedelta

    from sqlalchemy import event

    from rollcall.storage.models import AttendanceSession, Course

    sit_in(app)
    ivy = browser("ivy")
    assert _upload(ivy, report_bytes()).status_code == 302
    db = app.extensions["rollcall"].db

    def statements() -> tuple[int, str]:
        sent: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
            sent.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = ivy.get("/meetings/review").get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(sent), page

    few, _ = statements()
    with db.session() as s:
        algebra = s.scalar(select(Course.id).where(Course.name == "Algebra"))
        for i in range(20):
            s.add(AttendanceSession(
                name=f"old-{i}", course_id=algebra, source="screen",
                started_at=START - timedelta(days=i + 1), state="closed", seed=i,
                min_interval=20, max_interval=90, verify_every=300, leave_after=180,
            ))  # fmt: skip
    many, page = statements()
    assert many == few
    assert "algebra-1" in page


def test_a_broken_upload_imports_nothing_and_says_the_line(app: Flask, browser) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    lines = teams_report([Attendee("Alice", None, ((0, 60),))], START, ZoneInfo("UTC"))
    # The activities section's row (the one imported) gets a time no one can read.
    text = "Alice\tlunchtime".join(lines.decode("utf-16").rsplit("Alice\t3/2/26, 9:00:00 AM", 1))
    response = _upload(ivy, text.encode("utf-16"), "Attendance report.csv")
    assert response.status_code == 302
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    assert "Nothing was imported" in page and re.search(r"line \d+: cannot read the time", page)
    assert "No participant list yet" in page
    # The report's zone can be named: a Tokyo account's export read as Tokyo time.
    tokyo = ZoneInfo("Asia/Tokyo")
    data = zoom_report([Attendee("Alice", None, ((60, 600),))], START, tokyo)
    import io

    ivy.post("/sessions/algebra-1/participants",
             data={"report": (io.BytesIO(data), "z.csv"), "timezone": "Asia/Tokyo"},
             content_type="multipart/form-data")  # fmt: skip
    assert "09:01:00–09:10:00" in ivy.get("/sessions/algebra-1").get_data(as_text=True)


def test_confirming_a_proposal_remembers_the_alias(app: Flask, browser) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    _upload(ivy, report_bytes())
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    action = re.search(r'action="(/sessions/algebra-1/participants/\d+/confirm)"', page).group(1)
    with app.extensions["rollcall"].db.session() as s:
        s.add(Person(name="Zed Other"))  # enrolled, not on Algebra's roster
    assert "Zed Other" not in page
    ivy.post(action, data={"person": "Zed Other"})  # not hers to choose
    assert ivy.post(action, data={"person": "Bob"}).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        alias = s.scalar(select(PersonAlias).where(PersonAlias.value == "Bobby T"))
        assert alias is not None and alias.added_by == "ivy"
        zed = s.scalar(select(Person).where(Person.name == "Zed Other"))
        assert s.scalar(select(PersonAlias).where(PersonAlias.person_id == zed.id)) is None


def test_person_accounts_and_bulk_csv_for_admins(app: Flask, browser) -> None:  # noqa: ANN001
    import io

    ada = browser("ada")
    assert ada.post("/people/Alice/accounts",
                    data={"kind": "alias", "value": "Ali"}).status_code == 302  # fmt: skip
    assert "Ali" in ada.get("/people/Alice").get_data(as_text=True)
    sheet = b"person,email,alias\nBob,bob@home.example,Bobby\nNobody,,x\n"
    ada.post("/people/accounts", data={"accounts": (io.BytesIO(sheet), "a.csv")},
             content_type="multipart/form-data")  # fmt: skip
    assert "line 3" in ada.get("/people/").get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(PersonAlias).where(PersonAlias.value == "Bobby")) is None
    # A cell over the csv module's 128 KiB field limit stopped the reader with a 500; and the
    # same cell in a session's participant report (its format detection read it).
    huge = b"person,email,alias\nBob,," + b"B" * 200_000 + b"\n"
    sent = ada.post("/people/accounts", data={"accounts": (io.BytesIO(huge), "big.csv")},
                    content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert sent.status_code == 200
    assert "big.csv, line 2: not readable as CSV" in sent.get_data(as_text=True)
    zoom = b"Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
    zoom += b"Bob," + b"b" * 200_000 + b",05/06/2024 09:00:00 AM,05/06/2024 09:50:00 AM,50,No\n"
    sent = ada.post("/sessions/algebra-1/participants",
                    data={"report": (io.BytesIO(zoom), "z.csv")},
                    content_type="multipart/form-data", follow_redirects=True)  # fmt: skip
    assert sent.status_code == 200, sent.status_code
    assert "z.csv, line 2: 200," in sent.get_data(as_text=True)


# -- real headless Chromium ------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    from werkzeug.serving import make_server

    sit_in(app)
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
    from tests.web.test_e2e_browser import CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        try:
            yield browser.new_page()
        finally:
            browser.close()


@pytest.mark.timeout(300)
def test_the_reconciliation_in_a_real_browser(server: str, page, tmp_path: Path) -> None:  # noqa: ANN001
    from tests.web.conftest import PASSWORD
    from tests.web.test_e2e_browser import shot

    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/sessions/algebra-1")
    page.fill("input[name=name]", "ivy")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sessions/algebra-1")
    report = tmp_path / "participants_81234567890.csv"
    report.write_bytes(report_bytes())
    page.set_input_files("input[name=report]", str(report))
    page.click("text=Import participant report")
    page.wait_for_url("**/sessions/algebra-1#meeting")
    table = page.locator("#participants-table")
    assert "3 account(s)" in page.locator(".flash").inner_text()
    proxy = table.locator("tr[data-status=proxy_suspected]")
    assert proxy.count() == 1 and "Bob" in proxy.inner_text()
    assert "an unknown face" in proxy.inner_text()
    crop = proxy.locator("img.thumb").first
    assert crop.evaluate("img => img.complete && img.naturalWidth > 0")  # the evidence loads
    assert table.locator("tr[data-status=verified]").count() == 1
    shot(page, "20-meeting-reconciliation")
    proxy.locator("input[name=note]").fill("asked Bob: camera broken")
    proxy.locator("button[value=dismissed]").click()
    page.wait_for_url("**/sessions/algebra-1#meeting")
    assert "dismissed by ivy" in page.locator("tr[data-status=proxy_suspected]").inner_text()
    page.click("text=Meeting review")
    page.wait_for_url("**/meetings/review")
    assert "asked Bob: camera broken" in page.locator("#review-table").inner_text()
    shot(page, "21-meeting-review")
    assert not errors, errors


def test_a_confirmed_sit_in_cannot_be_undone_by_assigning_its_face(app: Flask, browser) -> None:  # noqa: ANN001
    """A teacher's review: after confirming that someone sat in for Bob, the face from his tile
    (waiting among the unknown faces) could be assigned to Bob, who was then marked present
    under the confirmed case. The review's audit entry also kept Bob's email (in the case's
    key), where an erasure cannot reach it, and not under Bob's name."""
    from rollcall.storage.staff import AuditEntry

    sit_in(app)
    ivy = browser("ivy")
    assert _upload(ivy, report_bytes()).status_code == 302
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    bob_row = re.search(r'<tr class="case-proxy_suspected".*?</tr>', page, re.S).group(0)
    case = re.search(r'name="case" value="([^"]+)"', bob_row).group(1)
    assert ivy.post("/sessions/algebra-1/review",
                    data={"case": case, "decision": "confirmed",
                          "note": "his cousin at his laptop"}).status_code == 302  # fmt: skip
    refused = ivy.post("/unknowns/1/assign", {"person": "Bob"}, follow_redirects=True)
    assert "confirmed that someone sat in for Bob" in refused.get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        mark = s.scalar(select(AttendanceRecord).where(AttendanceRecord.person_id == bob.id))
        assert mark.status == "absent"
        changed = AuditEntry.action == "meeting.changed"
        entry = s.scalar(select(AuditEntry).where(changed, AuditEntry.reason.contains("confirmed")))
        assert entry.subject == "Bob" and "@" not in entry.reason, entry.reason
        assert "proxy_suspected case: confirmed (his cousin at his laptop)" == entry.reason


def test_an_account_matched_by_the_face_in_its_tile_is_offered_that_person(
    app: Flask, browser
) -> None:  # noqa: ANN001
    """A teacher's review: "Galaxy S21" was described as "matched by the face in its tile:
    Alice" while its Accounts-to-match row offered no one ("choose…")."""
    sit_in(app)
    with app.extensions["rollcall"].db.session() as s:
        for sg in s.scalars(select(Sighting).where(Sighting.label == "Alice")):
            sg.label = "Galaxy S21"
    people = [Attendee("Galaxy S21", None, ((0, 600),)),
              Attendee("Bob", "bob@school.example", ((10, 590),))]  # fmt: skip
    ivy = browser("ivy")
    assert _upload(ivy, zoom_report(people, START, ZoneInfo("UTC"))).status_code == 302
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    waiting = page[page.index('id="waiting"') :]
    waiting = waiting[: waiting.index("</ul>")]
    assert "<option selected>Alice</option>" in waiting and "proposed: Alice" in waiting
