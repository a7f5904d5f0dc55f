"""Session reports as CSV and XLSX files."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from rollcall.attendance.report import SessionReport

COLUMNS = [
    "person",
    "status",
    "first_seen_s",
    "last_seen_s",
    "minutes_present",
    "confidence",
    "edited",
    # Clock times in the session's zone (the course's), ISO 8601 with the offset, so a reader
    # sees the lecture's own clock and a program still gets an unambiguous instant.
    "first_seen_at",
    "last_seen_at",
]


def spreadsheet_safe(value: object) -> object:
    """A text cell starting with = + - @ (or a tab / CR) would run as a formula when opened."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def _rows(report: SessionReport) -> list[list[object]]:
    return [
        [
            spreadsheet_safe(a.person),
            a.status,
            "" if a.first_seen is None else round(a.first_seen, 1),
            "" if a.last_seen is None else round(a.last_seen, 1),
            round(a.minutes_present, 2),
            round(a.confidence, 3),
            "yes" if a.edited else "",
            _iso(report.clock(a.first_seen)),
            _iso(report.clock(a.last_seen)),
        ]
        for a in report.attendance
    ]


def export_csv(report: SessionReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(_rows(report))


def export_xlsx(report: SessionReport, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Attendance"
    sheet.append(["Session", spreadsheet_safe(report.session)])
    sheet.append(
        [f"Started ({report.timezone})", report.started_local.strftime("%Y-%m-%d %H:%M:%S %z")]
    )
    sheet.append(["Course", spreadsheet_safe(report.course or "")])
    sheet.append([])
    # Spreadsheets have no time zones: the clock columns hold the session zone's wall time.
    header = [*COLUMNS[:-2], f"first seen ({report.timezone})", f"last seen ({report.timezone})"]
    sheet.append(header)
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for row, entry in zip(_rows(report), report.attendance, strict=True):
        first, last = report.clock(entry.first_seen), report.clock(entry.last_seen)
        sheet.append(
            row[:-2]
            + [None if t is None else t.replace(tzinfo=None, microsecond=0) for t in (first, last)]
        )
    for line in sheet.iter_rows(min_row=6, min_col=len(COLUMNS) - 1):
        for cell in line:
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    counts = book.create_sheet("Head counts")
    counts.append(
        ["t_s", "count", "recognized", "unknown", "verified", f"time ({report.timezone})"]
    )
    for h in report.head_counts:
        at = report.clock(h.t)
        counts.append(
            [
                h.t,
                h.count,
                h.recognized,
                h.unknown,
                "yes" if h.verified else "",
                at.strftime("%H:%M:%S") if at else "",
            ]
        )
    for ws in (sheet, counts):
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[column[0].column_letter].width = min(40, width + 2)
    book.save(path)


EXPORTERS = {"csv": export_csv, "xlsx": export_xlsx}
