"""Which platform wrote a report, and its rows."""

from __future__ import annotations

from rollcall.attendance.participants import layout, meet, teams, zoom
from rollcall.attendance.participants.rows import ParsedReport, ReportRow
from rollcall.attendance.participants.text import ReportError, cells, delimiter_of, report_texts

__all__ = ["ParsedReport", "ReportError", "ReportRow", "detect", "parse_report"]
PLATFORMS = ("zoom", "teams", "meet")


def detect(lines: list[str]) -> str | None:
    """ "teams", "meet" or "zoom" from the headers of the first lines; None: none of them."""
    if teams.looks_like(lines):
        return "teams"
    for line in lines[:80]:
        row = cells(line, delimiter_of(line))
        if meet.header_columns(row) is not None:
            return "meet"
        if zoom.header_columns(row) is not None:
            return "zoom"
    return None


def parse_report(data: bytes, filename: str, platform: str | None = None) -> ParsedReport:
    """A report's rows; `platform` forces the format instead of detecting it. Of a workbook,
    the first sheet that is a report."""
    if not data.strip():
        raise ReportError(f"{filename}: the file is empty")
    texts = report_texts(data, filename)
    for label, text in texts:
        lines = text.splitlines()
        _no_huge_line(lines, label)
        found = platform or detect(lines)
        # Headers in a language rollcall has no words for: the table is read by its shape.
        report = layout.parse(lines, label) if found is None else None
        if found is None and report is None:
            continue
        if report is None:
            parser = {"zoom": zoom.parse, "teams": teams.parse, "meet": meet.parse}[found]
            report = parser(lines, label)
        if not report.rows:
            raise ReportError(f"{label}: a {report.platform} report with no participants in it")
        return report
    label, text = texts[0]
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    raise ReportError(
        f"{label}, line {first + 1}: not a participant report rollcall knows (Zoom's "
        "participants CSV, Teams' attendance report or Meet's attendance CSV, in any "
        "language: a table of names with join and leave times); the first line reads "
        f"{lines[first][:80]!r}"
    )


# A participant report's line is a name, an email and a few times: a line longer than this is
# not one (and a cell over the csv module's field limit, 128 KiB, would stop its reader).
MAX_LINE = 10_000


def _no_huge_line(lines: list[str], label: str) -> None:
    for i, line in enumerate(lines):
        if len(line) > MAX_LINE:
            raise ReportError(
                f"{label}, line {i + 1}: {len(line):,} characters long, not a participant "
                "report's line"
            )
