"""`rollcall run`, `sessions`, `report` and `export` on generated recordings without faces.

Nothing here needs the real face data: the people are rows in the database (no templates), the
recordings are blank pictures written with PyAV. What is checked is how sessions are made,
timed, stopped, closed and deleted, and how bad input is refused.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from helpers_session import query

ROSTER = ["Ada Lovelace", "Alan Turing"]
STARTED = datetime(2024, 5, 6, 13, 0, tzinfo=UTC)  # 09:00 in New York, 15:00 in Paris


@pytest.fixture
def roster(home: Path) -> list[str]:
    """Two people in the database, without templates: enough for a session to expect them."""
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.people import get_or_create_person

    db = Database(Settings.from_env())
    with db.session() as session:
        for name in ROSTER:
            get_or_create_person(session, name)
    db.engine.dispose()
    return list(ROSTER)


def blank_video(
    path: Path, seconds: float = 3.0, fps: int = 2, metadata: dict[str, str] | None = None
) -> Path:
    """A short grey MP4 (no faces), with container metadata when given."""
    with av.open(str(path), "w") as out:
        if metadata:
            out.metadata.update(metadata)
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = 160, 96
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast"}
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((96, 160, 3), 128, np.uint8), "bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def one_line_error(result, *words: str) -> str:  # noqa: ANN001
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def sessions_in(home: Path) -> list[tuple]:
    return query(home, "SELECT name, state FROM sessions")


# ---------------------------------------------------------------- sources that are not videos


def test_a_text_file_is_refused_as_a_source_and_leaves_no_session(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    # FFmpeg plays a text file as ANSI art: a 640x400 "recording" with no one in it, after
    # which everyone was marked absent in a closed session and the run exited 0.
    notes = tmp_path / "notes.txt"
    notes.write_text("Lecture 3: recursion\n" + "- base case first\n" * 200)
    one_line_error(cli("run", "--session", "W1", "--source", notes), "notes.txt", "not a video")
    assert sessions_in(home) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("--leave-after", "-5"), ("--verify-every", "0"), ("--leave-after", "nan")],
)
def test_nonsense_session_seconds_are_refused_and_leave_no_session(
    cli, home: Path, roster: list[str], tmp_path: Path, option: str, value: str
) -> None:
    """--leave-after -5 ran, and reported everyone gone at their first missed sample."""
    result = cli("run", "--session", "W1", "--source", tmp_path / "none.mp4", option, value)
    assert result.exit_code == 2 and option in result.output, result.output
    assert sessions_in(home) == []


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40])
def test_an_empty_or_corrupt_video_is_refused_and_leaves_no_session(
    cli, home: Path, roster: list[str], tmp_path: Path, content: bytes
) -> None:
    video = tmp_path / "lecture.mp4"
    video.write_bytes(content)
    one_line_error(cli("run", "--session", "W1", "--source", video), "lecture.mp4")
    assert sessions_in(home) == []


def test_a_recording_cut_short_is_refused_in_words_not_an_ffmpeg_error_number(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    """An MP4 whose recorder did not finish (its index, written last, is missing) said
    "[Errno 1094995529] Invalid data found when processing input"."""
    whole = blank_video(tmp_path / "whole.mp4", seconds=6.0).read_bytes()
    video = tmp_path / "lecture.mp4"
    video.write_bytes(whole[: len(whole) // 2])
    said = one_line_error(cli("run", "--session", "W1", "--source", video), "lecture.mp4")
    assert "Errno" not in said and "cut short" in said, said
    assert sessions_in(home) == []


# ---------------------------------------------------------------- files written by commands


def a_session(
    home: Path,
    name: str = "W1",
    *,
    course: str | None = None,
    started_at: datetime = STARTED,
    state: str = "closed",
) -> int:
    """A session made straight in the database (no run), as a run would leave it: a head count,
    Ada seen from 65 s to 130 s (an interval, a mark and its evidence crop), an unknown face
    with its crop and an event. Returns the session's id."""
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import (
        AttendanceRecord,
        HeadCount,
        Person,
        PresenceInterval,
        SessionEvent,
        UnknownFace,
    )
    from rollcall.storage.sessions import SessionSettings, create_session, require_course

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as session:
        people = session.query(Person).order_by(Person.name).all()
        course_row = require_course(session, course) if course else None
        row = create_session(
            session, name, SessionSettings("x.mp4", 1, 5, 15, 300, 60), people, course_row,
            started_at,
        )  # fmt: skip
        row.state, row.processed_until = state, 140.0
        if state == "closed":
            row.duration = 140.0
        folder = settings.evidence_dir / f"session-{row.id}"
        folder.mkdir(parents=True)
        for crop in ("1-3.jpg", "unknown-3-0.jpg"):
            cv2.imwrite(str(folder / crop), np.full((20, 20, 3), 90, np.uint8))
        ada = people[0]
        session.add(HeadCount(session_id=row.id, seq=0, t=65.0, count=2, recognized=1, unknown=1))
        record = (
            session.query(AttendanceRecord).filter_by(session_id=row.id, person_id=ada.id).one()
        )
        record.status, record.first_seen, record.last_seen, record.confidence = (
            "present", 65.0, 130.0, 0.9,
        )  # fmt: skip
        record.evidence_path = f"evidence/session-{row.id}/1-3.jpg"
        end = None if state == "running" else 130.0
        session.add(
            PresenceInterval(
                session_id=row.id, person_id=ada.id, start_t=65.0, last_seen=130.0, end_t=end
            )
        )
        session.add(
            UnknownFace(
                session_id=row.id, t=65.0, best_similarity=0.3,
                crop_path=f"evidence/session-{row.id}/unknown-3-0.jpg",
            )
        )  # fmt: skip
        session.add(SessionEvent(session_id=row.id, t=65.0, kind="joined", person_id=ada.id))
        session_id = row.id
    db.engine.dispose()
    return session_id


