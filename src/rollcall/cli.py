"""The `rollcall` command line: the group and its options; commands live in rollcall.commands."""

from __future__ import annotations

import click

from rollcall.commands import (
    alerts,
    attendance,
    cluster,
    db,
    demo,
    participants,
    people,
    sessions,
    web,
)
from rollcall.commands.base import App, RollcallGroup
from rollcall.config import Settings
from rollcall.errors import RollcallError


@click.group(cls=RollcallGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--detector",
    type=click.Choice(["yunet", "haar", "dlib"]),
    help="Face detector (default yunet; haar is the seed's cascade; dlib needs the dlib extra).",
)
@click.option(
    "--embedder",
    type=click.Choice(["sface+dlib", "sface", "dlib"]),
    help="Face embedder (default sface+dlib: SFace and dlib's ResNet fused; or either alone).",
)
@click.option("--threads", type=click.IntRange(0, 64), help="CPU threads for the networks.")
@click.version_option(package_name="rollcall")
@click.pass_context
def cli(ctx: click.Context, detector: str | None, embedder: str | None, threads: int | None):
    """rollcall: attendance and head counts with face recognition.

    Data lives under ROLLCALL_HOME (the database, unless ROLLCALL_DATABASE_URL points
    elsewhere, and evidence crops).
    """
    try:
        settings = Settings.from_env(detector=detector, embedder=embedder, threads=threads)
    except RollcallError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.obj = App(settings)


for module in (people, attendance, participants, sessions, alerts, cluster, db, demo, web):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    cli(prog_name="rollcall")
