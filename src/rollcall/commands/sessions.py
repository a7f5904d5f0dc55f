"""CLI commands for sessions: list them, close an interrupted one, delete a mistaken one."""

from __future__ import annotations

import sys
from collections import Counter

import click
from rich.markup import escape

from rollcall.commands.base import App, Table, cli_actor, markup, out_console, pass_app

_actor = cli_actor


@click.group(invoke_without_command=True)
@click.pass_context
def sessions(ctx: click.Context) -> None:
    """List sessions, newest first (also `sessions list`); close or delete one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(sessions_list)


@sessions.command("list")
@pass_app
def sessions_list(app: App) -> None:
    """List sessions, newest first, with their state and start on their course's clock."""
    from rollcall.attendance.report import row_zone
    from rollcall.attendance.run_lease import state_shown
    from rollcall.storage.sessions import list_sessions
    from rollcall.wallclock import in_zone

    colours = {"running": "green", "interrupted": "yellow", "closed": "white"}
    table = Table("session", "state", "started", "source")
    with app.db.session() as session:
        for row in list_sessions(session):
            zone = row_zone(row, app.settings.timezone)
            table.add_row(
                row.name,
                markup(f"[{colours.get(row.state, 'white')}]{escape(state_shown(row))}[/]"),
                f"{in_zone(row.started_at, zone):%Y-%m-%d %H:%M %Z}",
                row.source,
            )
    out_console.print(table)


@sessions.command("close")
@click.argument("name")
@pass_app
def sessions_close(app: App, name: str) -> None:
    """Close session NAME for good: final statuses are given and it cannot be resumed.

    For a session that was interrupted (Ctrl-C, SIGTERM) or whose run was killed; a run still
    recording it stops at its next sample.
    """
    from rollcall.alerts.outbox import deliver_quietly
    from rollcall.attendance.lifecycle import close_session

    statuses = close_session(app.db, name, _actor())
    delivery = deliver_quietly(app.db, app.settings.mailer)
    tally = Counter(statuses.values())
    summary = ", ".join(f"{n} {status}" for status, n in sorted(tally.items()))
    out_console.print(
        f"Closed session {name}: {summary or 'no one expected'}."
        + (f" Alerts: {delivery}." if delivery and (delivery.sent or delivery.failed) else ""),
        highlight=False,
        soft_wrap=True,
    )


@sessions.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@pass_app
def sessions_delete(app: App, name: str, yes: bool) -> None:
    """Delete session NAME with its head counts, marks, presence intervals, unknown faces,
    events and evidence crops, so that its name can be used again."""
    from rollcall.attendance.lifecycle import delete_session
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        require_session(session, name)  # a typo is reported before any question
    if not yes:
        if not sys.stdin.isatty():
            raise click.ClickException(
                f"refusing to delete session {name!r} without confirmation: "
                "add --yes (stdin is not a terminal)"
            )
        click.confirm(
            f"Delete session {name} with all its marks, head counts and evidence crops?",
            abort=True,
        )
    gone = delete_session(app.db, app.settings, name, _actor())
    out_console.print(
        f"Deleted session {name}: {gone.head_counts} head count(s), the attendance of "
        f"{gone.expected} expected ({gone.marks} seen), {gone.unknown_faces} unknown face(s), "
        f"{gone.files} evidence file(s).",
        highlight=False,
        soft_wrap=True,
    )


COMMANDS = [sessions]