def test_export_into_a_missing_folder_is_a_one_line_error(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    a_session(home)
    target = tmp_path / "no-such-folder" / "w1.csv"
    for fmt in ("csv", "xlsx"):
        line = one_line_error(
            cli("export", "--session", "W1", "--format", fmt, "--output", target),
            str(target.parent),
            "does not exist",
        )
        assert "create it first" in line
    assert not target.parent.exists()
    (tmp_path / "exports").mkdir()
    done = cli(
        "export", "--session", "W1", "--format", "csv", "--output", tmp_path / "exports/w1.csv"
    )
    assert done.exit_code == 0, done.output


def test_files_that_cannot_be_written_are_one_line_errors(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    a_session(home)
    in_the_way = tmp_path / "notes.txt"  # a file where a folder should be
    in_the_way.write_text("not a folder")
    one_line_error(
        cli("export", "--session", "W1", "--format", "csv", "--output", in_the_way / "w1.csv"),
        "is not a folder",
    )
    one_line_error(
        cli("people", "export", ROSTER[0], "--output", in_the_way / "ada.zip"), "ada.zip"
    )
    one_line_error(cli("db", "backup", in_the_way / "backup.jsonl.gz"), "backup.jsonl.gz")
    picture = tmp_path / "wall.png"
    cv2.imwrite(str(picture), np.full((64, 64, 3), 200, np.uint8))
    one_line_error(cli("identify", picture, "--annotate", in_the_way / "out"), "out")


# ---------------------------------------------------------------- when a session started


def report_json(cli, name: str) -> dict:  # noqa: ANN001
    result = cli("report", "--session", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def started(report: dict) -> datetime:
    return datetime.fromisoformat(report["started_at"])


def test_a_recordings_creation_time_is_when_its_session_started(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    video = blank_video(
        tmp_path / "lecture.mp4", metadata={"creation_time": "2024-05-06T07:00:00.000000Z"}
    )
    result = cli("run", "--session", "W1", "--source", video, "--json")
    assert result.exit_code == 0, result.output
    assert "from the recording's creation time" in result.stderr
    assert started(report_json(cli, "W1")) == datetime(2024, 5, 6, 7, 0, tzinfo=UTC)


def test_without_a_creation_time_a_recording_started_its_duration_before_it_was_saved(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    video = blank_video(tmp_path / "lecture.mp4", seconds=3.0)
    saved = datetime(2024, 5, 6, 9, 30, tzinfo=UTC)
    os.utime(video, (saved.timestamp(), saved.timestamp()))
    result = cli("run", "--session", "W1", "--source", video)
    assert result.exit_code == 0, result.output
    assert "modification time less its duration" in result.stderr
    assert abs(started(report_json(cli, "W1")) - (saved - timedelta(seconds=3))) < timedelta(
        milliseconds=10
    )


def test_started_at_is_taken_and_a_time_without_a_zone_refused(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    video = blank_video(
        tmp_path / "lecture.mp4", metadata={"creation_time": "2024-05-06T07:00:00.000000Z"}
    )
    naive = cli("run", "--session", "W1", "--source", video, "--started-at", "2024-05-06T09:00")
    one_line_error(naive, "--started-at", "no time zone")
    one_line_error(
        cli("run", "--session", "W1", "--source", video, "--started-at", "monday 9am"),
        "not an ISO 8601 time",
    )
    for typo in ("0001-01-01T00:00:00+14:00", "1924-05-06T09:00:00Z"):
        one_line_error(
            cli("run", "--session", "W1", "--source", video, "--started-at", typo),
            "not between the years 1970 and 2100",
        )
    # A year typed ahead: the session would close, and send its absences, before the class.
    ahead = (datetime.now(UTC) + timedelta(days=365)).isoformat(timespec="minutes")
    one_line_error(
        cli("run", "--session", "W1", "--source", video, "--started-at", ahead), "in the future"
    )
    assert sessions_in(home) == []
    given = "2024-05-06T09:00:00+02:00"  # wins over the creation time
    result = cli("run", "--session", "W1", "--source", video, "--started-at", given)
    assert result.exit_code == 0, result.output
    assert started(report_json(cli, "W1")) == datetime.fromisoformat(given)


def test_a_course_schedule_is_read_on_the_course_clock(
    cli, home: Path, roster: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 09:00-09:10 in New York; the session started at 13:00 UTC, 09:00 there. Ada, first seen
    # 65 s in, is on time. Read on a UTC clock (a server's, or this machine's), the lecture
    # began four hours *before* the session and she was late.
    people = [arg for name in roster for arg in ("--people", name)]
    added = cli("course", "add", "NY", *people, "--starts", "09:00", "--ends", "09:10",
                "--timezone", "America/New_York")  # fmt: skip
    assert added.exit_code == 0, added.output
    a_session(home, "W1", course="NY")
    report = report_json(cli, "W1")
    assert {a["person"]: a["status"] for a in report["attendance"]} == {
        "Ada Lovelace": "present",
        "Alan Turing": "absent",
    }
    assert report["timezone"] == "America/New_York"
    assert report["started_at_local"] == "2024-05-06T09:00:00-04:00"
    # A course without a zone is read in ROLLCALL_TIMEZONE's; a bad zone is refused.
    one_line_error(cli("course", "add", "X", "--timezone", "Mars/Olympus"), "Mars/Olympus")
    added = cli("course", "add", "PARIS", "--people", roster[0], "--starts", "15:00",
                "--ends", "15:10")  # fmt: skip
    assert added.exit_code == 0, added.output
    a_session(home, "W2", course="PARIS")
    monkeypatch.setenv("ROLLCALL_TIMEZONE", "Europe/Paris")
    report = report_json(cli, "W2")
    assert report["timezone"] == "Europe/Paris"
    assert report["attendance"][0]["status"] == "present"
    monkeypatch.setenv("ROLLCALL_TIMEZONE", "Nowhere/Special")
    one_line_error(cli("sessions"), "ROLLCALL_TIMEZONE", "Nowhere/Special")


def test_exports_show_clock_times_in_the_course_zone(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    added = cli("course", "add", "P", "--people", roster[0], "--timezone", "Europe/Paris")
    assert added.exit_code == 0, added.output
    a_session(home, "W1", course="P")  # 13:00 UTC is 15:00 in Paris; Ada seen 65 s to 130 s
    csv_path, xlsx_path = tmp_path / "w1.csv", tmp_path / "w1.xlsx"
    for fmt, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        done = cli("export", "--session", "W1", "--format", fmt, "--output", path)
        assert done.exit_code == 0, done.output
    rows = {r["person"]: r for r in csv.DictReader(csv_path.open(encoding="utf-8-sig"))}
    ada = rows["Ada Lovelace"]
    assert (ada["first_seen_s"], ada["last_seen_s"]) == ("65.0", "130.0")
    assert ada["first_seen_at"] == "2024-05-06T15:01:05+02:00"
    assert ada["last_seen_at"] == "2024-05-06T15:02:10+02:00"
    assert rows["Alan Turing"]["first_seen_at"] == ""
    sheet = load_workbook(xlsx_path)["Attendance"]
    assert sheet["A2"].value == "Started (Europe/Paris)"
    assert sheet["B2"].value.startswith("2024-05-06 15:00:00")
    header = [c.value for c in sheet[5]]
    ada_row = dict(zip(header, [c.value for c in sheet[6]], strict=True))
    assert ada_row["first seen (Europe/Paris)"] == datetime(2024, 5, 6, 15, 1, 5)
    assert ada_row["last seen (Europe/Paris)"] == datetime(2024, 5, 6, 15, 2, 10)
    listing = cli("sessions")
    assert "2024-05-06 15:00 CEST" in listing.stdout
    assert "[/]" not in listing.stdout and "[white]" not in listing.stdout  # styled, not shown


# ---------------------------------------------------------------- stopped, closed, deleted


def run_in_process(home: Path, name: str, *, stop_after: int | None = None, **options: object):
    """run_session on a blank recording; with stop_after, Ctrl-C lands after that many
    samples (should_stop is asked before each sample; raising there is a Ctrl-C)."""
    from rollcall.attendance.runner import RunOptions, run_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.vision.engine import FaceEngine

    asked = {"n": 0}

    def ctrl_c_after() -> bool:
        asked["n"] += 1
        if stop_after is not None and asked["n"] > stop_after:
            raise KeyboardInterrupt
        return False

    settings = Settings.from_env()
    db = Database(settings)
    try:
        return run_session(
            db, settings, FaceEngine(), RunOptions(session=name, **options),
            should_stop=ctrl_c_after,
        )  # fmt: skip
    finally:
        db.engine.dispose()


class VirtualCamera:
    """A live source on a virtual clock that starts at 0 when opened (as a camera's does):
    a read jumps the clock to the time asked for, so a test need not wait."""

    name, live, duration, recorded_at = "virtual camera", True, None, None

    def __init__(self) -> None:
        self.now = 0.0

    def read(self, not_before: float = 0.0):  # noqa: ANN201
        from rollcall.vision.types import Frame

        self.now = max(self.now + 0.04, not_before)
        return Frame(np.full((96, 160, 3), 128, np.uint8), self.now)

    def elapsed(self) -> float:
        return self.now

    def close(self) -> None:
        pass


def test_a_live_session_resumed_after_an_outage_goes_on_at_the_time_it_is_now(
    cli, home: Path, roster: list[str], monkeypatch
) -> None:  # noqa: ANN001
    """A camera session stopped after three samples and taken up again 1,000 s after it
    started: the camera's clock starts at 0 again, and until stop 33 its frames went on the
    timeline where the last run stopped (every time after it early by the outage, so a
    late arrival could be marked on time). Now they go at the wall time since the start; the
    sampling times that fell in the outage are missed, not taken late, and the outage is on
    the timeline."""
    from datetime import UTC, timedelta

    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceSession, SessionEvent

    monkeypatch.setattr("rollcall.attendance.runner.open_source", lambda *a, **k: VirtualCamera())
    args = {"min_interval": 20.0, "max_interval": 30.0, "seed": 4}
    first = run_in_process(home, "CAM", source="camera:0", stop_after=3, **args)
    assert first.stopped_by == "interrupted" and first.samples == 3
    db = Database(Settings.from_env())
    try:
        with db.session() as s:
            row = s.query(AttendanceSession).filter_by(name="CAM").one()
            stopped_at = row.processed_until
            assert 40.0 <= stopped_at <= 90.0, stopped_at
            row.started_at = datetime.now(UTC) - timedelta(seconds=1000)  # 1,000 s have passed
        again = run_in_process(home, "CAM", resume=True, stop_after=2)
        assert again.samples == 2
        assert again.missed >= 25, again.missed  # 20-30 s apart, over ~900 s of outage
        times = [h["t"] for h in report_json(cli, "CAM")["head_counts"]]
        assert len(times) == 5 and times[2] == pytest.approx(stopped_at, abs=0.1)
        assert 985.0 <= times[3] <= 1030.0, times
        with db.session() as s:
            gaps = [
                e.detail for e in s.query(SessionEvent).filter_by(session_id=row.id, kind="gap")
            ]
        assert len(gaps) == 1 and "nothing was analyzed for" in gaps[0], gaps
    finally:
        db.engine.dispose()


def test_ctrl_c_leaves_the_session_interrupted_and_resume_finishes_it(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    video = blank_video(tmp_path / "lecture.mp4", seconds=12.0)
    args = {"min_interval": 1.0, "max_interval": 2.0, "seed": 4}
    whole = run_in_process(home, "ALL", source=str(video), **args)
    stopped = run_in_process(home, "W1", source=str(video), stop_after=3, **args)
    assert stopped.stopped_by == "interrupted" and stopped.samples == 3
    assert dict(sessions_in(home))["W1"] == "interrupted"
    assert "interrupted" in cli("sessions").stdout
    assert report_json(cli, "W1")["state"] == "interrupted"
    # Continued where it stopped (and from the start it had): every sample once, as in the
    # run never stopped.
    one_line_error(
        cli("run", "--session", "W1", "--resume", "--started-at", "2024-05-06T09:00Z"),
        "a resumed session keeps the start it was given",
    )
    done = cli("run", "--session", "W1", "--resume")
    assert done.exit_code == 0, done.output
    counts = "SELECT h.seq, h.t FROM head_counts h JOIN sessions s ON s.id = h.session_id " \
        "WHERE s.name = ? ORDER BY h.seq"  # fmt: skip
    assert query(home, counts, "W1") == query(home, counts, "ALL")
    assert len(query(home, counts, "ALL")) == whole.samples
    assert dict(sessions_in(home))["W1"] == "closed"
    one_line_error(cli("run", "--session", "W1", "--resume"), "already closed")


def test_a_resume_that_cannot_reopen_its_source_leaves_the_session_interrupted(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    video = blank_video(tmp_path / "lecture.mp4", seconds=6.0)
    run_in_process(home, "W1", source=str(video), min_interval=1.0, max_interval=2.0, stop_after=2)
    video.rename(tmp_path / "moved.mp4")
    one_line_error(cli("run", "--session", "W1", "--resume"), "lecture.mp4")
    # Not "running" with no run attached (the portal would show it live): still resumable.
    assert sessions_in(home) == [("W1", "interrupted")]
    done = cli("run", "--session", "W1", "--resume", "--source", tmp_path / "moved.mp4")
    assert done.exit_code == 0, done.output
    assert sessions_in(home) == [("W1", "closed")]


def test_a_stopped_run_suspends_presence_and_resume_reopens_it(home: Path, roster: list[str]):
    from rollcall.attendance.lifecycle import CLOSED, INTERRUPTED, RUNNING
    from rollcall.attendance.monitor import IntervalChange, SampleOutcome
    from rollcall.attendance.recorder import SessionRecorder
    from rollcall.attendance.runner import RunOptions, prepare_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    settings = Settings.from_env()
    db = Database(settings)
    intervals = "SELECT start_t, last_seen, end_t, suspended FROM presence_intervals"
    state = "SELECT state FROM sessions"
    try:
        session_id, _, _ = prepare_session(db, RunOptions("W1", source="x.mp4"))
        recorder = SessionRecorder(db, session_id, settings.evidence_dir)
        sample = SampleOutcome(0, 10.0, 1, 1, 0, True, 1)
        sample.intervals.append(IntervalChange(roster[0], 10.0, 10.0, None))
        recorder.record(sample)
        assert query(home, intervals) == [(10.0, 10.0, None, 0)]
        recorder.interrupt()  # Ctrl-C: nobody is credited past their last sighting...
        assert query(home, intervals) == [(10.0, 10.0, 10.0, 1)]
        assert query(home, state) == [(INTERRUPTED,)]
        prepare_session(db, RunOptions("W1", resume=True))  # ...until the run goes on
        assert query(home, intervals) == [(10.0, 10.0, None, 0)]
        assert query(home, state) == [(RUNNING,)]
        recorder.interrupt()
        recorder.close([], 30.0)  # the end: closed for good, no longer reopenable
        assert query(home, intervals) == [(10.0, 10.0, 10.0, 0)]
        assert query(home, state) == [(CLOSED,)]
    finally:
        db.engine.dispose()


def test_sessions_close_ends_an_interrupted_session_for_good(
    cli, home: Path, roster: list[str]
) -> None:
    a_session(home, "W1", state="interrupted")
    assert cli("sessions", "list").stdout.count("interrupted") == 1
    result = cli("sessions", "close", "W1")
    assert result.exit_code == 0, result.output
    assert "1 absent, 1 present" in result.stdout
    assert sessions_in(home) == [("W1", "closed")]
    assert query(home, "SELECT status FROM attendance ORDER BY person_id") == [
        ("present",), ("absent",),
    ]  # fmt: skip
    assert query(home, "SELECT count(*) FROM presence_intervals WHERE end_t IS NULL") == [(0,)]
    one_line_error(cli("sessions", "close", "W1"), "already closed")
    one_line_error(cli("run", "--session", "W1", "--resume"), "already closed")
    one_line_error(cli("sessions", "close", "nope"), "'nope'")
    [(action, actor, subject)] = query(
        home, "SELECT action, actor, subject FROM audit_entries WHERE session_name = 'W1'"
    )
    assert (action, subject) == ("session.closed", "W1") and "(command line)" in actor


def test_closing_a_session_stops_the_run_recording_it(
    home: Path, roster: list[str], tmp_path: Path
) -> None:
    from rollcall.attendance.lifecycle import close_session
    from rollcall.attendance.runner import RunOptions, run_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.vision.engine import FaceEngine

    video = blank_video(tmp_path / "lecture.mp4", seconds=12.0)
    settings = Settings.from_env()
    db = Database(settings)
    asked = {"n": 0}

    def closed_elsewhere_after_two() -> bool:
        asked["n"] += 1
        if asked["n"] == 3:
            close_session(db, "W1", "another terminal")
        return False

    try:
        options = RunOptions("W1", source=str(video), min_interval=1.0, max_interval=2.0)
        stats = run_session(
            db, settings, FaceEngine(), options, should_stop=closed_elsewhere_after_two
        )
    finally:
        db.engine.dispose()
    assert stats.stopped_by == "session closed while it was running" and stats.samples == 2
    assert sessions_in(home) == [("W1", "closed")]
    assert query(home, "SELECT count(*) FROM head_counts") == [(2,)]


def test_sessions_delete_frees_the_name_with_everything_recorded(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    kept = a_session(home, "KEEP")
    gone = a_session(home, "W1")
    folder = home / "evidence" / f"session-{gone}"
    assert len(list(folder.iterdir())) == 2
    # In a script, nothing is deleted without --yes; at a terminal it asks first.
    one_line_error(cli("sessions", "delete", "W1"), "--yes")
    one_line_error(cli("sessions", "delete", "nope", "--yes"), "'nope'")
    assert len(sessions_in(home)) == 2 and folder.is_dir()
    result = cli("sessions", "delete", "W1", "--yes")
    assert result.exit_code == 0, result.output
    expected = f"1 head count(s), the attendance of {len(roster)} expected (1 seen), 1 unknown"
    assert expected + " face(s), 2 evidence file(s)" in result.stdout  # (it said "1 mark(s)")
    assert sessions_in(home) == [("KEEP", "closed")]
    assert not folder.exists()
    assert (home / "evidence" / f"session-{kept}").is_dir()
    for table in ("head_counts", "attendance", "presence_intervals", "unknown_faces",
                  "session_events"):  # fmt: skip
        assert query(home, f"SELECT DISTINCT session_id FROM {table}") == [(kept,)], table
    [(action, after)] = query(
        home, "SELECT action, reason FROM audit_entries WHERE session_name = 'W1'"
    )
    assert action == "session.deleted" and "2 files" in after
    # The name is free again.
    video = blank_video(tmp_path / "lecture.mp4")
    again = cli("run", "--session", "W1", "--source", video)
    assert again.exit_code == 0, again.output


def test_sessions_delete_asks_at_a_terminal(home: Path, roster: list[str]) -> None:
    import pty
    import subprocess

    a_session(home, "W1")
    primary, secondary = pty.openpty()
    env = {**os.environ, "ROLLCALL_HOME": str(home)}
    env.pop("ROLLCALL_DATABASE_URL", None)
    code = "from rollcall.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "sessions", "delete", "W1"],
        stdin=secondary, stdout=secondary, stderr=secondary, env=env,
    )  # fmt: skip
    os.close(secondary)
    asked = b""
    while b"[y/N]" not in asked:
        asked += os.read(primary, 1024)
    os.write(primary, b"n\n")
    assert process.wait(timeout=60) == 1  # aborted
    os.close(primary)
    assert b"Delete session W1" in asked
    assert sessions_in(home) == [("W1", "closed")]


def test_sampling_gaps_the_wrong_way_round_leave_no_session(
    cli, home: Path, roster: list[str], tmp_path: Path
) -> None:
    """min over max made a session whose schedule refused its first sample: one that could
    never be resumed (and, through an agent, stayed "running")."""
    video = blank_video(tmp_path / "lecture.mp4", seconds=2.0)
    result = cli("run", "--session", "GAPS", "--source", video, "--min-interval", "5",
                 "--max-interval", "2")  # fmt: skip
    assert result.exit_code != 0 and "0 < min <= max (got 5, 2)" in result.output
    assert "GAPS" not in dict(sessions_in(home))


def test_a_session_without_a_course_keeps_the_zone_it_was_watched_in(
    cli, home: Path, roster: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in Tokyo, read in Paris: its date and clock times were the reader's (the same
    lecture on two dates; found by a reports review). A course's sessions follow the course."""
    video = blank_video(tmp_path / "lecture.mp4")
    monkeypatch.setenv("ROLLCALL_TIMEZONE", "Asia/Tokyo")
    ran = cli("run", "--session", "adhoc", "--source", video,
              "--started-at", "2026-12-03T23:40+09:00")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    monkeypatch.setenv("ROLLCALL_TIMEZONE", "Europe/Paris")
    report = report_json(cli, "adhoc")
    assert report["timezone"] == "Asia/Tokyo"
    assert report["started_at_local"].startswith("2026-12-03T23:40:00+09:00")
    listing = cli("sessions").output
    assert "2026-12-03 23:40" in listing, listing


def test_the_text_report_marks_what_staff_set(cli, home: Path, roster: list[str]) -> None:
    """Only --json said "edited": the text report showed a staff-set status like any other."""
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceRecord, Person

    session_id = a_session(home)
    db = Database(Settings.from_env())
    with db.session() as session:
        bob = session.query(Person).filter_by(name=roster[1]).one()
        record = (
            session.query(AttendanceRecord).filter_by(session_id=session_id, person_id=bob.id).one()
        )
        record.status, record.edited = "present", True
    db.engine.dispose()
    text = cli("report", "--session", "W1").output
    [line] = [line for line in text.splitlines() if roster[1] in line]
    assert "present*" in line, text
    assert "*: set by staff in the portal" in " ".join(text.split())
    [other] = [line for line in text.splitlines() if roster[0] in line]
    assert "*" not in other


def test_an_interrupted_sessions_report_says_not_yet_seen(cli, home: Path, roster: list[str]):
    """The sheet and the exports said "not yet seen" for an interrupted session (it resumes);
    `rollcall report` said "absent"."""
    a_session(home, state="interrupted")
    statuses = {
        a["person"]: a["status"]
        for a in json.loads(cli("report", "--session", "W1", "--json").output)["attendance"]
    }
    assert statuses == {roster[0]: "present", roster[1]: "not_yet_seen"}
    assert "not_yet_seen" in cli("report", "--session", "W1").output
