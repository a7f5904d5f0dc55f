"""CLI commands of the server side: capture agents, Celery workers, agent tokens."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from rollcall.analysis import MODES
from rollcall.analysis.entrance import MAX_FPS, MIN_FPS
from rollcall.commands.base import (
    POSITIVE_SECONDS,
    SESSION_SECONDS,
    App,
    cli_actor,
    err_console,
    line_needs_entrance,
    out_console,
    pass_app,
    utc_minute,
)
from rollcall.commands.web import token

STATUS_LOG_EVERY = 60.0  # seconds between status lines in a log (no terminal)


@click.command()
@click.option("--server", required=True, help="The rollcall server's address, https://host.")
@click.option(
    "--token",
    "token_value",
    envvar="ROLLCALL_AGENT_TOKEN",
    required=True,
    help="An agent token (rollcall token create --agent); or set ROLLCALL_AGENT_TOKEN.",
)
@click.option("--session", "session_name", required=True, help="The session to record.")
@click.option(
    "--source",
    required=True,
    help="screen, screen:N, camera:N, rtsp://... or a recording (uploaded as fast as the "
    "server takes it).",
)
@click.option("--course", "course_name", help="When creating the session: its course.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    help="When creating: seed of the random sampling times.",
)
@click.option(
    "--min-interval",
    type=POSITIVE_SECONDS,
    help="When creating: shortest gap (s, default 20).",
)
@click.option(
    "--max-interval",
    type=POSITIVE_SECONDS,
    help="When creating: longest gap (s, default 90).",
)
@click.option(
    "--verify-every",
    type=SESSION_SECONDS,
    help="When creating: re-verify every identity at least this often (s, default 300; the "
    "periodic check is most of a running session's cost on the workers).",
)
@click.option(
    "--leave-after",
    type=SESSION_SECONDS,
    help="When creating: unseen this long (s, default 180) is reported as having left.",
)
@click.option("--started-at", help="When creating: the lecture's start, ISO 8601 with its zone.")
@click.option(
    "--duration",
    type=POSITIVE_SECONDS,
    help="Stop after this many seconds of source time.",
)
@click.option(
    "--spool",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for frames the server has not acknowledged (default under ROLLCALL_HOME).",
)
@click.option("--reconnect-timeout", default=30.0, show_default=True, type=click.FloatRange(min=0))
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="When creating: meeting (default; a frame at each sampling time), classroom (a room's "
    "fixed camera, as `rollcall run --mode classroom`) or entrance (every frame at --fps, "
    "analysed on the server as `rollcall run --mode entrance` does). Joining, the session's own "
    "mode is used.",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=MIN_FPS, max=MAX_FPS),
    help="Entrance, when creating: frames sent a second (default 8); joining, the session's.",
)
@click.option(
    "--line",
    metavar="X1,Y1,X2,Y2",
    help="Entrance, when creating: count people crossing this line (pixels), as with `run`.",
)
@click.option(
    "--take-over",
    is_flag=True,
    help="Record the session even if another agent did lately (its computer died, and this "
    "one replaces it); without it, a session another agent is recording is refused.",
)
@pass_app
def agent(
    app: App,
    server: str,
    token_value: str,
    session_name: str,
    source: str,
    course_name: str | None,
    seed: int | None,
    min_interval: float | None,
    max_interval: float | None,
    verify_every: float | None,
    leave_after: float | None,
    started_at: str | None,
    duration: float | None,
    spool: Path | None,
    reconnect_timeout: float,
    mode: str | None,
    fps: float | None,
    line: str | None,
    take_over: bool,
) -> None:
    """Capture a session's samples where the video is and upload them to the server.

    The server says when samples are due; frames wait in a spool folder until the server has
    them, so a dropped connection loses nothing. With a recording as the source, its frames
    are sent on its own timeline as fast as the server takes them, and the agent exits once
    every frame is acknowledged. An entrance session gets every frame at its fps instead.
    """
    from rollcall.capture.agent import Agent, AgentOptions, AgentRefused, Spool
    from rollcall.vision.sources import open_source
    from rollcall.wallclock import parse_started_at

    begun = parse_started_at(started_at) if started_at else None
    options = AgentOptions(
        server=server,
        token=token_value,
        session=session_name,
        source=source,
        course=course_name,
        seed=seed,
        min_interval=min_interval,
        max_interval=max_interval,
        verify_every=verify_every,
        leave_after=leave_after,
        started_at=begun,
        duration=duration,
        mode=mode,
        fps=fps,
        line=line,
        take_over=take_over,
    )
    # (--fps without --mode may join an entrance made elsewhere: refused only on a meeting.)
    line_needs_entrance(mode, line, fps=fps if mode == "meeting" else None)
    if set(session_name.strip()) <= {"."}:  # its spool folder would be the one above
        raise click.UsageError(f"--session {session_name!r}: a session name cannot be only dots")
    if min_interval is not None and max_interval is not None and min_interval > max_interval:
        raise click.UsageError("--min-interval is longer than --max-interval")
    if not server.startswith(("http://", "https://")):
        raise click.UsageError(f"--server {server!r}: give the portal's address, http(s)://…")
    frames = open_source(source, reconnect_timeout=reconnect_timeout)
    if begun is None and not frames.live and frames.recorded_at is not None:
        options = AgentOptions(**{**options.__dict__, "started_at": frames.recorded_at})
    folder = spool or app.settings.home / "agent-spool" / session_name.replace("/", "_")
    stop = {"requested": False}

    def on_signal(_sig: int, _frame: object) -> None:
        stop["requested"] = True

    previous = signal.signal(signal.SIGTERM, on_signal)
    live = err_console.is_terminal
    # Under systemd or Docker there is no terminal to redraw: the status goes to the log, one
    # line when it changes (connected or not, notes) and at most once a minute otherwise.
    logged = {"at": 0.0, "state": None}

    printed: list[str] = []  # notes as printed (a camera's run can last all day)

    def report(status) -> None:  # noqa: ANN001
        if live:
            for note in status.notes[len(printed) :]:
                err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
                printed.append(note)
            err_console.print(status.line(session_name), end="\r", highlight=False)
            return
        state = (status.connected, len(status.notes))
        now = time.monotonic()
        if state != logged["state"] or now - logged["at"] >= STATUS_LOG_EVERY:
            logged["state"], logged["at"] = state, now
            err_console.print(
                f"{datetime.now():%Y-%m-%d %H:%M:%S} {status.line(session_name)}"
                + (f" · note: {status.notes[-1]}" if status.notes else ""),
                highlight=False,
                soft_wrap=True,
            )

    try:
        runner = Agent(
            options,
            frames,
            Spool(folder, options.max_spooled),
            report=report,
            should_stop=lambda: stop["requested"],
        )
        try:
            status = runner.run()
        except KeyboardInterrupt:
            status = runner.status
            stop["requested"] = True
        except AgentRefused:
            # (A revoked token, a session closed meanwhile.) Frames still in the spool are
            # not lost, but nothing else would say they are there.
            if waiting := len(runner.spool):
                err_console.print(
                    f"{waiting} frame(s) not yet sent wait in {folder}: run the agent again "
                    "when the server takes them (a new token), or delete the folder.",
                    highlight=False,
                    soft_wrap=True,
                )
            raise
    finally:
        frames.close()
        signal.signal(signal.SIGTERM, previous)
    if live:
        err_console.print()
    # At the end, each note not printed yet, or grown since (a run of missed sampling times
    # is one note whose count goes up).
    for i, note in enumerate(status.notes):
        if i >= len(printed) or printed[i] != note:
            err_console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    if stop["requested"]:
        err_console.print(
            f"Stopped: session {session_name} stays open on the server. Run the agent again "
            "to go on, or close it (its sheet in the portal, or `rollcall sessions close`).",
            highlight=False,
            soft_wrap=True,
        )
    ended = "stopped" if stop["requested"] else "source ended"
    out_console.print(
        f"Session {session_name}: {status.sent} frame(s) sent, {status.duplicates} already "
        f"there, {status.queued} waiting in {folder} ({ended}).",
        highlight=False,
    )


@click.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Pool processes, each with its own copy of the face networks (~0.5 GB).",
)
@click.option("--loglevel", default="info", show_default=True)
@pass_app
def worker(app: App, concurrency: int, loglevel: str) -> None:
    """A Celery worker analyzing uploaded frames (needs ROLLCALL_BROKER_URL, e.g. redis://)."""
    if not app.settings.broker_url:
        raise click.ClickException("set ROLLCALL_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    app.db  # noqa: B018 - migrate (and fail on a bad database URL) before forking
    from rollcall.workers.broker import QUEUE
    from rollcall.workers.celery_app import app as celery

    celery.conf.broker_url = app.settings.broker_url
    argv = [
        "worker",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        "--pool=prefork",
        "-O",
        "fair",
        f"--queues={QUEUE}",
        # Unique on a host: two workers started in the same second (systemd's
        # rollcall-worker@1 and @2) must not share a name.
        f"--hostname=rollcall-{os.getpid()}@%h",
    ]
    sys.exit(celery.worker_main(argv))


@token.command("agents")
@pass_app
def token_agents(app: App) -> None:
    """List capture agents' tokens (never the tokens themselves)."""
    from rollcall.commands.base import Table
    from rollcall.storage.agents import list_agent_tokens

    table = Table("id", "name", "user", "course", "created (UTC)", "last used", "revoked")
    with app.db.session() as session:
        for row, user, course in list_agent_tokens(session):
            table.add_row(
                str(row.id),
                row.name,
                user,
                course or "any it may see",
                utc_minute(row.created_at),
                utc_minute(row.last_used_at),
                utc_minute(row.revoked_at),
            )
    out_console.print(table)


@token.command("revoke-agent")
@click.argument("token_id", type=int)
@pass_app
def token_revoke_agent(app: App, token_id: int) -> None:
    """Revoke agent token TOKEN_ID at once (see `rollcall token agents`)."""
    from rollcall.storage.agents import revoke
    from rollcall.storage.audit import AccountChanged, record

    with app.db.session() as session:
        row = revoke(session, token_id)
        record(session, cli_actor(), AccountChanged(row.name, f"agent token #{row.id} revoked"))
    out_console.print(f"Agent token #{token_id} ({row.name}) revoked.", highlight=False)


COMMANDS = [agent, worker]
