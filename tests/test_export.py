"""Session exports: one row per person, and no cell that a spreadsheet would run as a formula."""

import csv
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from rollcall.attendance.export import export_csv, export_xlsx
from rollcall.attendance.report import AttendanceEntry, SessionReport


def test_exports_neutralise_spreadsheet_formulas(tmp_path: Path) -> None:
    evil = AttendanceEntry('=HYPERLINK("x")', "present", 1.0, 2.0, 0.1, 0.9, None, False)
    plain = AttendanceEntry("Ada", "absent", None, None, 0.0, 0.0, None, False)
    report = SessionReport(
        "@s", datetime.now(UTC), "closed", "x.mp4", "+c", 10.0, [], [evil, plain]
    )
    export_csv(report, tmp_path / "a.csv")
    export_xlsx(report, tmp_path / "a.xlsx")
    # A byte-order mark first: Excel reads a CSV without one in the machine's code page and
    # garbles every accented name (found by a reports review).
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader((tmp_path / "a.csv").open(encoding="utf-8-sig")))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("x")', "Ada"]
    # In the workbook, text cells: the names as they are, and nothing that runs (an
    # apostrophe in front showed in every such name; found by a reports review).
    sheet = load_workbook(tmp_path / "a.xlsx")["Attendance"]
    assert sheet["B1"].value == "@s" and sheet["B3"].value == "+c"
    assert sheet["A6"].value == '=HYPERLINK("x")' and sheet["A7"].value == "Ada"
    assert all(sheet[c].data_type == "s" for c in ("B1", "B3", "A6"))
    import zipfile

    with zipfile.ZipFile(tmp_path / "a.xlsx") as book:
        parts = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in book.read(n).decode() for n in parts)


def test_the_head_counts_sheet_dates_each_count_across_midnight(tmp_path: Path) -> None:
    """A night class 23:50-00:20: its head counts were "23:55:00" then "00:05:00", the day
    they fell on lost (found by a reports review)."""
    from zoneinfo import ZoneInfo

    from rollcall.attendance.report import HeadCountEntry

    counts = [HeadCountEntry(300.0, 12, 11, 1, True), HeadCountEntry(900.0, 12, 12, 0, False)]
    start = datetime(2026, 3, 2, 22, 50, tzinfo=UTC)  # 23:50 in Paris
    report = SessionReport("night", start, "closed", "x.mp4", None, 1800.0, counts, [],
                           zone=ZoneInfo("Europe/Paris"))  # fmt: skip
    export_xlsx(report, tmp_path / "n.xlsx")
    sheet = load_workbook(tmp_path / "n.xlsx")["Head counts"]
    assert sheet["F1"].value == "time (Europe/Paris)"
    assert [sheet["F2"].value, sheet["F3"].value] == [
        datetime(2026, 3, 2, 23, 55),
        datetime(2026, 3, 3, 0, 5),
    ]
