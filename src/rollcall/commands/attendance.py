"""CLI commands for courses, running sessions, reports and exports."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from rollcall.analysis import MODES
from rollcall.analysis.entrance import MAX_FPS, MIN_FPS
from rollcall.commands.base import (
    POSITIVE_SECONDS,
    SESSION_SECONDS,
    App,
    Table,
    ask_consent,
    cannot_write,
    cli_actor,
    confirm_or_refuse,
    consent_options,
    err_console,
    line_needs_entrance,
    markup,
    out_console,
    output_folder_exists,
    pass_app,
)


@click.group()
def course() -> None:
    """Courses: who is expected, and the schedule used for late / left early."""


@course.command("add")
@click.argument("name")
@click.option("--people", "people", multiple=True, help="An enrolled person (repeatable).")
@click.option(
    "--instructor",
    "instructors",
    multiple=True,
    help="A staff account (role instructor) who teaches it: sees its sessions and may make "
    "its agent tokens, kiosk links and webhooks (repeatable).",
)
@click.option(
    "--from-dir",
    "from_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Enroll every sub-folder of DIR as a person and add them all to the course.",
)
@click.option("--starts", help="Scheduled start, HH:MM on the course's clock (--timezone).")
@click.option("--ends", help="Scheduled end, HH:MM on the course's clock (--timezone).")
@click.option("--grace", type=click.IntRange(0, 240), help="Minutes of slack (default 5).")
@click.option(
    "--timezone",
    metavar="ZONE",
    help="IANA time zone of the schedule, e.g. Europe/Paris (default: ROLLCALL_TIMEZONE, "
    "else this machine's).",
)
@consent_options
@pass_app
def course_add(
    app: App,
    name: str,
    people: tuple[str, ...],
    instructors: tuple[str, ...],
    from_dir: Path | None,
    starts: str | None,
    ends: str | None,
    grace: int | None,
    timezone: str | None,
    consent_method: str | None,
    consent_by: str | None,
    consent_note: str,
) -> None:
    """Create course NAME (or add people to it).

    Enrolling with --from-dir needs the people's consent (--consent), one statement for all.
    """
    from rollcall.commands.people import enroll_jobs, folder_jobs
    from rollcall.storage.sessions import course_people, upsert_course

    names = list(people)
    if timezone is not None:
        from rollcall.wallclock import check_zone

        check_zone(timezone, "--timezone")  # before anyone is enrolled
    if from_dir is not None:
        # As `enroll --from-dir`: a line per person, one folder's error does not stop the
        # others, and the course is still made with those enrolled.
        jobs = folder_jobs(app, from_dir)
        consent = ask_consent(
            app, [p for p, f in jobs if f], consent_method, consent_by, consent_note
        )
        names += enroll_jobs(app, jobs, consent, each_folder=True)
    from sqlalchemy import select

    from rollcall.storage.accounts import require_user, set_instructor
    from rollcall.storage.audit import CourseChanged, record
    from rollcall.storage.models import Course
    from rollcall.storage.sessions import schedule_text

    with app.db.session() as session:
        existing = session.scalar(select(Course).where(Course.name == name))
        before_roster = {p.name for p in course_people(session, existing)} if existing else set()
        before = schedule_text(existing) if existing else ""
        row = upsert_course(session, name, names, starts, ends, grace, timezone)
        roster = [p.name for p in course_people(session, row)]
        # The same audit entries as the portal's course forms.
        actor = cli_actor()
        if existing is None:
            record(session, actor, CourseChanged(name, "created", "", name))
        added = [p for p in roster if p not in before_roster]
        if added:
            record(session, actor, CourseChanged(name, "roster", "", f"add {', '.join(added)}"))
        if existing is not None and schedule_text(row) != before:
            record(session, actor, CourseChanged(name, "schedule", before, schedule_text(row)))
        for user_name in instructors:
            user = require_user(session, user_name)
            if user.role != "instructor":
                raise click.ClickException(
                    f"{user_name} is {user.role}, not an instructor (admins see every course)"
                )
            set_instructor(session, row, user, True)
            record(session, actor, CourseChanged(name, "instructors", "", f"add {user_name}"))
    out_console.print(f"Course {name}: {len(roster)} on the roster.", highlight=False)
    if app.failures:
        raise SystemExit(1)


@course.command("delete")
@click.argument("name")
@click.option(
    "--with-sessions",
    is_flag=True,
    help="Also delete its sessions with their marks and evidence (default: keep them).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@pass_app
def course_delete(app: App, name: str, with_sessions: bool, yes: bool) -> None:
    """Delete course NAME with its roster, instructors, term and alert settings."""
    from rollcall.attendance.lifecycle import delete_course
    from rollcall.storage.sessions import require_course

    with app.db.session() as session:
        require_course(session, name)
    what = " and all its sessions" if with_sessions else ""
    confirm_or_refuse(
        yes,
        f"Delete course {name}{what}?",
        f"refusing to delete course {name!r} without confirmation",
    )
    deleted, kept = delete_course(app.db, app.settings, name, cli_actor(), with_sessions)
    out_console.print(
        f"Deleted course {name}: {deleted} session(s) deleted, {kept} kept without a course.",
        highlight=False,
    )


@course.command("list")
@pass_app
def course_list(app: App) -> None:
    """List courses with roster sizes and schedules."""
    from rollcall.storage.sessions import list_courses
    from rollcall.wallclock import zone_info, zone_name

    default = zone_name(zone_info(app.settings.timezone))
    table = Table("course", "people", "starts", "ends", "grace (min)", "time zone")
    with app.db.session() as session:
        for c, n in list_courses(session):
            table.add_row(
                c.name,
                str(n),
                c.start_time or "",
                c.end_time or "",
                str(c.grace_minutes),
                c.timezone or markup(f"[dim]{default}[/dim]"),
            )
    out_console.print(table)


@click.command()
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
    type=SESSION_SECONDS,
    default=300.0,
    show_default=True,
    help="Re-verify every identity at least this often (seconds).",
)
@click.option(
    "--leave-after",
    type=SESSION_SECONDS,
    default=180.0,
    show_default=True,
    help="Unseen this long (seconds) is reported as having left (presence itself ends at "
    "the last sample that saw them).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    help="Seed for the random sampling times (reproducible).",
)
@click.option(
    "--duration",
    type=POSITIVE_SECONDS,
    help="Stop after this many seconds.",
)
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
@click.option(
    "--started-at",
    "started_at",
    metavar="TIME",
    help="When the session really began, ISO 8601 with its zone (2024-05-06T09:00+02:00). "
    "Default: a recording's creation time, else its file's modification time less its "
    "duration; now for live sources.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted session.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="meeting (default): a frame at each random sampling time, read as a meeting's gallery; "
    "classroom: a room's fixed camera, a frame at each sampling time, faces that never move "
    "(posters, photos) neither counted nor named, a face named once seen to move; entrance: "
    "every frame at --fps, people tracked and marked as they walk past. A resumed session "
    "keeps the mode it was started with.",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=MIN_FPS, max=MAX_FPS),
    help="Frames analysed a second in entrance mode (default 8; a resumed session keeps its "
    "own unless given).",
)
@click.option(
    "--line",
    metavar="X1,Y1,X2,Y2",
    help="Entrance mode: count people crossing this line (pixels); crossing to its right-hand "
    "side, walking from (X1,Y1) to (X2,Y2), is in. Head counts are then the people inside.",
)
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
    started_at: str | None,
    resume: bool,
    mode: str | None,
    fps: float | None,
    line: str | None,
    as_json: bool,
) -> None:
    """Take attendance for a session from a recording, the screen, a camera or a stream.

    Ctrl-C or SIGTERM stops the run and leaves the session interrupted: continue it with
    --resume, or end it with `rollcall sessions close`. The end of a recording, --duration
    or a source lost for good closes it.
    """
    from rollcall.analysis.entrance.occupancy import line_text
    from rollcall.analysis.priority import yield_to_interactive
    from rollcall.attendance.lifecycle import DELETED_MEANWHILE
    from rollcall.attendance.runner import RunOptions, run_session
    from rollcall.wallclock import parse_started_at

    mode, fps, parsed_line = _how_watched(app, session_name, resume, mode, fps, line)
    if mode == "entrance" and source and Path(source).expanduser().is_dir() and folder_step > 1:
        # Snapshots a minute apart (the default, for meetings) made one track of faces minutes
        # apart, took live people for pictures and missed others.
        raise click.UsageError(
            f"--folder-step {folder_step:g}: an entrance follows people from frame to frame; "
            "give the seconds between the folder's snapshots, a second or less"
        )
    options = RunOptions(
        started_at=parse_started_at(started_at) if started_at else None,
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
        mode=mode,
        entrance_fps=fps if mode == "entrance" else None,
        entrance_line=line_text(parsed_line),
        given=_given(
            "course_name", "min_interval", "max_interval", "verify_every", "leave_after", "seed"
        ),
    )

    terminated = []

    def on_term(_sig: int, _frame: object) -> None:
        terminated.append(True)
        raise KeyboardInterrupt

    # SIGTERM (systemd, docker stop) stops the run at once, like Ctrl-C: waiting for the next
    # sample of a live source could outlast the grace period before SIGKILL.
    previous = signal.signal(signal.SIGTERM, on_term)
    # Before app.engine first loads the networks: their threads inherit the priority.
    yield_to_interactive(app.settings.analysis_nice)
    try:
        with session_progress(quiet=as_json) as bar:
            task = bar.add_task(session_name, total=None)

            def progress(t: float, total: float | None) -> None:
                bar.update(task, completed=t, total=total or duration)

            if mode == "entrance":
                from rollcall.attendance.entrance import EntranceOptions, run_entrance

                clock = _session_clock(app, session_name)

                def announce(t: float, words: str) -> None:
                    # Above the progress bar, as it happens: at a live camera the run shows
                    # who was marked without waiting for its end.
                    if not as_json:
                        bar.console.print(f"{clock(t)}  {words}", highlight=False)

                stats = run_entrance(
                    app.db,
                    app.settings,
                    app.engine,
                    options,
                    EntranceOptions(fps=fps, line=parsed_line),
                    progress,
                    announce=announce,
                )
            else:
                stats = run_session(app.db, app.settings, app.engine, options, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if stats.stopped_by == DELETED_MEANWHILE:
        err_console.print(f"Session {session_name} was deleted; nothing more was recorded.")
        return
    if stats.started_at is not None:
        err_console.print(
            f"Session {session_name} started at {_when(app, session_name)} "
            f"(from {stats.started_from}).",
            highlight=False,
            soft_wrap=True,
        )
    err_console.print(
        f"Session {session_name}: {stats.samples} head counts, {stats.verifications} "
        f"verifications, {stats.source_seconds:.0f} s of source in {stats.wall:.1f} s "
        f"({stats.stopped_by})"
        + (
            f"; {stats.missed} sampling time(s) had passed while nothing ran: missed."
            if stats.missed
            else "."
        ),
        highlight=False,
        soft_wrap=True,
    )
    if stats.stopped_by in ("interrupted", "stopped"):
        err_console.print(
            f"Interrupted: continue with `rollcall run --session {session_name} --resume`, "
            f"or end it with `rollcall sessions close {session_name}`.",
            highlight=False,
            soft_wrap=True,
        )
    _print_report(app, session_name, as_json)
    if stats.stopped_by == "interrupted":
        # As shells report a process stopped by a signal (128 + its number): a script can
        # tell a run stopped part-way from one that finished.
        raise SystemExit(128 + (signal.SIGTERM if terminated else signal.SIGINT))


def _given(*params: str) -> frozenset[str]:
    """Which of these options the command line gave (not their defaults), as RunOptions
    names them."""
    ctx = click.get_current_context()
    return frozenset(
        p.removesuffix("_name")
        for p in params
        if ctx.get_parameter_source(p) is click.core.ParameterSource.COMMANDLINE
    )


def _how_watched(
    app: App, session_name: str, resume: bool, mode: str | None, fps: float | None, line: str | None
) -> tuple[str, float, tuple[float, float, float, float] | None]:
    """The mode, fps and counting line of this run: a resumed session's own, which an explicit
    --mode or --line may not contradict (a switch halfway would mark or count people twice)."""
    from rollcall.analysis.entrance.occupancy import line_text, parse_line
    from rollcall.attendance.runner import stored_mode

    parsed = parse_line(line) if line else None
    stored = stored_mode(app.db, session_name) if resume else None
    if stored is not None:
        if mode is not None and mode != stored.mode:
            raise click.ClickException(
                f"session {session_name!r} was started in {stored.mode} mode: resume it "
                f"without --mode (or with --mode {stored.mode})"
            )
        mode = stored.mode
        if parsed is not None and line_text(parsed) != stored.line:
            was = f"--line {stored.line}" if stored.line else "no --line"
            raise click.ClickException(
                f"session {session_name!r} was started with {was}: resume it without --line"
            )
        if stored.line:
            parsed = parse_line(stored.line)
        fps = fps or stored.fps
    mode = mode or "meeting"
    line_needs_entrance(mode, parsed is not None, fps=fps if stored is None else None)
    return mode, fps or 8.0, parsed


def _session_clock(app: App, session_name: str) -> Callable[[float], str]:
    """Seconds on a session's timeline -> its clock time (HH:MM:SS in its zone); the session
    is looked up at the first call (a new one exists only once the run has made it)."""
    from rollcall.attendance.report import row_zone
    from rollcall.storage.sessions import require_session
    from rollcall.wallclock import clock_at

    known: list[tuple[datetime, tzinfo]] = []

    def clock(t: float) -> str:
        if not known:
            try:
                with app.db.session() as session:
                    row = require_session(session, session_name)
                    zone = row_zone(row, app.settings.timezone)
                    known.append((row.started_at, zone))
            except Exception:  # noqa: BLE001 - a line on the terminal must never stop a run
                return f"t={t:.1f} s"
        started, zone = known[0]
        return _clock(clock_at(started, t, zone))

    return clock


def _when(app: App, session_name: str) -> str:
    from rollcall.attendance.report import row_zone
    from rollcall.storage.sessions import require_session
    from rollcall.wallclock import in_zone

    with app.db.session() as session:
        row = require_session(session, session_name)
        zone = row_zone(row, app.settings.timezone)
        return in_zone(row.started_at, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


class SourceSeconds(ProgressColumn):
    """Seconds of the source done, of its total when known: a live camera (and a recording
    before its length is read) has none."""

    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text(f"{task.completed:.0f} s")
        return Text(f"{task.completed:.0f}/{task.total:.0f} s")


def session_progress(quiet: bool) -> Progress:
    """The progress bar of a session on the source's timeline (seconds done / total)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        SourceSeconds(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=quiet or not err_console.is_terminal,
    )


