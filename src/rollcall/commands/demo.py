"""`rollcall demo`: the whole product on a generated meeting made from real photos."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
from rich.table import Table

from rollcall.commands.attendance import _print_report, session_progress
from rollcall.commands.base import App, err_console, out_console, pass_app


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if w < 320 or h < 180 or w % 2 or h % 2:
        raise click.BadParameter("width and height must be even and at least 320x180")
    return w, h


@click.command()
@click.option(
    "--photos",
    "photos_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder with one sub-folder of photos per person (the folder name is the name).",
)
@click.option("--people", default=12, show_default=True, type=click.IntRange(2, 49))
@click.option(
    "--strangers",
    default=3,
    show_default=True,
    type=click.IntRange(0, 10),
    help="Participants who are never enrolled.",
)
@click.option("--minutes", default=10.0, show_default=True, type=click.FloatRange(0.5, 120))
@click.option("--size", "size_text", default="1280x720", show_default=True, help="WIDTHxHEIGHT.")
@click.option("--fps", default=2.0, show_default=True, type=click.FloatRange(0.5, 30))
@click.option("--seed", default=1, show_default=True, type=int, help="Seeds the whole meeting.")
@click.option("--min-interval", default=10.0, show_default=True, help="Seconds, shortest gap.")
@click.option("--max-interval", default=30.0, show_default=True, help="Seconds, longest gap.")
@click.option(
    "--keep-video/--no-keep-video",
    default=True,
    show_default=True,
    help="Keep the recording (and its script) in ROLLCALL_HOME/demo/ to watch later.",
)
@click.option(
    "--hard",
    is_flag=True,
    help="Script in the hard situations: tiles reflowing as people leave, a stranger sliding "
    "into a departed person's tile, someone else at an enrolled person's camera, two tiles "
    "swapping, a poster of a face behind a participant, speaker view.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report and the score as JSON.")
@pass_app
def demo(
    app: App,
    photos_dir: Path,
    people: int,
    strangers: int,
    minutes: float,
    size_text: str,
    fps: float,
    seed: int,
    min_interval: float,
    max_interval: float,
    keep_video: bool,
    hard: bool,
    as_json: bool,
) -> None:
    """Take attendance of a generated meeting made from PHOTOS and score it against the truth.

    Picks participants and a few strangers, enrolls each participant from photos other than
    the one shown in the video, records a gallery view in which people join, leave, rejoin and
    turn cameras off, runs it like `rollcall run`, then prints the report and a scorecard.
    """
    from rollcall.demo import DemoConfig, run_demo, template_count
    from rollcall.synth import load_people
    from rollcall.synth.scenarios import SCENARIOS, describe

    if not 0 < min_interval <= max_interval:
        raise click.BadParameter("need 0 < --min-interval <= --max-interval")
    config = DemoConfig(
        people=people,
        strangers=strangers,
        minutes=minutes,
        size=_size(size_text),
        fps=fps,
        seed=seed,
        min_interval=min_interval,
        max_interval=max_interval,
        scenarios=SCENARIOS if hard else (),
        extras=1 if hard else 0,
    )
    folder = load_people(photos_dir)
    if len(folder) < people + 1:
        raise click.ClickException(
            f"{photos_dir} has photos of {len(folder)} people; the demo needs more than --people "
            f"({people}): one sub-folder of photos per person, at least two photos each"
        )
    say = (lambda _m: None) if as_json else (lambda m: err_console.print(m, highlight=False))
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        say(f"[yellow]note:[/yellow] {message}")

    home = app.settings.ensure_home()
    scratch = None if keep_video else tempfile.TemporaryDirectory(prefix="rollcall-demo-")
    video_dir = home / "demo" if scratch is None else Path(scratch.name)
    try:
        with session_progress(quiet=as_json) as bar:
            task = bar.add_task("attendance", total=config.minutes * 60, visible=False)

            def progress(t: float, total: float | None) -> None:
                bar.update(task, completed=t, total=total or config.minutes * 60, visible=True)

            run = run_demo(
                app.db,
                app.settings,
                app.engine,
                folder,
                config,
                video_dir,
                note=note,
                stage=lambda m: say(f"[bold]{m}…[/bold]"),
                progress=progress,
            )
    finally:
        if scratch is not None:
            scratch.cleanup()
    if as_json:
        payload = {
            "report": run.report.to_json(),
            "score": run.score.to_json(),
            "roster": [p.name for p in run.cast.roster],
            "strangers": [p.name for p in run.cast.strangers],
            "situations": describe(run.script),
            "video": str(run.recording.path) if keep_video else None,
            "notes": notes,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    roster = [p.name for p in run.cast.roster]
    templates = template_count(app.db, roster, app.engine.embedder.name)
    stats = run.stats
    say(
        f"Enrolled {len(roster)} people ({templates} templates); strangers: "
        f"{', '.join(p.name for p in run.cast.strangers) or 'none'}; scripted absentees: "
        f"{', '.join(run.script.absent) or 'none'}."
    )
    for situation in describe(run.script):
        say(f"Scripted: {situation}.")
    say(
        f"Session {run.session}: {stats.samples} head counts, {stats.verifications} "
        f"verifications, {stats.source_seconds:.0f} s of video in {stats.wall:.1f} s."
    )
    _print_report(app, run.session, as_json=False)
    _print_scorecard(run)
    if keep_video:
        truth = run.recording.path.with_suffix(".json")
        out_console.print(
            f"Video: {run.recording.path} (script and photos: {truth})",
            highlight=False,
            soft_wrap=True,
        )


def _print_scorecard(run) -> None:  # noqa: ANN001
    score = run.score
    a = score.attendance
    absent_ok = len(score.absentees) - len(score.wrongly_present_absentees)
    median, worst = a.median_first_seen_error, a.max_first_seen_error
    accuracy = score.head_count_accuracy
    table = Table("scorecard (vs the script)", "result", "target", title_justify="left")

    def row(label: str, value: str, target: str, good: bool) -> None:
        table.add_row(label, f"[{'green' if good else 'red'}]{value}[/]", target)

    names = ", ".join(a.false_present)
    row("false presents", f"{len(a.false_present)} {names}".strip(), "0", not a.false_present)
    names = ", ".join(a.missed)
    row(
        f"missed (visible >= {score.min_visible_s:g} s)",
        f"{len(a.missed)} {names}".strip(),
        "0",
        not a.missed,
    )
    row(
        "absentees correctly absent",
        f"{absent_ok}/{len(score.absentees)}",
        "all",
        not score.wrongly_present_absentees,
    )
    interval = score.median_interval or 0.0
    row(
        "first-seen error median / max",
        "n/a" if median is None else f"{median:+.1f} s / {worst:+.1f} s",
        f"<= {interval:.0f} s (median gap)",
        median is None or abs(median) <= max(interval, 1.0),
    )
    row(
        "head counts equal to the truth",
        "n/a" if accuracy is None else f"{score.head_counts_right}/{len(score.head_counts)}",
        ">= 98%",
        accuracy is None or accuracy >= 0.98,
    )
    samples = score.samples
    wrong = samples.wrong_names
    row(
        "faces named wrongly, sample by sample",
        f"{len(wrong)} of {samples.named_faces}",
        "0",
        not wrong,
    )
    credited = samples.credited_absent_s
    row("seconds credited while not on screen", f"{credited:.0f} s", "0", credited == 0)
    row("speed", f"{score.speed:.0f}x real time", "> 1x", score.speed > 1)
    out_console.print(table)


COMMANDS = [demo]
