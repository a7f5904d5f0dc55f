"""Every test here runs once per database back end: SQLite, PostgreSQL and MariaDB/MySQL.

The server URLs come from ROLLCALL_TEST_POSTGRES_URL and ROLLCALL_TEST_MYSQL_URL (set by
`eval "$(scripts/ci-databases.sh start)"`, which .ci/run does). A back end whose URL is unset
or whose server does not answer is skipped with the reason. The server databases are wiped
before each test: never point these variables at data you want to keep.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, make_url, text

SERVERS = {
    "postgresql": "ROLLCALL_TEST_POSTGRES_URL",
    "mariadb": "ROLLCALL_TEST_MYSQL_URL",
}
_unreachable: dict[str, str] = {}


def wipe(url: str) -> None:
    """Drop every table (and PostgreSQL's trigger functions) so a test starts from nothing."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for table in inspect(conn).get_table_names():
                    conn.execute(text(f"DROP TABLE `{table}`"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
    finally:
        engine.dispose()


def server_url(backend: str) -> str:
    variable = SERVERS[backend]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(
            f"{backend}: {variable} is not set; start the servers with "
            '`eval "$(scripts/ci-databases.sh start)"`'
        )
    if backend in _unreachable:
        pytest.skip(_unreachable[backend])
    try:
        wipe(url)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means "absent"
        safe = make_url(url).render_as_string(hide_password=True)
        _unreachable[backend] = f"{backend}: no server answers at {safe} ({exc.__class__.__name__})"
        pytest.skip(_unreachable[backend])
    return url


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each back end, as a SQLAlchemy URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rollcall.db'}"
    else:
        yield server_url(request.param)


@pytest.fixture
def backend_home(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ROLLCALL_HOME (evidence crops) plus ROLLCALL_DATABASE_URL for the back end under test."""
    home = tmp_path / "home"
    monkeypatch.setenv("ROLLCALL_HOME", str(home))
    monkeypatch.setenv("ROLLCALL_DATABASE_URL", database_url)
    return home


@pytest.fixture
def settings(backend_home: Path):
    from rollcall.config import Settings

    return Settings.from_env()


@pytest.fixture
def db(settings):
    from rollcall.storage.db import Database

    database = Database(settings)
    yield database
    database.close()