def _print_report(app: App, session_name: str, as_json: bool) -> None:
    from rollcall.attendance.report import build_report
    from rollcall.attendance.status import exported_status
    from rollcall.storage.sessions import require_session

    with app.db.session() as session:
        row = require_session(session, session_name)
        report = build_report(session, row, app.settings.timezone)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    counts = report.head_counts
    entrance = report.entrance
    how = ""
    if entrance is not None:
        line = f", counting line {entrance.line}" if entrance.line else ""
        how = f"entrance at {entrance.fps or 8:g} fps{line}, "
    out_console.print(
        f"[bold]{report.session}[/bold] ({report.state}) — started "
        f"{report.started_local:%Y-%m-%d %H:%M:%S %Z} ({report.timezone}), {how}{len(counts)} "
        f"head counts, max {max((h.count for h in counts), default=0)}",
        highlight=False,
    )
    # An entrance marks people as they pass and keeps no time present: no minutes column.
    columns = ["person", "status", "first seen", "last seen", "minutes", "confidence"]
    if entrance is not None:
        columns.remove("minutes")
    table = Table(*columns)
    colours = {
        "present": "green",
        "late": "yellow",
        "left_early": "yellow",
        "absent": "red",
    }
    for a in report.attendance:
        cells = [
            a.person,
            markup(
                f"[{colours.get(a.status, 'white')}]{exported_status(a.status, report.state)}[/]"
                + ("*" if a.edited else "")
            ),
            _clock(report.clock(a.first_seen)),
            _clock(report.clock(a.last_seen)),
            f"{a.minutes_present:.1f}",
            f"{a.confidence:.2f}" if a.first_seen is not None else "",
        ]
        if entrance is not None:
            del cells[4]
        table.add_row(*cells)
    out_console.print(table)
    if any(a.edited for a in report.attendance):
        out_console.print(
            "*: set by staff in the portal, with the reason in its audit trail (the mark's page).",
            highlight=False,
        )
    if entrance is not None:
        out_console.print(f"Also seen: {entrance.words()}.", highlight=False, soft_wrap=True)
    if report.meeting is not None:
        meeting = Table("account", "person", "meeting", "why")
        for e in report.meeting.entries:
            flag = "[red]" if e.needs_review else ""
            meeting.add_row(
                e.name or "—",
                e.person or "—",
                markup(f"{flag}{e.status}" + ("[/]" if flag else "")),
                e.detail,
            )
        out_console.print(meeting)
        if report.meeting.to_review:
            out_console.print(
                f"{len(report.meeting.to_review)} case(s) for staff to review (portal: Meeting "
                "review); no mark was changed.",
                highlight=False,
            )


def _clock(when: datetime | None) -> str:
    """A clock time in the session's zone; the date is in the report's heading."""
    return "" if when is None else f"{when:%H:%M:%S}"


@click.command()
@click.option("--session", "session_name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def report(app: App, session_name: str, as_json: bool) -> None:
    """A session's attendance and head-count timeline."""
    _print_report(app, session_name, as_json)


@click.command()
@click.option("--session", "session_name", required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@pass_app
def export(app: App, session_name: str, fmt: str, output: Path) -> None:
    """Export a session's attendance as CSV or XLSX."""
    from rollcall.attendance.export import EXPORTERS, export_details
    from rollcall.attendance.report import build_report
    from rollcall.storage.sessions import require_session

    output_folder_exists(output)
    with app.db.session() as session:
        row = require_session(session, session_name)
        report_ = build_report(session, row, app.settings.timezone)
        details = export_details(session, report_)
    try:
        EXPORTERS[fmt](report_, output, details)
    except OSError as exc:
        raise cannot_write(output, exc) from None
    out_console.print(f"Wrote {output} ({len(report_.attendance)} people).", highlight=False)


COMMANDS = [course, run, report, export]
