"""A session's meeting: participant reports, accounts matched to people, webhooks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from rollcall.commands.base import App, Table, cli_actor, out_console, pass_app, utc_minute


@click.group()
def participants() -> None:
    """Who was in an online meeting: import platform reports, confirm matches, webhooks."""


@participants.command("import")
@click.option("--session", "session_name", required=True, help="The session the meeting was.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--platform",
    type=click.Choice(["zoom", "teams", "meet"]),
    help="The report's platform (default: recognised from its headers).",
)
@click.option(
    "--timezone",
    "zone_name",
    help="The zone the report's times are in (default: the course's, else ROLLCALL_TIMEZONE).",
)
@pass_app
def participants_import(
    app: App, session_name: str, file: Path, platform: str | None, zone_name: str | None
) -> None:
    """Import FILE, a Zoom, Teams or Meet participant report, into a session.

    All of it or nothing: a broken line stops the import with its number. Importing the same
    report again adds nothing.
    """
    from rollcall.attendance.participants import parse_report
    from rollcall.attendance.participants.store import import_report
    from rollcall.attendance.report import row_zone
    from rollcall.storage.audit import MeetingChanged, record
    from rollcall.storage.sessions import require_session
    from rollcall.wallclock import check_zone, zone_info

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    report = parse_report(data, file.name, platform)
    with app.db.session() as session:
        row = require_session(session, session_name)
        zone = (
            zone_info(check_zone(zone_name, "--timezone"))
            if zone_name
            else row_zone(row, app.settings.timezone)
        )
        result = import_report(session, row, report, zone)
        what = (
            f"imported {result.platform} report {file.name}: {len(result.accounts)} account(s), "
            f"{result.stays_added} new stay(s)"
        )
        record(session, cli_actor(), MeetingChanged(row.name, what, file.name))
    out_console.print(
        f"{session_name}: {what}; {len(result.matched)} matched to people, "
        f"{len(result.proposed)} proposed (confirm with `rollcall participants confirm`), "
        f"{len(result.unmatched)} unmatched.",
        highlight=False,
        soft_wrap=True,
    )
    for name in sorted(result.unmatched):
        out_console.print(f"  unmatched: {name}", highlight=False)


@participants.command("list")
@click.option("--session", "session_name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def participants_list(app: App, session_name: str, as_json: bool) -> None:
    """A session's meeting accounts: who each was matched to, or who is proposed."""
    from rollcall.attendance.participants.store import participants_of
    from rollcall.storage.models import Person
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        row = require_session(session, session_name)
        names = {p.id: p.name for p in session.query(Person)}
        rows = [
            {
                "name": p.name,
                "email": p.email,
                "platform": p.platform,
                "person": names.get(p.person_id),
                "matched_by": p.matched_by,
                "proposed": names.get(p.proposed_id),
                "stays": [[st.join_t, st.leave_t] for st in p.stays],
            }
            for p in participants_of(session, row.id)
        ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table("account", "email", "person", "by", "proposed", "stays")
    for r in rows:
        table.add_row(
            r["name"],
            r["email"] or "",
            r["person"] or "",
            r["matched_by"] or "",
            r["proposed"] or "",
            str(len(r["stays"])),
        )
    out_console.print(table)


@participants.command("remove")
@click.option("--session", "session_name", required=True)
@pass_app
def participants_remove(app: App, session_name: str) -> None:
    """Undo the reports imported into a session (a wrong file, another meeting's): their stays
    and the accounts left with none go; what live webhooks recorded stays."""
    from rollcall.attendance.participants.store import remove_reported
    from rollcall.storage.audit import MeetingChanged, record
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        row = require_session(session, session_name)
        stays, accounts = remove_reported(session, row)
        what = f"removed imported reports: {stays} stay(s), {accounts} account(s)"
        record(session, cli_actor(), MeetingChanged(row.name, what, ""))
    out_console.print(f"{session_name}: {what}.", highlight=False)


@participants.command("confirm")
@click.option("--session", "session_name", required=True)
@click.argument("account")
@click.argument("person")
@pass_app
def participants_confirm(app: App, session_name: str, account: str, person: str) -> None:
    """ACCOUNT (its name or email in the meeting) is PERSON: remembered as their alias."""
    from rollcall.attendance.participants.match import email_key, name_key
    from rollcall.attendance.participants.store import confirm, participants_of
    from rollcall.storage.audit import MeetingChanged, record
    from rollcall.storage.people import require_person
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        row = require_session(session, session_name)
        who = require_person(session, person)
        found = [
            p
            for p in participants_of(session, row.id)
            if name_key(p.name) == name_key(account)
            or (p.email and email_key(p.email) == email_key(account))
        ]
        if len(found) != 1:
            raise click.ClickException(
                f"{'no' if not found else len(found)} account(s) named {account!r} in "
                f"{session_name} (see `rollcall participants list --session {session_name}`)"
            )
        done = confirm(session, found[0], who, cli_actor())
        # As the portal's confirm: the account's name or email is not kept in the trail, which
        # outlives an erasure.
        what = f"a meeting account confirmed as {who.name}"
        record(session, cli_actor(), MeetingChanged(row.name, what, who.name))
    out_console.print(done.words(account, person), highlight=False)


@participants.command("hook")
@click.argument("name")
@click.option("--platform", type=click.Choice(["zoom", "json"]), required=True)
@click.option("--course", help="Events go to this course's session running at the time.")
@click.option("--session", "session_name", help="Events go to this session.")
@click.option(
    "--secret-env",
    help="For Zoom: the environment variable holding the app's Secret Token (asked for if "
    "not given; never on the command line).",
)
@click.option(
    "--meeting-id",
    help="For Zoom: take only this meeting's events (an app installed for a whole account "
    "sends every meeting's).",
)
@pass_app
def participants_hook(
    app: App,
    name: str,
    platform: str,
    course: str | None,
    session_name: str | None,
    secret_env: str | None,
    meeting_id: str | None,
) -> None:
    """Make a webhook for live participant events; prints its URL path once."""
    from rollcall.storage.audit import MeetingChanged, record
    from rollcall.storage.hooks import create_hook
    from rollcall.storage.sessions import require_course, require_session

    secret = None
    if platform == "zoom":
        if secret_env:
            secret = os.environ.get(secret_env, "")
            if not secret.strip():
                raise click.ClickException(f"{secret_env} is not set or empty")
        else:
            secret = click.prompt("Zoom app's Secret Token", hide_input=True)
    with app.db.session() as session:
        row, token = create_hook(
            session,
            app.db.cipher,
            name,
            platform,
            cli_actor(),
            course=require_course(session, course) if course else None,
            session=require_session(session, session_name) if session_name else None,
            secret=secret,
            meeting_id=meeting_id,
        )
        record(session, cli_actor(), MeetingChanged(session_name, f"webhook {row.id} made", name))
    out_console.print(
        f"Webhook {row.id} ({platform}): POST to https://YOUR-PORTAL/api/v1/hooks/{platform}/"
        f"{token}\n"
        "The token is shown only now.",
        highlight=False,
        soft_wrap=True,
    )


@participants.command("hooks")
@click.option("--revoke", "revoke_id", type=int, help="Revoke the webhook with this number.")
@pass_app
def participants_hooks(app: App, revoke_id: int | None) -> None:
    """List the webhooks (their tokens are never shown again), or revoke one."""
    from rollcall.storage.hooks import list_hooks, maker_may_use, revoke

    with app.db.session() as session:
        if revoke_id is not None:
            revoke(session, revoke_id)
        table = Table("#", "name", "platform", "for", "made by", "last used", "state")
        for h in list_hooks(session):
            table.add_row(
                str(h.id),
                h.name,
                h.platform,
                (f"course {h.course_id}" if h.course_id else f"session {h.session_id}")
                + (f", meeting {h.meeting_id}" if h.meeting_id else ""),
                h.created_by,
                utc_minute(h.last_used_at),
                "revoked"
                if h.revoked_at
                else "works"
                if maker_may_use(session, h)
                else "stopped: its maker's account is disabled or off the course",
            )
    out_console.print(table)


COMMANDS = [participants]
