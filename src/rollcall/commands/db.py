"""CLI commands for the database: migrations, backups and restores, on every back end."""

from __future__ import annotations

from pathlib import Path

import click

from rollcall.commands.base import App, cannot_write, err_console, out_console, pass_app
from rollcall.errors import RollcallError


def _engine(app: App):  # noqa: ANN202
    from sqlalchemy.exc import OperationalError

    from rollcall.storage.db import make_engine

    if app.settings.database_url is None:
        app.settings.ensure_home()
    engine = make_engine(app.settings.db_url)
    try:
        engine.connect().close()
    except OperationalError as exc:
        safe = engine.url.render_as_string(hide_password=True)
        raise RollcallError(f"cannot open the database {safe}: {exc.orig}") from None
    return engine


@click.group()
def db() -> None:
    """Database administration: migrations, backups and restores."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Apply every Alembic migration to the configured database."""
    from rollcall.storage.db import current_revision, head_revision, upgrade

    engine = _engine(app)
    upgrade(engine)
    out_console.print(
        f"Database at revision {current_revision(engine)} (head {head_revision()}).",
        highlight=False,
    )


@db.command("current")
@pass_app
def db_current(app: App) -> None:
    """Show the database's migration revision."""
    from rollcall.storage.db import current_revision

    click.echo(current_revision(_engine(app)) or "empty")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def db_backup(app: App, target: Path) -> None:
    """Write every table to TARGET (gzip'd JSON lines; restores into any back end).

    Runs against a live database: it reads one consistent snapshot while runs and the portal
    go on writing. Evidence crops live in ROLLCALL_HOME: back that folder up as well.
    """
    from rollcall.storage.backup import backup

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        summary = backup(_engine(app), target)
    except OSError as exc:
        raise cannot_write(target, exc) from None
    out_console.print(
        f"Backed up {summary.rows} rows from {len(summary.tables)} tables "
        f"(revision {summary.revision}) to {target}.",
        highlight=False,
    )
    if summary.skipped.get("frames"):
        err_console.print(
            f"[yellow]note:[/yellow] {summary.skipped['frames']} uploaded frame(s) waiting for "
            "analysis are not in the backup (frames are kept only until analyzed); to move "
            "a server, stop the agents and let the workers finish first",
            highlight=False,
        )


@db.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def db_restore(app: App, source: Path) -> None:
    """Load the backup SOURCE into the configured database, which must be empty.

    The schema is created at the backup's revision, the rows loaded, then every newer
    migration applied; a database holding any rows is refused.
    """
    from rollcall.storage.backup import restore

    summary = restore(_engine(app), source)
    out_console.print(
        f"Restored {summary.rows} rows into {len(summary.tables)} tables from {source}.",
        highlight=False,
    )


@db.command("seal-evidence")
@pass_app
def db_seal_evidence(app: App) -> None:
    """Seal the evidence crops written in the clear by versions before crops were sealed.

    Crops are face photos: new ones are sealed with the template key as they are written, and
    older ones are read as they are until this seals them in place. Run it once after the
    upgrade, as the service's user and with its environment (the key), with runs and workers
    stopped; running it again changes nothing. A crop that cannot be sealed is named and the
    others are sealed all the same.
    """
    from rollcall.storage.evidence import seal_plain

    evidence = app.settings.evidence_dir
    sealed, already, failed = seal_plain(app.db.cipher, evidence)
    out_console.print(
        f"Sealed {sealed} evidence crop(s) in {evidence} ({already} sealed already).",
        highlight=False,
    )
    if failed:
        for line in failed:
            err_console.print(f"[red]not sealed:[/red] {line}", highlight=False)
        raise RollcallError(f"{len(failed)} crop(s) could not be sealed (listed above)")
    out_console.print(
        "Every crop there is sealed: a plain JPEG put there is refused from now on.",
        highlight=False,
    )


COMMANDS = [db]
