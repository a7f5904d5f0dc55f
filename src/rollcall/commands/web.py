"""CLI commands for the staff portal: serve it, create accounts and API tokens."""

from __future__ import annotations

import sys

import click

from rollcall.cli import App, cli, err_console, out_console, pass_app


@cli.command()
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

    portal = create_app(app.settings)
    proxy = {}
    if trusted_proxy:
        proxy = {
            "trusted_proxy": trusted_proxy,
            "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto x-forwarded-host",
            "clear_untrusted_proxy_headers": True,
        }
    err_console.print(
        f"rollcall portal on http://{host}:{port}/ (Ctrl-C stops it); "
        "create an account first with `rollcall user add NAME --role admin`.",
        highlight=False,
    )
    # waitress serves only 100 connections by default: the load test's 200 staff left half of
    # them waiting, unserved, in the listen backlog. poll() lifts select()'s 1024-descriptor cap.
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


@cli.group()
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
        record(session, "cli", AccountChanged(name, f"created ({role})"))
    out_console.print(f"Created {role} {name}.", highlight=False)


@user.command("list")
@pass_app
def user_list(app: App) -> None:
    """List portal accounts."""
    from sqlalchemy import select

    from rollcall.storage.staff import User

    with app.db.session() as session:
        for u in session.scalars(select(User).order_by(User.name)):
            click.echo(f"{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}")


@cli.group()
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
@pass_app
def token_create(app: App, name: str, agent_name: str | None, course: str | None) -> None:
    """Print a new API token for user NAME (shown once: only its digest is stored)."""
    from rollcall.storage.accounts import create_token, require_user
    from rollcall.storage.audit import AccountChanged, record

    if course and not agent_name:
        raise click.UsageError("--course goes with --agent")
    with app.db.session() as session:
        user = require_user(session, name)
        if agent_name:
            from rollcall.storage.agents import create_agent_token
            from rollcall.storage.sessions import require_course

            row, value = create_agent_token(
                session, user, agent_name, require_course(session, course) if course else None
            )
            record(session, "cli", AccountChanged(name, f"agent token #{row.id} created"))
        else:
            value = create_token(session, user)
            record(session, "cli", AccountChanged(name, "token created"))
    click.echo(value)
