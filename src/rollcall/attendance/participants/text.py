"""Reading a report file as text: its encoding, its delimiter, and its lines as cells.

A workbook (.xlsx: Meet's report downloaded from Google Sheets, a report re-saved in Excel) is
read sheet by sheet as CSV: the first sheet that is a report is the report, and its rows are
the lines errors name."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time, timedelta

from rollcall.accents import unaccented
from rollcall.errors import RollcallError


class ReportError(RollcallError):
    """A participant report that cannot be read; the message names the file and the line."""


# A workbook whose parts unzip to more than this is refused before it is parsed: a report of a
# few hundred rows is well under a megabyte, and a zip bomb would be gigabytes.
MAX_WORKBOOK_UNZIPPED = 64 * 1024 * 1024
# A sheet's rows and columns read at most. Reports have a dozen columns and a row per stay; a
# sheet can claim (its <dimension>) or hold one cell at row 1,048,576, column 16,384, and
# openpyxl would hand over every empty cell up to there: billions, from a 2 KB file.
MAX_SHEET_ROWS = 50_000
MAX_SHEET_COLUMNS = 64


def report_texts(data: bytes, filename: str) -> list[tuple[str, str]]:
    """A report's text under the name its errors give: a CSV or TSV file decoded, or each
    sheet of a workbook with something in it, as CSV ("report.xlsx, sheet 'Attendance'")."""
    if data.startswith(b"PK\x03\x04"):
        return workbook_texts(data, filename)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReportError(
            f"{filename}: an Excel 97-2003 workbook (.xls); save it as .xlsx or CSV and import that"
        )
    return [(filename, decode(data, filename))]


def workbook_texts(data: bytes, filename: str) -> list[tuple[str, str]]:
    from openpyxl import load_workbook

    try:
        parts = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        raise ReportError(f"{filename}: a damaged workbook (not a readable .xlsx)") from None
    unzipped = sum(p.file_size for p in parts)
    if unzipped > MAX_WORKBOOK_UNZIPPED:
        raise ReportError(
            f"{filename}: the workbook unzips to {unzipped / 2**20:.0f} MB; not a participant "
            "report"
        )
    try:
        # openpyxl parses with defusedxml (a dependency): no entity expansion, no external DTDs.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise ReportError(f"{filename}: not a workbook rollcall can read ({exc})") from None
    sheets = []
    try:
        for sheet in book.worksheets:
            out = io.StringIO()
            writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
            sheet.reset_dimensions()  # its cells, not what it claims (see MAX_SHEET_ROWS)
            rows = sheet.iter_rows(values_only=True, max_col=MAX_SHEET_COLUMNS)
            for line, row in enumerate(rows, 1):
                if line > MAX_SHEET_ROWS:
                    raise ReportError(
                        f"{filename}, sheet {sheet.title!r}: more than {MAX_SHEET_ROWS:,} rows; "
                        "not a participant report"
                    )
                texts = [_cell_text(v) for v in row]
                while texts and not texts[-1]:
                    texts.pop()
                if texts:
                    writer.writerow(texts)
                else:
                    out.write("\n")  # kept: rows are the lines errors name
            if out.getvalue().strip():
                sheets.append((f"{filename}, sheet {sheet.title!r}", out.getvalue()))
    except ReportError:
        raise
    except Exception as exc:  # noqa: BLE001 - a sheet that breaks half-way: nothing is kept
        raise ReportError(f"{filename}: not a workbook rollcall can read ({exc})") from None
    finally:
        book.close()
    if not sheets:
        raise ReportError(f"{filename}: the workbook is empty")
    return sheets


def _cell_text(value: object) -> str:
    """A cell as a report's CSV would write it; dates and times in ISO order (read in the
    course's zone like any time without an offset)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, time):
        return f"{value:%H:%M:%S}"
    if isinstance(value, timedelta):  # a duration: kept apart from clock times
        return f"{round(value.total_seconds())} s"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def decode(data: bytes, filename: str) -> str:
    """Text of a report: Teams writes UTF-16 with a BOM, Zoom UTF-8 with or without one,
    and a spreadsheet re-save may give Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data[:200].count(b"\x00") > 20:  # UTF-16 that lost its BOM
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise ReportError(f"{filename}: not readable as {encoding} text") from None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ReportError(f"{filename}: not a text file (no known encoding fits)") from None


def delimiter_of(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def csv_rows(text: str, label: str, delimiter: str = ",") -> list[list[str]]:
    """Every row of a CSV text, or ReportError naming the line it could not read (a cell
    over the csv module's 128 KiB field limit stopped its reader with a 500 in the portal)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise ReportError(f"{label}, line {reader.line_num}: not readable as CSV ({exc})") from None


def cells(line: str, delimiter: str) -> list[str]:
    """One line's cells, stripped; quotes as CSV writes them."""
    row = next(csv.reader([line], delimiter=delimiter), [])
    return [c.strip().strip("\ufeff") for c in row]


def header_key(text: str) -> str:
    """A header cell compared across languages and spellings: no accents, case or punctuation."""
    plain = unaccented(text).casefold()
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def blank(row: list[str]) -> bool:
    return not any(row)
