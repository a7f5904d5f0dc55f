"""`rollcall run`, `sessions`, `report` and `export` on generated recordings without faces.

Nothing here needs the real face data: the people are rows in the database (no templates), the
recordings are blank pictures written with PyAV. What is checked is how sessions are made,
timed, stopped, closed and deleted, and how bad input is refused.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from helpers_session import query

ROSTER = ["Ada Lovelace", "Alan Turing"]


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


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40])
def test_an_empty_or_corrupt_video_is_refused_and_leaves_no_session(
    cli, home: Path, roster: list[str], tmp_path: Path, content: bytes
) -> None:
    video = tmp_path / "lecture.mp4"
    video.write_bytes(content)
    one_line_error(cli("run", "--session", "W1", "--source", video), "lecture.mp4")
    assert sessions_in(home) == []


# ---------------------------------------------------------------- files written by commands


def a_session(home: Path, name: str = "W1", **columns: object) -> int:
    """A session made straight in the database (no run): head counts and marks to report."""
    from datetime import UTC, datetime

    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceRecord, AttendanceSession, HeadCount, Person
    from rollcall.storage.sessions import SessionSettings, create_session

    db = Database(Settings.from_env())
    with db.session() as session:
        people = session.query(Person).order_by(Person.name).all()
        started = columns.pop("started_at", datetime(2024, 5, 6, 7, 0, tzinfo=UTC))
        row = create_session(
            session, name, SessionSettings("x.mp4", 1, 5, 15, 300, 60), people, None, started
        )
        for key, value in columns.items():
            setattr(row, key, value)
        session.add(HeadCount(session_id=row.id, seq=0, t=0.0, count=1, recognized=1, unknown=0))
        record = session.query(AttendanceRecord).filter_by(person_id=people[0].id).one()
        record.status, record.first_seen, record.last_seen, record.confidence = (
            "present", 65.0, 130.0, 0.9,
        )  # fmt: skip
        session_id = row.id
        assert isinstance(row, AttendanceSession)
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
