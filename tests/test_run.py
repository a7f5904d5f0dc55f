"""`rollcall run` end to end on real sources: a recording, VFR, a snapshot folder, a stream, the
screen. Each source shows a generated meeting whose script is the truth the marks are checked
against; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from helpers_session import (
    ABSENT,
    ALWAYS,
    EARLY,
    FPS,
    LATE,
    LEAVE_AFTER,
    LEAVER,
    REJOINER,
    ROSTER,
    SIZE,
    STRANGER,
    Meeting,
    clone_home,
    frames_at,
    invoke,
    meeting,
    meeting_script,
    open_crop,
    query,
    reencode,
    render,
    utc,
    write_png,
)
from rollcall.synth import AttendanceScript, score_attendance
from xdisplay import virtual_display

pytestmark = pytest.mark.faces

MIN_INTERVAL, MAX_INTERVAL = 5.0, 15.0
RUN_ARGS = (
    "--min-interval", MIN_INTERVAL, "--max-interval", MAX_INTERVAL,
    "--seed", 1, "--leave-after", LEAVE_AFTER, "--json",
)  # fmt: skip


@pytest.fixture(scope="module")
def shared(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    return meeting(faces, tmp_path_factory)


def run_json(home: Path, *args: object) -> dict:
    result = invoke(home, "run", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def marks(report: dict) -> dict[str, float | None]:
    return {a["person"]: a["first_seen"] for a in report["attendance"]}


def assert_marks_follow_script(
    report: dict,
    script: AttendanceScript,
    *,
    early_by: float,
    late_by: float,
    must_see_s: float,
    offset: float = 0.0,
) -> None:
    """No false present; everyone on screen for ``must_see_s`` marked; absentees absent; each
    first-seen time no earlier than the truth (minus ``early_by``) and at most ``late_by`` after.

    ``offset`` is the session time at which the source showed the script's t = 0.
    """
    observed = {p: None if t is None else t - offset for p, t in marks(report).items()}
    score = score_attendance(script, ROSTER, observed, min_visible_s=must_see_s)
    assert score.false_present == [], score.summary()
    assert score.missed == [], score.summary()
    for name, error in score.first_seen_errors.items():
        assert -early_by <= error <= late_by, (name, error, score.summary())
    for entry in report["attendance"]:
        marked = entry["first_seen"] is not None
        assert entry["status"] == ("present" if marked else "absent"), entry


# ---------------------------------------------------------------- a recording, file source


@pytest.fixture(scope="module")
def file_run(shared: Meeting, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = clone_home(shared.home, tmp_path_factory.mktemp("file-run") / "home")
    report = run_json(home, "--session", "S", "--source", shared.recording.path, *RUN_ARGS)
    return home, report


def test_report_json_follows_the_contract(file_run: tuple[Path, dict]) -> None:
    _, report = file_run
    assert report["session"] == "S"
    started = datetime.fromisoformat(report["started_at"])
    assert started.tzinfo is not None
    assert report["head_counts"], "no head counts were taken"
    for h in report["head_counts"]:
        assert set(h) == {"t", "count", "recognized", "unknown", "verified"}
        assert isinstance(h["t"], float | int) and isinstance(h["verified"], bool)
        assert h["recognized"] + h["unknown"] == h["count"]
    times = [h["t"] for h in report["head_counts"]]
    assert times == sorted(times)
    gaps = np.diff(times)
    # Each sample is the first frame at or after its scheduled time: at most a frame late.
    assert (gaps >= MIN_INTERVAL - 1 / FPS).all() and (gaps <= MAX_INTERVAL + 1 / FPS).all()
    assert sorted(a["person"] for a in report["attendance"]) == sorted(ROSTER)
    for a in report["attendance"]:
        assert set(a) >= {
            "person", "status", "first_seen", "last_seen", "minutes_present", "confidence",
        }  # fmt: skip
        assert a["status"] in {"present", "absent"}


def test_recording_marks_match_the_script(shared: Meeting, file_run: tuple[Path, dict]) -> None:
    _, report = file_run
    assert_marks_follow_script(
        report,
        shared.script,
        early_by=1 / FPS,
        late_by=MAX_INTERVAL,
        must_see_s=2 * MAX_INTERVAL,
    )
    got = marks(report)
    assert got[ABSENT] is None
    assert all(got[name] is not None for name in ROSTER if name != ABSENT)


def test_head_counts_equal_the_faces_on_screen(
    shared: Meeting, file_run: tuple[Path, dict]
) -> None:
    _, report = file_run
    counts = report["head_counts"]
    pairs = [(h["count"], len(shared.script.visible_at(h["t"]))) for h in counts]
    assert sum(c == v for c, v in pairs) >= 0.9 * len(counts), pairs
    roster_visible = [len(shared.script.visible_at(h["t"], False)) for h in counts]
    named = sum(h["recognized"] == v for h, v in zip(counts, roster_visible, strict=True))
    assert named >= 0.9 * len(counts)
    assert counts[0]["verified"] is True


def test_presence_intervals_close_after_leaving_and_reopen_on_return(
    shared: Meeting, file_run: tuple[Path, dict]
) -> None:
    home, _ = file_run
    rows = query(
        home,
        "SELECT p.name, i.start_t, i.last_seen, i.end_t FROM presence_intervals i "
        "JOIN people p ON p.id = i.person_id ORDER BY p.name, i.start_t",
    )
    spans: dict[str, list[tuple[float, float, float | None]]] = {}
    for name, start, last, end in rows:
        spans.setdefault(name, []).append((start, last, end))
    assert ABSENT not in spans
    # The session is closed: every interval ended at the last time its person was seen.
    assert all(end == last for s in spans.values() for _, last, end in s)
    stay1, stay2 = shared.script.seen_intervals(REJOINER)
    assert stay2[0] - stay1[1] > LEAVE_AFTER + MAX_INTERVAL  # away long enough to be noticed
    (s1, last1, _), (s2, _, _) = spans[REJOINER]  # exactly two: one per stay
    assert s1 <= stay1[0] + MAX_INTERVAL and last1 < stay1[1]
    assert stay2[0] <= s2 <= stay2[0] + MAX_INTERVAL
    ((_, last, _),) = spans[LEAVER]
    left = shared.script.last_seen(LEAVER)
    assert left - MAX_INTERVAL - 1 <= last < left
    for name in (ALWAYS, EARLY, LATE):
        assert len(spans[name]) == 1, spans[name]
        assert spans[name][0][1] >= shared.script.duration_s - MAX_INTERVAL - 1


def test_every_mark_has_an_evidence_crop(file_run: tuple[Path, dict]) -> None:
    home, report = file_run
    rows = query(
        home,
        "SELECT p.name, a.evidence_path, a.evidence_t FROM attendance a "
        "JOIN people p ON p.id = a.person_id WHERE a.first_seen IS NOT NULL",
    )
    assert {r[0] for r in rows} == {
        a["person"] for a in report["attendance"] if a["first_seen"] is not None
    }
    for name, path, t in rows:
        assert path and t is not None, name
        crop = open_crop(home, path)
        assert crop is not None and crop.shape[0] >= 40 and crop.shape[1] >= 40, (name, path)
        assert (home / path).resolve().is_relative_to(home.resolve())


def test_stranger_faces_are_kept_as_unknown(shared: Meeting, file_run: tuple[Path, dict]) -> None:
    home, _ = file_run
    rows = query(home, "SELECT t, crop_path FROM unknown_faces ORDER BY t")
    assert rows, "the stranger was never stored as an unknown face"
    (seen_from, seen_to), = shared.script.seen_intervals(STRANGER)  # fmt: skip
    for t, path in rows:
        assert seen_from <= t < seen_to, t  # nobody else is unknown
        assert open_crop(home, path) is not None, path


def test_report_command_repeats_the_run_report(file_run: tuple[Path, dict]) -> None:
    home, report = file_run
    again = invoke(home, "report", "--session", "S", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == report


def test_export_csv_and_xlsx_one_row_per_expected_person(
    file_run: tuple[Path, dict], tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    home, report = file_run
    want = {a["person"]: a["status"] for a in report["attendance"]}
    out_csv, out_xlsx = tmp_path / "s.csv", tmp_path / "s.xlsx"
    for fmt, out in (("csv", out_csv), ("xlsx", out_xlsx)):
        result = invoke(home, "export", "--session", "S", "--format", fmt, "--output", out)
        assert result.exit_code == 0, result.output
    with out_csv.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["person"]: r["status"] for r in rows} == want
    assert len(rows) == len(ROSTER)
    sheet = load_workbook(out_xlsx, read_only=True)["Attendance"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:2] == ("Session", "S")
    header = table[4]
    body = [dict(zip(header, row, strict=False)) for row in table[5:] if row and row[0]]
    assert {r["person"]: r["status"] for r in body} == want
    assert len(body) == len(ROSTER)


def test_course_schedule_gives_late_and_left_early(shared: Meeting, tmp_path: Path) -> None:
    from rollcall.attendance.runner import RunOptions, run_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    home = clone_home(shared.home, tmp_path / "home")
    people = [arg for name in ROSTER for arg in ("--people", name)]
    # Scheduled 09:00-09:03 with one minute of grace; the session starts at 09:00 sharp.
    added = invoke(home, "course", "add", "C", *people, "--starts", "09:00", "--ends", "09:03",
                   "--grace", "1")  # fmt: skip
    assert added.exit_code == 0, added.output
    options = RunOptions(
        session="C-1",
        source=str(shared.keyframed),  # the same pictures, cheaper to sample
        course="C",
        min_interval=MIN_INTERVAL,
        max_interval=MAX_INTERVAL,
        seed=1,
        leave_after=LEAVE_AFTER,
        started_at=utc(2024, 5, 6, 9, 0),
    )
    db = Database(Settings(home=home))
    try:
        run_session(db, db.settings, shared.engine, options)
    finally:
        db.engine.dispose()
    result = invoke(home, "report", "--session", "C-1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["course"] == "C"
    statuses = {a["person"]: a["status"] for a in report["attendance"]}
    assert statuses == {
        ALWAYS: "present",
        EARLY: "present",  # seen within the grace minute
        LATE: "late",  # first seen at 95 s
        REJOINER: "present",  # away in the middle, but there at the end
        LEAVER: "left_early",  # last seen before 100 s, the end is 180 s
        ABSENT: "absent",
    }
    stored = dict(
        query(
            home,
            "SELECT p.name, a.status FROM attendance a JOIN people p ON p.id = a.person_id",
        )
    )
    assert stored == statuses  # the final status is written when the session closes


def test_a_recording_processed_later_is_judged_at_its_real_start(
    shared: Meeting, tmp_path: Path
) -> None:
    # A 09:00-09:10 lecture in New York, processed whenever the tests run: judged against the
    # time the run happened, everyone seen was "late". --started-at gives the real start, and
    # the schedule is read on the course's clock whatever this machine's zone.
    home = clone_home(shared.home, tmp_path / "home")
    people = [arg for name in ROSTER for arg in ("--people", name)]
    added = invoke(home, "course", "add", "NY", *people, "--starts", "09:00", "--ends", "09:10",
                   "--timezone", "America/New_York")  # fmt: skip
    assert added.exit_code == 0, added.output
    report = run_json(
        home, "--session", "NY-1", "--course", "NY", "--source", shared.keyframed,
        "--started-at", "2024-05-06T09:00:00-04:00", *RUN_ARGS,
    )  # fmt: skip
    statuses = {a["person"]: a["status"] for a in report["attendance"]}
    # Everyone seen came within the 5 minutes' grace (the latecomer at 95 s); the recording
    # ends before 09:10, so no one can have left early.
    assert statuses == {name: "present" for name in ROSTER if name != ABSENT} | {ABSENT: "absent"}
    assert report["timezone"] == "America/New_York"
    assert report["started_at_local"] == "2024-05-06T09:00:00-04:00"
    assert datetime.fromisoformat(report["started_at"]) == datetime.fromisoformat(
        "2024-05-06T13:00:00+00:00"
    )
    table = invoke(home, "report", "--session", "NY-1")
    first = next(a["first_seen"] for a in report["attendance"] if a["person"] == LATE)
    m, s = divmod(round(first), 60)
    assert f"09:{m:02d}:{s:02d}" in table.stdout  # clock times on the course's clock


# ---------------------------------------------------------------- variable frame rate


def test_variable_frame_rate_recording_keeps_true_times(shared: Meeting, tmp_path: Path) -> None:
    script = meeting_script(duration=120.0, seed=23)
    recording = render(script, shared.cast, tmp_path / "vfr.mp4", vfr=True)
    gaps = np.diff(recording.frame_times)
    assert gaps.max() > 2 / FPS and gaps.min() < 0.5 / FPS  # really irregular
    home = clone_home(shared.home, tmp_path / "home")
    report = run_json(home, "--session", "V", "--source", recording.path, *RUN_ARGS)
    longest_gap = float(gaps.max())
    assert_marks_follow_script(
        report,
        script,
        early_by=0.01,  # JSON rounds to 1/100 s; a frame never shows someone before they join
        late_by=MAX_INTERVAL + longest_gap,
        must_see_s=2 * MAX_INTERVAL,
    )
    frame_times = np.array(recording.frame_times)
    for h in report["head_counts"]:
        # Every sample carries the time stamped in the container, not index / nominal rate.
        assert np.abs(frame_times - h["t"]).min() < 0.006, h["t"]
        assert h["count"] == len(script.visible_at(h["t"])), h


# ---------------------------------------------------------------- a folder of snapshots


def test_snapshot_folder_in_natural_order(shared: Meeting, tmp_path: Path) -> None:
    step = 10.0
    times = [i * step for i in range(int(shared.script.duration_s / step))]
    folder = tmp_path / "snaps"
    folder.mkdir()
    # snap1 .. snap21: sorted as text, snap10 would come before snap2 and scramble the times.
    for i, image in reversed(list(enumerate(frames_at(shared.recording.path, times)))):
        write_png(folder / f"snap{i + 1}.png", image)
    home = clone_home(shared.home, tmp_path / "home")
    report = run_json(home, "--session", "F", "--source", folder, "--folder-step", step, *RUN_ARGS)
    assert all(h["t"] % step == 0 for h in report["head_counts"])
    assert_marks_follow_script(
        report,
        shared.script,
        early_by=0.0,
        late_by=step + MAX_INTERVAL,
        must_see_s=2 * (step + MAX_INTERVAL),
    )
    assert marks(report)[LATE] >= 100.0  # the first snapshot showing them is snap11 (100 s)


# ---------------------------------------------------------------- a stream over HTTP


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def http_server(folder: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_stream_marks_the_people_in_the_clip(shared: Meeting, tmp_path: Path) -> None:
    # Script time 85-115 s: the leaver is there for the first 15 s, the latecomer joins at 10 s,
    # the rejoiner is away and the absentee never comes.
    start, end, duration = 85.0, 115.0, 26.0
    served = tmp_path / "www"
    served.mkdir()
    reencode(shared.recording.path, served / "clip.mp4", start=start, end=end)
    home = clone_home(shared.home, tmp_path / "home")
    with http_server(served) as url:
        report = run_json(
            home, "--session", "H", "--source", f"{url}/clip.mp4", "--duration", duration,
            "--min-interval", 3, "--max-interval", 6, "--seed", 1, "--json",
        )  # fmt: skip
    got = marks(report)
    assert {n for n, t in got.items() if t is not None} == {ALWAYS, EARLY, LEAVER, LATE}
    # Live time starts when the stream is opened; allow for connection and pacing jitter.
    assert 95.0 - start - 1.5 <= got[LATE] <= 95.0 - start + 6 + 2.5
    assert report["head_counts"][-1]["t"] <= duration + 1


# ---------------------------------------------------------------- the screen (Xvfb + mpv)


@pytest.fixture
def screen_playing(
    shared: Meeting, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[float]:
    """Plays script time 95-120 s full-screen on a virtual display; yields the script time the
    clip starts at, once the player is seen drawing it."""
    from rollcall.vision.sources import open_source

    start = 95.0
    clip = reencode(shared.recording.path, tmp_path / "screen.mp4", start=start, end=120.0)
    with virtual_display(clip, SIZE) as (display, _xvfb):
        monkeypatch.setenv("DISPLAY", display)
        deadline = time.monotonic() + 15
        with open_source("screen") as screen:
            # The root window is black (-br); the gallery's background is (26, 26, 26).
            while (frame := screen.read()) is not None and frame.image.mean() < 15:
                if time.monotonic() > deadline:
                    pytest.fail("mpv did not show the recording on Xvfb within 15 s")
                time.sleep(0.05)
        yield start


def test_screen_marks_the_people_on_screen(
    shared: Meeting, screen_playing: float, tmp_path: Path
) -> None:
    home = clone_home(shared.home, tmp_path / "home")
    report = run_json(
        home, "--session", "X", "--source", "screen", "--duration", 20,
        "--min-interval", 3, "--max-interval", 6, "--seed", 1, "--json",
    )  # fmt: skip
    got = {n for n, t in marks(report).items() if t is not None}
    # Script 95-115 s: three roster faces throughout, the leaver for the first 5 s only.
    assert {ALWAYS, EARLY, LATE} <= got
    assert got <= {ALWAYS, EARLY, LATE, LEAVER}  # never the rejoiner (away) or the absentee
    counts = [h["count"] for h in report["head_counts"]]
    assert len(counts) >= 3
    assert counts[-1] == len(shared.script.visible_at(screen_playing + 19))


# ---------------------------------------------------------------- bad inputs


def test_realtime_replays_a_recording_at_its_own_pace(shared: Meeting, tmp_path: Path) -> None:
    home = clone_home(shared.home, tmp_path / "home")
    args = ["--min-interval", "1", "--max-interval", "2", "--seed", "3", "--duration", "6"]
    started = time.monotonic()
    result = invoke(home, "run", "--session", "R", "--source", shared.recording.path,
                    "--realtime", *args, "--json")  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    times = [h["t"] for h in json.loads(result.stdout)["head_counts"]]
    assert times and max(times) >= 4.0
    # Paced: a sample is not taken before its scheduled time has passed; the frame it reads is
    # the first at or after that time, so its timestamp can be up to one frame gap later.
    frames = shared.recording.frame_times
    gap = max(b - a for a, b in zip(frames, frames[1:], strict=False))
    assert elapsed >= max(times) - gap
    assert elapsed >= 4.0  # it did wait for the recording's clock


def one_line_error(result, *words: str) -> None:  # noqa: ANN001
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_source_is_a_clear_error(shared: Meeting, tmp_path: Path) -> None:
    home = clone_home(shared.home, tmp_path / "home")
    missing = tmp_path / "no-such-recording.mp4"
    result = invoke(home, "run", "--session", "M", "--source", missing)
    one_line_error(result, "no-such-recording.mp4")


def test_corrupt_video_is_a_clear_error(shared: Meeting, tmp_path: Path) -> None:
    home = clone_home(shared.home, tmp_path / "home")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(3).integers(0, 256, 200_000, np.uint8).tobytes())
    one_line_error(invoke(home, "run", "--session", "J", "--source", junk), "junk.mp4")
    # Half a real recording (its index is at the end) cannot be read either.
    data = shared.recording.path.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])
    one_line_error(invoke(home, "run", "--session", "K", "--source", half), "half.mp4")


def test_existing_session_needs_resume(shared: Meeting, file_run: tuple[Path, dict]) -> None:
    home, _ = file_run
    result = invoke(home, "run", "--session", "S", "--source", shared.recording.path)
    # S ran to its end: closed, so the hint is a new name, not --resume.
    one_line_error(result, "'S' already exists and is closed", "pick a new name")
    # ...and a closed one cannot be resumed.
    one_line_error(invoke(home, "run", "--session", "S", "--resume"), "already closed")


def test_resuming_an_unknown_session_is_a_clear_error(file_run: tuple[Path, dict]) -> None:
    home, _ = file_run
    one_line_error(invoke(home, "run", "--session", "nope", "--resume"), "'nope'")


# ---------------------------------------------------------------- regressions


def test_a_source_that_cannot_be_opened_leaves_no_session(shared: Meeting, tmp_path: Path) -> None:
    home = clone_home(shared.home, tmp_path / "home")
    result = invoke(home, "run", "--session", "M", "--source", tmp_path / "typo.mp4")
    assert result.exit_code == 1
    assert query(home, "SELECT name, state FROM sessions") == []


def test_started_at_in_another_time_zone_is_the_same_instant(
    shared: Meeting, tmp_path: Path
) -> None:
    from datetime import timedelta, timezone

    from rollcall.attendance.runner import RunOptions, prepare_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    home = clone_home(shared.home, tmp_path / "home")
    ten_am_in_paris = datetime(2024, 5, 6, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    db = Database(Settings(home=home))
    try:
        options = RunOptions("T", source="x.mp4", started_at=ten_am_in_paris)
        prepare_session(db, options)
    finally:
        db.engine.dispose()
    result = invoke(home, "report", "--session", "T", "--json")
    assert result.exit_code == 0, result.output
    assert datetime.fromisoformat(json.loads(result.stdout)["started_at"]) == ten_am_in_paris
