"""CLI commands for courses, running sessions, reports and exports."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rollcall.cli import (
    App,
    ask_consent,
    cannot_write,
    cli,
    consent_options,
    err_console,
    out_console,
    output_folder_exists,
    pass_app,
)


@cli.group()
def course() -> None:
    """Courses: who is expected, and the schedule used for late / left early."""


@course.command("add")
@click.argument("name")
@click.option("--people", "people", multiple=True, help="An enrolled person (repeatable).")
@click.option(
    "--from-dir",
    "from_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Enroll every sub-folder of DIR as a person and add them all to the course.",
)
@click.option("--starts", help="Scheduled start, local time HH:MM.")
@click.option("--ends", help="Scheduled end, local time HH:MM.")
@click.option("--grace", type=click.IntRange(0, 240), help="Minutes of slack (default 5).")
@consent_options
@pass_app
def course_add(
    app: App,
    name: str,
    people: tuple[str, ...],
    from_dir: Path | None,
    starts: str | None,
    ends: str | None,
    grace: int | None,
    consent_method: str | None,
    consent_by: str | None,
    consent_note: str,
) -> None:
    """Create course NAME (or add people to it).

    Enrolling with --from-dir needs the people's consent (--consent), one statement for all.
    """
    from rollcall.enrollment import enroll_photos, photos_in
    from rollcall.storage.sessions import course_people, upsert_course

    names = list(people)
    if from_dir is not None:
        folders = sorted(d for d in from_dir.iterdir() if d.is_dir())
        with_photos = [d.name for d in folders if photos_in(d)]
        consent = ask_consent(app, with_photos, consent_method, consent_by, consent_note)
        for folder in folders:
            result = enroll_photos(
                app.db, app.engine, folder.name, photos_in(folder), consent=consent
            )
            for label, reason in result.refused:
                app.fail(f"{label}: refused: {reason}")
            if result.accepted or result.duplicates:
                names.append(folder.name)
    with app.db.session() as session:
        row = upsert_course(session, name, names, starts, ends, grace)
        roster = [p.name for p in course_people(session, row)]
    out_console.print(f"Course {name}: {len(roster)} on the roster.", highlight=False)
    if app.failures:
        raise SystemExit(1)


@course.command("list")
@pass_app
def course_list(app: App) -> None:
    """List courses with roster sizes and schedules."""
    from rollcall.storage.sessions import list_courses

    table = Table("course", "people", "starts", "ends", "grace (min)")
    with app.db.session() as session:
        for c, n in list_courses(session):
            table.add_row(
                c.name, str(n), c.start_time or "", c.end_time or "", str(c.grace_minutes)
            )
    out_console.print(table)


@cli.command()
@click.option("--session", "session_name", required=True, help="Session name (unique).")
@click.option(
    "--source",
    help="A video file, an image folder, screen, screen:N, screen:X,Y,W,H, camera:N or a URL.",
)
@click.option("--course", "course_name", help="Expected people (default: everyone enrolled).")
@click.option("--min-interval", default=20.0, show_default=True, help="Seconds, shortest gap.")
@click.option("--max-interval", default=90.0, show_default=True, help="Seconds, longest gap.")
@click.option(
    "--verify-every",
    default=300.0,
    show_default=True,
    help="Re-verify every identity at least this often (seconds).",
)
@click.option(
    "--leave-after",
    default=180.0,
    show_default=True,
    help="Unseen this long (seconds) closes a presence interval.",
)
@click.option("--seed", type=int, help="Seed for the random sampling times (reproducible).")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option(
    "--folder-step",
    default=60.0,
    show_default=True,
    help="Seconds between snapshots when the source is a folder.",
)
@click.option(
    "--reconnect-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to keep reconnecting a camera or stream that stopped before the session "
    "ends with the source lost.",
)
@click.option(
    "--realtime",
    is_flag=True,
    help="Play a recording at its own pace, as if live (replays, rehearsals, load tests).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted session.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON at the end.")
@pass_app
def run(
    app: App,
    session_name: str,
    source: str | None,
    course_name: str | None,
    min_interval: float,
    max_interval: float,
    verify_every: float,
    leave_after: float,
    seed: int | None,
    duration: float | None,
    folder_step: float,
    reconnect_timeout: float,
    realtime: bool,
    resume: bool,
    as_json: bool,
) -> None:
    """Take attendance for a session from a recording, the screen, a camera or a stream."""
    from rollcall.attendance.runner import RunOptions, run_session

    options = RunOptions(
        session=session_name,
        source=source,
        course=course_name,
        min_interval=min_interval,
        max_interval=max_interval,
        verify_every=verify_every,
        leave_after=leave_after,
        seed=seed,
        duration=duration,
        resume=resume,
        folder_step=folder_step,
        reconnect_timeout=reconnect_timeout,
        realtime=realtime,
    )
    stop = {"requested": False}

    def on_term(_sig: int, _frame: object) -> None:
        stop["requested"] = True

    # SIGTERM (systemd, docker stop) closes the session cleanly like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with session_progress(quiet=as_json) as bar:
            task = bar.add_task(session_name, total=None)

            def progress(t: float, total: float | None) -> None:
                bar.update(task, completed=t, total=total or duration)

            stats = run_session(
                app.db,
                app.settings,
                app.engine,
                options,
                progress,
                should_stop=lambda: stop["requested"],
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    err_console.print(
        f"Session {session_name}: {stats.samples} head counts, {stats.verifications} "
        f"verifications, {stats.source_seconds:.0f} s of source in {stats.wall:.1f} s "
        f"({stats.stopped_by}).",
        highlight=False,
    )
    _print_report(app, session_name, as_json)


def session_progress(quiet: bool) -> Progress:
    """The progress bar of a session on the source's timeline (seconds done / total)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )


