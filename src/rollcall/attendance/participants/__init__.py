"""Who was in an online meeting: platform reports (Zoom, Teams, Meet), live events, and
matching accounts to enrolled people.

parse_report(data, filename) reads a report into rows of raw text (formats.detect picks the
platform); clock.stays_of turns those rows into seconds from the session's start; match ties
each account to a person; store writes them in one transaction.
"""

from rollcall.attendance.participants.formats import ParsedReport, ReportRow, parse_report

__all__ = ["ParsedReport", "ReportRow", "parse_report"]
