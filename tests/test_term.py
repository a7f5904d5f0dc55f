"""The term calendar: meeting dates, holidays, and sessions matched to them by date."""

from datetime import date

import numpy as np
import pytest

from rollcall.attendance.strangers import group_faces
from rollcall.attendance.term import Term, match_sessions, month_grids, parse_meeting_days
from rollcall.errors import RollcallError


def test_meeting_dates_skip_holidays_and_missed_dates_show() -> None:
    term = Term(
        date(2026, 3, 2), date(2026, 3, 13), parse_meeting_days("mon, wed,Fri"),
        {date(2026, 3, 9): "Staff day"},
    )  # fmt: skip
    sessions = {date(2026, 3, 2): ["w1-mon"], date(2026, 3, 4): ["w1-wed"],
                date(2026, 3, 7): ["saturday-extra"], date(2026, 3, 9): ["on-holiday"]}  # fmt: skip
    days = match_sessions(term, sessions, today=date(2026, 3, 11))
    kinds = {d.day.isoformat(): d.kind for d in days}
    assert kinds == {
        "2026-03-02": "held",
        "2026-03-04": "held",
        "2026-03-06": "missed",  # a Friday in the past with no session
        "2026-03-07": "extra",
        "2026-03-09": "extra",  # a session on a holiday is shown, not hidden
        "2026-03-11": "upcoming",  # today, not yet held
        "2026-03-13": "upcoming",
    }
    week = match_sessions(term, sessions, date(2026, 3, 11), date(2026, 3, 4), date(2026, 3, 7))
    assert [d.day.day for d in week] == [4, 6, 7]
    [(month, weeks)] = month_grids(days)
    assert month == date(2026, 3, 1) and weeks[0][0][0] == date(2026, 2, 23)  # Monday first


def test_bad_terms_are_refused() -> None:
    with pytest.raises(RollcallError, match="weekday"):
        parse_meeting_days("mon,funday")
    with pytest.raises(RollcallError, match="before it starts"):
        Term(date(2026, 3, 2), date(2026, 3, 1), (0,))
    assert Term(date(2026, 3, 2), date(2026, 3, 9), ()).meeting_dates() == []


def test_strangers_are_grouped_by_embedding_across_sessions() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=256), rng.normal(size=256)
    near = lambda v: v + rng.normal(scale=0.1, size=256)  # noqa: E731
    fused = "sface+dlib"
    vectors = {1: (fused, near(a)), 2: (fused, near(b)), 3: None,
               4: (fused, near(a)), 5: ("sface", near(a)), 6: (fused, near(b))}  # fmt: skip
    # Same stranger only within one embedder; a face without an embedding stays alone.
    assert group_faces(vectors) == [[1, 4], [2, 6], [3], [5]]
