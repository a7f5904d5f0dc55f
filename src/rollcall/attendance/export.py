"""Session reports as CSV and XLSX files."""

from __future__ import annotations

import csv
from pathlib import Path

from rollcall.attendance.report import SessionReport, as_utc

COLUMNS = [
    "person",
    "status",
    "first_seen_s",
    "last_seen_s",
    "minutes_present",
    "confidence",
    "edited",
]


def spreadsheet_safe(value: object) -> object:
    """A text cell starting with = + - @ (or a tab / CR) would run as a formula when opened."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


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
    sheet.append(["Started (UTC)", as_utc(report.started_at).strftime("%Y-%m-%d %H:%M:%S")])
    sheet.append(["Course", spreadsheet_safe(report.course or "")])
    sheet.append([])
    sheet.append(COLUMNS)
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    for row in _rows(report):
        sheet.append(row)
    counts = book.create_sheet("Head counts")
    counts.append(["t_s", "count", "recognized", "unknown", "verified"])
    for h in report.head_counts:
        counts.append([h.t, h.count, h.recognized, h.unknown, "yes" if h.verified else ""])
    for ws in (sheet, counts):
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[column[0].column_letter].width = min(40, width + 2)
    book.save(path)


EXPORTERS = {"csv": export_csv, "xlsx": export_xlsx}
