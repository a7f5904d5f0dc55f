"""The database: engine and sessions for SQLite, PostgreSQL or MySQL, migrated by Alembic."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Row, create_engine, event, func, make_url, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.names import folded
from rollcall.storage.templates import TemplateCipher

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_ID = 0x726F6C6C  # "roll": the PostgreSQL advisory lock held while migrating


def make_engine(url: str) -> Engine:
    """An engine tuned for rollcall's workload on each back end: short write transactions
    from several processes (runners, the portal) at once."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    # READ COMMITTED on both servers: each statement sees what other writers committed, and
    # MySQL's default REPEATABLE READ would add gap locks (and deadlocks) for no benefit here.
    # pool_pre_ping replaces connections the server dropped (restart, idle timeout) before use;
    # pool_recycle stays under MySQL's wait_timeout and cloud proxies' idle limits.
    options: dict[str, object] = {
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "isolation_level": "READ COMMITTED",
    }
    if backend in ("mysql", "mariadb"):
        options["connect_args"] = {"charset": "utf8mb4"}
    return create_engine(url, **options)


# Turning a new database to WAL takes an exclusive lock, and SQLite answers "database is
# locked" at once, without the busy timeout, while another connection holds the file: two
# processes starting on a fresh home together (the portal and a run, or the migration test's
# four threads) failed this way. The first to convert wins; the others try again shortly and
# find WAL already set. (2 s in all.)
WAL_ATTEMPTS = 40
WAL_PAUSE = 0.05


def _wal(cur) -> None:  # noqa: ANN001 - a sqlite3 cursor
    for attempt in range(WAL_ATTEMPTS):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(WAL_PAUSE)


