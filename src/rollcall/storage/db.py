"""The database: engine and sessions for SQLite, PostgreSQL or MySQL, migrated by Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.templates import TemplateCipher

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # WAL lets the portal read while a run writes; the busy timeout makes concurrent
            # writers wait instead of failing with "database is locked"; SQLite only enforces
            # foreign keys (and so cascading deletes of templates) when asked.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


class Database:
    """One engine and a session factory; opened once per process."""

    def __init__(self, settings: Settings, migrate: bool = True) -> None:
        self.settings = settings
        if settings.database_url is None:
            settings.ensure_home()
        self.url = settings.db_url
        try:
            self.engine = make_engine(self.url)
            if migrate and current_revision(self.engine) != head_revision():
                upgrade(self.engine)
        except OperationalError as exc:
            raise RollcallError(f"cannot open the database {self.safe_url}: {exc.orig}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._cipher: TemplateCipher | None = None

    @property
    def cipher(self) -> TemplateCipher:
        """Seals and opens face templates; the key never lives in the database."""
        if self._cipher is None:
            self._cipher = TemplateCipher.from_home(self.settings.home)
        return self._cipher

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()
