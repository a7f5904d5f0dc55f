"""CLI commands for the staff portal: serve it, create accounts and API tokens."""

from __future__ import annotations

import sys

import click

from rollcall.commands.base import (
    App,
    cli_actor,
    confirm_or_refuse,
    err_console,
    out_console,
    pass_app,
    utc_minute,
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--connection-limit",
    default=1000,
    show_default=True,
    type=click.IntRange(10, 10000),
    help="Open connections served at once (browsers keep theirs open between pages).",
)
@click.option(
    "--trusted-proxy",
    help="Address of a reverse proxy terminating HTTPS; its X-Forwarded-* headers are believed.",
)
@pass_app
def serve(
    app: App, host: str, port: int, threads: int, connection_limit: int, trusted_proxy: str | None
) -> None:
    """Serve the staff portal with waitress, a production WSGI server."""
    from waitress import serve as waitress_serve

    from rollcall.web import create_app

    # Kiosk screens hold a thread each while their event stream runs: half the threads at most.
    portal = create_app(app.settings, KIOSK_MAX_STREAMS=max(1, threads // 2))
    proxy = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
            "clear_untrusted_proxy_headers": True,
        }
    from sqlalchemy import func, select

    from rollcall.storage.staff import User

    with app.db.session() as session:
        nobody = not session.scalar(select(func.count()).select_from(User))
    first = "; create an account first with `rollcall user add NAME --role admin`" if nobody else ""
    where = (
        "Celery workers (ROLLCALL_BROKER_URL)"
        if app.settings.broker_url
        else "this process (no ROLLCALL_BROKER_URL)"
    )
    err_console.print(
        f"rollcall portal on http://{host}:{port}/ (Ctrl-C stops it); agents' uploads are "
        f"analyzed by {where}{first}.",
        highlight=False,
        soft_wrap=True,
    )
    # waitress serves only 100 connections by default: the load test's 200 staff left half of
    # them waiting, unserved, in the listen backlog. poll() lifts select()'s 1024-descriptor cap.
    try:
        waitress_serve(
            portal,
            host=host,
            port=port,
            threads=threads,
            connection_limit=connection_limit,
            asyncore_use_poll=True,
            ident="rollcall",
            **proxy,
        )
    except OSError as exc:  # a port in use, an address not this machine's: one line, no trace
        why = exc.strerror or exc
        raise click.ClickException(f"cannot listen on {host}:{port}: {why}") from exc


@click.group()
def user() -> None:
    """Portal accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "instructor"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_app
def user_add(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Create the account NAME (the password is asked for, or read with --password-stdin)."""
    from rollcall.storage.accounts import create_user
    from rollcall.storage.audit import AccountChanged, record

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with app.db.session() as session:
        create_user(session, name, password, role)
        record(session, cli_actor(), AccountChanged(name, f"created ({role})"))
    out_console.print(f"Created {role} {name}.", highlight=False)


@user.command("list")
@pass_app
def user_list(app: App) -> None:
    """List portal accounts."""
    from sqlalchemy import select

    from rollcall.storage.staff import User

    with app.db.session() as session:
        for u in session.scalars(select(User).order_by(User.name)):
            state = "active" if u.active else "disabled"
            if u.must_change_password:
                state += ", must choose a new password"
            click.echo(f"{u.name}\t{u.role}\t{state}\t{u.email or ''}")


def _account_change(app: App, name: str, what: str, change) -> object:  # noqa: ANN001
    """Apply change(session, user) to account NAME and write the audit entry."""
    from rollcall.storage.accounts import require_user
    from rollcall.storage.audit import AccountChanged, record

    with app.db.session() as session:
        user = require_user(session, name)
        result = change(session, user)
        record(session, cli_actor(), AccountChanged(name, what))
    return result


@user.command("disable")
@click.argument("name")
@pass_app
def user_disable(app: App, name: str) -> None:
    """Disable account NAME: its portal sessions and API tokens stop working at once."""
    from rollcall.storage.accounts import set_active

    _account_change(app, name, "disabled", lambda s, u: set_active(s, u, False))
    out_console.print(f"Disabled {name}.", highlight=False)


@user.command("enable")
@click.argument("name")
@pass_app
def user_enable(app: App, name: str) -> None:
    """Enable account NAME again."""
    from rollcall.storage.accounts import set_active

    _account_change(app, name, "enabled", lambda s, u: set_active(s, u, True))
    out_console.print(f"Enabled {name}.", highlight=False)


@user.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@pass_app
def user_remove(app: App, name: str, yes: bool) -> None:
    """Delete account NAME with its API tokens (audit entries keep its name)."""
    from rollcall.storage.accounts import remove_user, require_user

    with app.db.session() as session:
        require_user(session, name)
    refusal = f"refusing to remove account {name!r} without confirmation"
    confirm_or_refuse(yes, f"Remove the account {name} and its API tokens?", refusal)
    _account_change(app, name, "removed", remove_user)
    out_console.print(f"Removed {name}.", highlight=False)


@user.command("reset-password")
@click.argument("name")
@pass_app
def user_reset_password(app: App, name: str) -> None:
    """Print a one-time password for NAME; they must choose their own at next login.

    Their portal sessions end and their API tokens are revoked; their agent and kiosk tokens
    and the webhooks they made keep working (the output says how many)."""
    from rollcall.storage.accounts import reset_password

    reset = _account_change(app, name, "password reset", reset_password)
    if reset.api_tokens_revoked:
        n = reset.api_tokens_revoked
        err_console.print(
            f"{n} API token{'' if n == 1 else 's'} of {name} revoked.", highlight=False
        )
    if reset.tokens_left:
        # Left working: they record and show classrooms' sessions (see reset_password).
        hooks = (
            ", and `rollcall participants hooks --revoke N` (listed without --revoke)"
            if reset.hooks_left
            else ""
        )
        err_console.print(
            f"{name} still has {reset.tokens_left}, left working so their classrooms keep "
            "running: if the account was misused, revoke them with `rollcall token "
            "revoke-agent` / `revoke-kiosk` (listed by `rollcall token agents` / `kiosks`)"
            f"{hooks}.",
            highlight=False,
            soft_wrap=True,
        )
    err_console.print(
        f"One-time password for {name} (they choose a new one at next login):", highlight=False
    )
    click.echo(reset.temporary)


@user.command("email")
@click.argument("name")
@click.argument("address")
@pass_app
def user_email(app: App, name: str, address: str) -> None:
    """Set NAME's email address for alerts ("" removes it)."""
    from rollcall.storage.accounts import check_email

    checked = check_email(address)

    def change(_session, user) -> None:  # noqa: ANN001
        user.email = checked

    _account_change(app, name, f"email {checked or 'removed'}", change)
    out_console.print(f"{name}: email {checked or 'removed'}.", highlight=False)


@click.group()
def token() -> None:
    """API tokens for /api/v1."""


@token.command("create")
@click.argument("name")
@click.option(
    "--agent",
    "agent_name",
    help="Make a capture agent's token instead, named for its room or instructor: it may "
    "create and record the sessions user NAME may see.",
)
@click.option("--course", help="With --agent: only this course's sessions.")
@click.option(
    "--kiosk",
    "kiosk_target",
    metavar="SESSION_OR_COURSE",
    help="Make a kiosk screen's token instead: it shows the live marks of this session (or of "
    "any session of this course) at /kiosk/SESSION; write session:NAME or course:NAME when a "
    "session and a course share the name.",
)
@pass_app
def token_create(
    app: App, name: str, agent_name: str | None, course: str | None, kiosk_target: str | None
) -> None:
    """Print a new API token for user NAME (shown once: only its digest is stored)."""
    from rollcall.storage.accounts import create_token, require_user
    from rollcall.storage.audit import AccountChanged, record

    if agent_name is not None and not agent_name.strip():
        # An empty room name (a script's unset variable) made an unscoped staff token.
        raise click.UsageError("--agent needs a name (the room or instructor it is for)")
    if course and not agent_name:
        raise click.UsageError("--course goes with --agent")
    if kiosk_target and agent_name:
        raise click.UsageError("a token is for an agent or for a kiosk, not both")
    with app.db.session() as session:
        user = require_user(session, name)
        if kiosk_target:
            from rollcall.storage import kiosks

            target = kiosks.find_target(session, kiosk_target)
            row, value = kiosks.create_kiosk_token(session, user, target)
            record(session, cli_actor(), AccountChanged(name, f"kiosk token #{row.id} created"))
            shown = target.session.name if target.session else "SESSION"
            err_console.print(
                f"Kiosk token #{row.id} for {target.label}: open "
                f"/kiosk/{shown}?token=TOKEN on the kiosk's screen (once; it moves into a "
                "cookie).",
                highlight=False,
            )
        elif agent_name:
            from rollcall.storage.agents import create_agent_token
            from rollcall.storage.sessions import require_course

            row, value = create_agent_token(
                session, user, agent_name, require_course(session, course) if course else None
            )
            record(session, cli_actor(), AccountChanged(name, f"agent token #{row.id} created"))
        else:
            value = create_token(session, user)
            record(session, cli_actor(), AccountChanged(name, "token created"))
    click.echo(value)


@token.command("list")
@pass_app
def token_list(app: App) -> None:
    """List API tokens: number, user, created, last used (the tokens themselves are not kept)."""
    from rollcall.commands.base import Table
    from rollcall.storage.accounts import list_tokens

    table = Table("#", "user", "created (UTC)", "last used (UTC)")
    with app.db.session() as session:
        for t in list_tokens(session):
            used = utc_minute(t.last_used_at, "never")
            table.add_row(str(t.id), t.user.name, utc_minute(t.created_at), used)
    out_console.print(table)


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_app
def token_revoke(app: App, token_id: int) -> None:
    """Revoke API token number TOKEN_ID (see `rollcall token list`)."""
    from rollcall.storage.accounts import revoke_token
    from rollcall.storage.audit import AccountChanged, record

    with app.db.session() as session:
        row = revoke_token(session, token_id)
        record(session, cli_actor(), AccountChanged(row.user.name, f"token {token_id} revoked"))
    out_console.print(f"Revoked API token #{token_id}.", highlight=False)


@token.command("kiosks")
@pass_app
def token_kiosks(app: App) -> None:
    """List kiosk screens' tokens (never the tokens themselves)."""
    from rollcall.commands.base import Table
    from rollcall.storage.kiosks import list_kiosk_tokens

    table = Table("id", "name", "shows", "made by", "created (UTC)", "last used", "revoked")
    with app.db.session() as session:
        for row, user, shows in list_kiosk_tokens(session):
            table.add_row(
                str(row.id),
                row.name,
                shows,
                user,
                utc_minute(row.created_at),
                utc_minute(row.last_used_at),
                utc_minute(row.revoked_at),
            )
    out_console.print(table)


@token.command("revoke-kiosk")
@click.argument("token_id", type=int)
@pass_app
def token_revoke_kiosk(app: App, token_id: int) -> None:
    """Revoke kiosk token TOKEN_ID: its screen stops at its next update (see `token kiosks`)."""
    from rollcall.storage.audit import AccountChanged, record
    from rollcall.storage.kiosks import revoke

    with app.db.session() as session:
        row = revoke(session, token_id)
        record(session, cli_actor(), AccountChanged(row.name, f"kiosk token #{row.id} revoked"))
    out_console.print(f"Kiosk token #{token_id} ({row.name}) revoked.", highlight=False)


COMMANDS = [serve, user, token]