def _print_report(app: App, session_name: str, as_json: bool) -> None:
    from rollcall.attendance.report import build_report
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        report = build_report(session, require_session(session, session_name))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    counts = report.head_counts
    out_console.print(
        f"[bold]{report.session}[/bold] ({report.state}) — {len(counts)} head counts, "
        f"max {max((h.count for h in counts), default=0)}",
        highlight=False,
    )
    table = Table("person", "status", "first seen", "last seen", "minutes", "confidence")
    colours = {"present": "green", "late": "yellow", "left_early": "yellow", "absent": "red"}
    for a in report.attendance:
        table.add_row(
            a.person,
            f"[{colours.get(a.status, 'white')}]{a.status}[/]",
            _clock(a.first_seen),
            _clock(a.last_seen),
            f"{a.minutes_present:.1f}",
            f"{a.confidence:.2f}" if a.first_seen is not None else "",
        )
    out_console.print(table)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


@cli.command()
@click.option("--session", "session_name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def report(app: App, session_name: str, as_json: bool) -> None:
    """A session's attendance and head-count timeline."""
    _print_report(app, session_name, as_json)


@cli.command()
@click.option("--session", "session_name", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_app
def export(app: App, session_name: str, fmt: str, output: Path) -> None:
    """Export a session's attendance as CSV or XLSX."""
    from rollcall.attendance.export import EXPORTERS
    from rollcall.attendance.report import build_report
    from rollcall.storage.sessions import require_session

    output_folder_exists(output)
    with app.db.session() as session:
        report_ = build_report(session, require_session(session, session_name))
    try:
        EXPORTERS[fmt](report_, output)
    except OSError as exc:
        raise cannot_write(output, exc) from None
    out_console.print(f"Wrote {output} ({len(report_.attendance)} people).", highlight=False)


@cli.command()
@pass_app
def sessions(app: App) -> None:
    """List sessions, newest first."""
    from rollcall.attendance.report import as_utc
    from rollcall.storage.sessions import list_sessions

    table = Table("session", "state", "started (UTC)", "source")
    with app.db.session() as session:
        for row in list_sessions(session):
            table.add_row(
                row.name, row.state, as_utc(row.started_at).strftime("%Y-%m-%d %H:%M"), row.source
            )
    out_console.print(table)
