"""The database server's clock, for times that processes on several hosts compare."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.orm import Session

# clock_timestamp(), not now(): now() is the transaction's start, which a long transaction
# would hold back.
_EPOCH = {
    "postgresql": "SELECT EXTRACT(EPOCH FROM clock_timestamp())",
    "mysql": "SELECT UNIX_TIMESTAMP(NOW(6))",
    "mariadb": "SELECT UNIX_TIMESTAMP(NOW(6))",
}


def database_epoch(s: Session) -> float:
    """Seconds since the epoch by the database server's clock.

    A lease written by a worker on one host is checked by workers on others: on their own
    clocks, a host running 10 s ahead would take over an entrance its owner still watches.
    SQLite is a file on this host, so its clock is this host's."""
    query = _EPOCH.get(s.get_bind().dialect.name)
    return time.time() if query is None else float(s.execute(text(query)).scalar_one())
