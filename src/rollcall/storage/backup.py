"""Back up a database to one portable file and restore it, on any back end.

The file is gzip'd JSON lines: a header (format, schema revision, back end, row counts), then
for each table a line naming its columns followed by one line per row. Bytes are base64 and
times ISO 8601 (UTC), so a backup taken from SQLite restores into PostgreSQL or MySQL and back.
Every table in the database is included (the portal's too), read in one consistent snapshot,
except the rows of transient tables (TRANSIENT: frames waiting for analysis and the like).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    func,
    insert,
    select,
    text,
)

from rollcall.errors import RollcallError
from rollcall.storage.db import upgrade

FORMAT = "rollcall-backup"
VERSION = 1
VERSION_TABLE = "alembic_version"
BATCH = 500
# Tables whose rows are never backed up: uploaded frames waiting for analysis (whole screens
# and camera pictures, kept only until analyzed) and participant events kept for a session
# not yet started (names and emails, kept a day at most). A backup lives for weeks; a restore
# loses at most the frames that were waiting, as a crash of the server would.
TRANSIENT = {"frames", "early_participant_events"}


@dataclass(frozen=True)
class BackupSummary:
    revision: str | None
    tables: dict[str, int]
    skipped: dict[str, int] = field(default_factory=dict)  # rows of TRANSIENT tables left out

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _encode(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        # Naive values are UTC: that is what rollcall stores on SQLite and MySQL.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return float(value)
    return value


def _decode(value: object, column_type: object) -> object:
    """A JSON value back into what the *target* column wants (back ends differ, e.g. booleans)."""
    if isinstance(value, dict):
        if "$b64" in value:
            return base64.b64decode(value["$b64"])
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    if value is None:
        return None
    if isinstance(column_type, Boolean):
        return bool(value)
    if isinstance(column_type, Integer) and not isinstance(column_type, Boolean):
        # MySQL reports BOOLEAN columns as TINYINT: a true/false from elsewhere becomes 1/0.
        return int(value)
    if isinstance(column_type, Float | Numeric):
        return float(value)
    if isinstance(column_type, DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(column_type, LargeBinary) and isinstance(value, str):
        return value.encode()
    return value


def _tables(conn: Connection) -> list[Table]:
    """Every table but Alembic's, parents before children (the order rows can be inserted)."""
    meta = MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name != VERSION_TABLE]


def backup(engine: Engine, target: Path) -> BackupSummary:
    """Write every row of every table to `target` (gzip'd JSON lines), from one snapshot."""
    options: dict[str, object] = {"sqlite_begin": "DEFERRED"}  # a snapshot, writers go on
    if engine.dialect.name != "sqlite":
        options["isolation_level"] = "REPEATABLE READ"
    counts: dict[str, int] = {}
    tmp = target.with_name(target.name + ".partial")
    # Private from its first byte: it holds password and token digests, sealed templates,
    # consents and emails (as a subject access export is).
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with engine.connect().execution_options(**options) as conn, conn.begin():
        revision = current_revision_of(conn)
        tables = _tables(conn)
        skipped: dict[str, int] = {}
        for table in tables:
            n = conn.scalar(select(func.count()).select_from(table)) or 0
            if table.name in TRANSIENT:
                counts[table.name], skipped[table.name] = 0, n
            else:
                counts[table.name] = n
        with gzip.open(tmp, "wt", encoding="utf-8") as out:
            header = {
                "format": FORMAT,
                "version": VERSION,
                "revision": revision,
                "backend": engine.dialect.name,
                "created_at": datetime.now(UTC).isoformat(),
                "tables": counts,
            }
            out.write(json.dumps(header) + "\n")
            for table in tables:
                columns = [c.name for c in table.columns]
                out.write(json.dumps({"table": table.name, "columns": columns}) + "\n")
                if table.name in TRANSIENT:
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                result = conn.execution_options(yield_per=BATCH).execute(
                    select(table).order_by(*order)
                )
                for row in result:
                    out.write(json.dumps([_encode(v) for v in row]) + "\n")
    tmp.replace(target)  # a reader never sees half a backup
    return BackupSummary(revision, counts, skipped)


def current_revision_of(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def read_header(source: Path) -> dict:
    try:
        with gzip.open(source, "rt", encoding="utf-8") as f:
            header = json.loads(f.readline())
    except (OSError, json.JSONDecodeError, EOFError) as exc:
        raise RollcallError(f"{source} is not a rollcall backup: {exc}") from None
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise RollcallError(f"{source} is not a rollcall backup (format {VERSION})")
    return header


def restore(engine: Engine, source: Path) -> BackupSummary:
    """Load a backup into an empty database, then migrate it to the current schema.

    Refuses a database that holds any rows: restoring over data would mix two histories.
    """
    header = read_header(source)
    revision = header["revision"]
    with engine.connect() as conn:
        have = current_revision_of(conn)
        busy = {
            t.name: n
            for t in _tables(conn)
            if (n := conn.scalar(select(func.count()).select_from(t)))
        }
    if busy:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(busy.items()))
        raise RollcallError(
            f"the database is not empty ({listed}): restore into a new, empty database "
            "(see docs/deploy.md)"
        )
    if have is not None and revision is not None and have != revision:
        raise RollcallError(
            f"the database's schema is at revision {have} but the backup is at {revision}: "
            "restore into a new, empty database"
        )
    if revision is not None and have is None:
        upgrade(engine, revision)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        tables = {t.name: t for t in _tables(conn)}
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        with gzip.open(source, "rt", encoding="utf-8") as f:
            f.readline()
            table: Table | None = None
            columns: list[str] = []
            batch: list[dict] = []
            for line in f:
                item = json.loads(line)
                if isinstance(item, dict):
                    _flush(conn, table, batch)
                    if item["table"] not in tables:
                        raise RollcallError(
                            f"the backup has a table {item['table']!r} the database lacks"
                        )
                    table, columns = tables[item["table"]], item["columns"]
                    counts[table.name] = 0
                    continue
                if table is None:  # a real check, not an assert: the file comes from outside
                    raise RollcallError(f"{source}: not a rollcall backup (rows before a table)")
                batch.append(
                    {
                        name: _decode(value, table.columns[name].type)
                        for name, value in zip(columns, item, strict=True)
                    }
                )
                counts[table.name] += 1
                if len(batch) >= BATCH:
                    _flush(conn, table, batch)
            _flush(conn, table, batch)
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn, list(tables.values()))
    if counts != header["tables"]:
        raise RollcallError(f"{source} is truncated: expected {header['tables']}, got {counts}")
    upgrade(engine)
    return BackupSummary(revision, counts)


def _flush(conn: Connection, table: Table | None, batch: list[dict]) -> None:
    if table is not None and batch:
        conn.execute(insert(table), batch)
    batch.clear()


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Rows came with their ids: move PostgreSQL's id sequences past them."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            )
            if sequence:
                # The names come from our own table metadata, never from the backup's input.
                top = f'SELECT MAX("{column.name}") FROM "{table.name}"'  # nosec B608 - see above
                conn.execute(
                    text(f"SELECT setval(:s, COALESCE(({top}), 0) + 1, false)"),
                    {"s": sequence},
                )
