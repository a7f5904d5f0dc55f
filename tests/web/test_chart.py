"""The session sheet's head-count chart: what its description says is what was counted."""

from __future__ import annotations

from rollcall.attendance.report import HeadCountEntry
from rollcall.web.chart import head_count_svg


def test_a_session_that_counted_no_one_says_zero_faces() -> None:
    """Every count 0: the description read "at most 1 faces" (the axis reaches 1 at least;
    an entrance operator's review)."""
    empty = str(
        head_count_svg([HeadCountEntry(0.0, 0, 0, 0, True), HeadCountEntry(30.0, 0, 0, 0, False)])
    )
    assert "at most 0 face(s)" in empty
    busy = str(
        head_count_svg([HeadCountEntry(0.0, 3, 2, 1, True), HeadCountEntry(30.0, 5, 5, 0, True)])
    )
    assert "at most 5 face(s)" in busy and "2 samples verified" in busy


def test_a_sessions_length_is_said_in_words() -> None:
    """The sheet said "3:00 long": three minutes or three hours? (a portal user's review)."""
    from rollcall.web.chart import span

    assert [span(t) for t in (45, 180, 185, 3600, 3900, 5430.4)] == [
        "45 s", "3 min", "3 min 5 s", "1 h", "1 h 5 min", "1 h 30 min",
    ]  # fmt: skip