def _private_file(url: str) -> None:
    """The database file readable by its owner only (mode 0600; SQLite gives its -wal and -shm
    files the same): it holds names, emails, password hashes and alert letters, and was made
    0644 in a home folder that already existed (a DPO's review)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        elif path.stat().st_mode & 0o077:
            path.chmod(path.stat().st_mode & 0o700)
    except OSError:
        pass  # not ours to change (a read-only mount, another owner): SQLite says what fails


def _folded_or_none(text: str | None) -> str | None:
    return None if text is None else folded(text)


def _sqlite_engine(url: str) -> Engine:
    _private_file(url)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
        # WAL lets the portal read while a run writes; the busy timeout makes concurrent
        # writers wait instead of failing with "database is locked"; SQLite only enforces
        # foreign keys (and so cascading deletes of templates) when asked.
        # isolation_level=None stops the sqlite3 module from issuing its own BEGIN, so the
        # "begin" hook below decides how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        _wal(cur)
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, not left in free pages: an erased person's rows could
        # still be read from the file with grep (see also privacy.erase_person's checkpoint).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()
        # SQLite's LIKE and lower() fold ASCII letters only: searches compare folded names
        # (storage.names.folded) through this function instead (storage.accounts._visible).
        dbapi_conn.create_function("rc_folded", 1, _folded_or_none, deterministic=True)

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn) -> None:  # noqa: ANN001
        # A deferred transaction that reads and then writes cannot wait for the write lock: if
        # another process committed in between, SQLite fails it at once with "database is
        # locked" whatever the busy timeout. BEGIN IMMEDIATE takes the write lock up front
        # (waiting up to the busy timeout), so concurrent writers queue instead of failing.
        # Readers are unaffected in WAL mode; a long read-only job (a backup) asks for
        # DEFERRED to read one snapshot without holding writers back.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


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
    """Migrate to `revision`; safe when several processes start on a fresh database at once."""
    cfg = alembic_config()
    if engine.dialect.name == "sqlite":
        # BEGIN IMMEDIATE (see make_engine) already makes the migration transaction exclusive.
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return
    # The lock lives on its own connection and is released only after the migration has
    # committed: released any earlier, the next process could read the old alembic_version
    # (MySQL commits DDL as it goes but the version row only at the end) and migrate twice.
    with engine.connect() as lock_conn, migration_lock(lock_conn), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def migration_lock(conn: Connection) -> Iterator[None]:
    """Serialise migrations between processes (a portal and runners starting together).

    Alembic reads the current revision after the lock is taken, so the second process finds
    the schema already migrated. The lock is held by `conn` for the session, not a transaction.
    """
    backend = conn.dialect.name
    if backend == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_ID})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})")
            conn.commit()
    elif backend in ("mysql", "mariadb"):
        got = conn.exec_driver_sql("SELECT GET_LOCK('rollcall_migrations', 300)").scalar()
        conn.commit()
        if got != 1:
            raise RollcallError("timed out waiting for another process to finish migrating")
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT RELEASE_LOCK('rollcall_migrations')")
            conn.commit()
    else:
        yield


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
            self._cipher = self._checked_cipher()
        return self._cipher

    def _checked_cipher(self) -> TemplateCipher:
        """The key, checked against what the database holds before anything is sealed with
        it: a key file that went missing (a restore into a fresh home, a moved folder) used
        to be replaced by a new key in silence, and people enrolled then were sealed under it,
        so that no one key opened the database any more."""
        import os

        from rollcall.storage.meetings import MeetingHook
        from rollcall.storage.models import Template, UnknownFace
        from rollcall.storage.templates import KEY_ENV, KEY_FILE, TemplateKeyError

        # A read of its own that takes no write lock: the cipher is often first asked for
        # inside a writing transaction (SQLite has one writer at a time). Templates, and the
        # unknown faces' embeddings: a database whose people were all removed still holds
        # strangers' faces sealed with the key (a new key made then split it in two).
        with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            sealed = conn.scalar(select(func.count()).select_from(Template)) or 0
            one = conn.execute(
                select(Template.vector, Template.dim, Template.person_id, Template.embedder)
                .order_by(Template.id)
                .limit(1)
            ).first()
            faces = conn.scalar(
                select(func.count()).where(UnknownFace.embedding.is_not(None))
            ) or 0  # fmt: skip
            face = conn.execute(
                select(
                    UnknownFace.embedding,
                    UnknownFace.dim,
                    UnknownFace.session_id,
                    UnknownFace.embedder,
                )  # fmt: skip
                .where(UnknownFace.embedding.is_not(None))
                .order_by(UnknownFace.id)
                .limit(1)
            ).first()
            # Sealed with the key too, and may be all a database holds (everyone erased, or no
            # one enrolled yet): sessions' monitor states (face tracks' embeddings) and
            # webhooks' signing secrets. A new key made then left them unopenable, in silence.
            state = hook = None
            if not sealed and not faces:
                state = _one_sealed_state(conn)
                hook = conn.execute(
                    select(MeetingHook.id, MeetingHook.secret)
                    .where(MeetingHook.secret.is_not(None))
                    .order_by(MeetingHook.id)
                    .limit(1)
                ).first()
        held = []
        if sealed:
            held.append(f"{sealed} face template(s)")
        if faces:
            held.append(f"{faces} unknown face(s)")
        if state is not None:
            held.append("sessions' saved monitor states")
        if hook is not None:
            held.append("meeting webhook secrets")
        crops = [] if held else _sealed_crops(self.settings.evidence_dir)
        if crops:
            # Crops are sealed with the key too (storage.evidence), and may outlive every
            # template: strangers' crops kept without their embeddings.
            held.append("evidence crops")
        if held and not os.environ.get(KEY_ENV) and not (self.settings.home / KEY_FILE).exists():
            raise TemplateKeyError(
                f"the template key is missing (ROLLCALL_HOME/{KEY_FILE}, or {KEY_ENV}) while "
                f"{' and '.join(held)} are sealed with it: restore it (docs/deploy.md); a "
                "new key would not open them"
            )
        cipher = TemplateCipher.from_home(self.settings.home)
        # Another key: TemplateKeyError, before anything is sealed with it.
        if one is not None:
            cipher.open(*one)
        elif face is not None:
            cipher.open_unknown(*face)
        elif state is not None:
            from rollcall.analysis.sample import state_context

            cipher.open_bytes(state.state, state_context(state.session_id))
        elif hook is not None:
            from rollcall.storage.hooks import open_secret

            open_secret(cipher, hook.id, hook.secret)
        elif crops and _any_opens(cipher, self.settings.evidence_dir, crops) is False:
            raise TemplateKeyError(
                f"the template key does not open the evidence crops sealed with another "
                f"(e.g. {crops[0]}): set {KEY_ENV} or restore ROLLCALL_HOME/{KEY_FILE}"
            )
        return cipher

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def write_through(self) -> None:
        """SQLite: copy what the write-ahead log holds into the file and empty it. Rows just
        deleted (an erasure) otherwise stay readable in the -wal file until the next automatic
        checkpoint, which a portal that stays up may put off for long. Best effort: readers
        in the middle of a transaction keep their pages until they finish."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()  # (outside a transaction: no BEGIN first)
        try:
            cursor = raw.cursor()
            # Not waiting for readers (the busy timeout held an erasure 30 s behind a portal
            # page being read): what they still hold goes at the next checkpoint.
            cursor.execute("PRAGMA busy_timeout=0")
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()
        finally:
            raw.close()

    def close(self) -> None:
        self.engine.dispose()


def _one_sealed_state(conn: Connection) -> Row | None:
    """(session_id, state) of one session's sealed monitor state, or None (an entrance's
    progress is stored plain, and says nothing about the key). Read a few rows at a time:
    states hold tracks' embeddings, and the first is usually sealed."""
    from rollcall.storage.models import SessionState

    rows = conn.execution_options(yield_per=16).execute(
        select(SessionState.session_id, SessionState.state).order_by(SessionState.session_id)
    )
    try:
        return next((row for row in rows if TemplateCipher.is_sealed(row.state)), None)
    finally:
        rows.close()


def _sealed_crops(evidence_dir: Path, most: int = 3) -> list[Path]:
    """Up to ``most`` crops of the evidence folder sealed with the template key (asked only
    when the database holds nothing sealed: then the folder is small or plain)."""
    from rollcall.storage.evidence import crops_in, is_sealed

    found = []
    for path in crops_in(evidence_dir):
        try:
            if is_sealed(path):
                found.append(path)
        except OSError:
            continue
        if len(found) >= most:
            break
    return found


def _any_opens(cipher: TemplateCipher, evidence_dir: Path, crops: list[Path]) -> bool | None:
    """Whether the key opens one of ``crops`` (several tried: one crop cut short or tampered
    with must not stop every command); None when none could be read (gone meanwhile: a
    purge), which says nothing about the key."""
    from rollcall.storage.evidence import CropError, read_crop

    read = False
    for path in crops:
        try:
            read_crop(cipher, evidence_dir, path)
            return True
        except OSError:
            continue
        except CropError:
            read = True
    return False if read else None
