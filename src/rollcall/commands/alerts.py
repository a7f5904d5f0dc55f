"""CLI commands for alert emails: send what is due (cron or a timer), list the outbox."""

from __future__ import annotations

import click

from rollcall.commands.base import App, Table, out_console, pass_app, utc_minute


@click.group()
def alerts() -> None:
    """Alert emails: the outbox and sending it (ROLLCALL_SMTP_URL)."""


@alerts.command("send")
@click.option("--retry", "retry", multiple=True, type=int, help="Send this message now, even "
              "one that gave up (repeatable).")  # fmt: skip
@pass_app
def alerts_send(app: App, retry: tuple[int, ...]) -> None:
    """Send the messages that are due (run it every few minutes, e.g. from cron); exit status 1
    when some could not be sent (they stay in the outbox and are tried again later)."""
    from rollcall.alerts.outbox import deliver

    mailer = app.settings.mailer
    if mailer is None:
        raise click.ClickException(
            "ROLLCALL_SMTP_URL is not set, so nothing can be sent; e.g. "
            "ROLLCALL_SMTP_URL=smtp://user:password@mail.example.org:587?from=rollcall@example.org"
        )
    done = deliver(app.db, mailer, ids=list(retry) or None)
    out_console.print(f"Outbox: {done} (via {mailer.describe()}).", highlight=False)
    if done.failed:
        raise SystemExit(1)


@alerts.command("list")
@click.option("--state", help="Only messages in this state (pending, sent, failed, gave_up).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@pass_app
def alerts_list(app: App, state: str | None, limit: int) -> None:
    """The outbox, newest first, with each message's state and last error."""
    from sqlalchemy import select

    from rollcall.storage.models import OutboxMessage

    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if state:
        query = query.where(OutboxMessage.state == state)
    table = Table("#", "queued (UTC)", "to", "subject", "state", "attempts", "last error")
    with app.db.session() as session:
        for m in session.scalars(query):
            table.add_row(
                str(m.id), utc_minute(m.created_at), m.recipient, m.subject, m.state,
                str(m.attempts), m.last_error,
            )  # fmt: skip
    out_console.print(table)


COMMANDS = [alerts]
