"""What every command of the command line shares: the App, consoles, errors, consent options."""

from __future__ import annotations

import getpass
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from rollcall.config import Settings
from rollcall.errors import RollcallError

if TYPE_CHECKING:
    from rollcall.enrollment import Consent


class Table(RichTable):
    """A rich table whose plain-text cells are shown as written: an alert's subject
    "[rollcall] …" lost its "[rollcall]", read as markup, and so would a name in brackets.
    Cells meant to be styled are given as rich Text (markup())."""

    def add_row(self, *cells: object, **kwargs: object) -> None:  # type: ignore[override]
        super().add_row(*(escape(c) if isinstance(c, str) else c for c in cells), **kwargs)


def markup(text: str) -> Text:
    """A table cell styled with rich markup (written by rollcall, never user text alone)."""
    return Text.from_markup(text)


err_console = Console(stderr=True)
out_console = Console()


@dataclass
class App:
    """What every command needs, built lazily so `rollcall --help` stays instant."""

    settings: Settings
    _db: object | None = None
    _engine: object | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def db(self):  # noqa: ANN201
        if self._db is None:
            from rollcall.storage.db import Database

            self._db = Database(self.settings)
        return self._db

    @property
    def engine(self):  # noqa: ANN201
        if self._engine is None:
            from rollcall.vision.engine import EngineOptions, FaceEngine

            s = self.settings
            self._engine = FaceEngine(EngineOptions(s.detector, s.embedder, s.threads))
        return self._engine

    def fail(self, message: str) -> None:
        """A per-file error: one line on stderr, and the command will exit 1 at the end."""
        self.failures.append(message)
        # (Escaped: a file named "[draft] class.jpg" is no markup.)
        err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


pass_app = click.make_pass_decorator(App)


class RollcallGroup(click.Group):
    """Turns RollcallError into a one-line message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except RollcallError as exc:
            raise click.ClickException(str(exc)) from None


def finish(app: App) -> None:
    if app.failures:
        sys.exit(1)


# Seconds that must be more than nothing (a duration, a sampling gap): refused at the option.
POSITIVE_SECONDS = click.FloatRange(min=0, min_open=True)


class FiniteRange(click.FloatRange):
    """A FloatRange that also refuses nan (every comparison with it is false)."""

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return number


# --verify-every and --leave-after: from a second to a day, as the agent API takes them (0 or
# less verified every sample, or had everyone leave at their first missed sample).
SESSION_SECONDS = FiniteRange(min=1, max=86400)


def line_needs_entrance(mode: str | None, line: object, fps: float | None = None) -> None:
    """A counting line belongs to an entrance: refuse it on a meeting (run, agent); so does
    a frame rate (run: a meeting takes one frame per sampling time, so --fps would be
    silently ignored)."""
    if line and mode != "entrance":
        raise click.UsageError("--line counts people at an entrance: add --mode entrance")
    if fps is not None and mode != "entrance":
        raise click.UsageError(
            "--fps sets how many frames an entrance analyzes a second: add --mode entrance"
        )


def output_folder_exists(path: Path) -> Path:
    """Refuse, before any work, a file to be written into a folder that is not there."""
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise click.ClickException(f"cannot write {path}: {folder} {what}; create it first")
    return path


def cannot_write(path: Path, exc: OSError) -> click.ClickException:
    """A file a command could not write (no permission, a file in the way, disk full): one
    line naming the file and the reason, never a traceback."""
    return click.ClickException(f"cannot write {path}: {exc.strerror or exc}")


# -- people -------------------------------------------------------------------------------


def consent_options(command: Callable) -> Callable:
    """--consent, --consent-by and --consent-note, for every command that enrolls people."""
    command = click.option(
        "--consent-note",
        "consent_note",
        default="",
        metavar="TEXT",
        help="Where the consent can be found: a form number, the email's date, …",
    )(command)
    command = click.option(
        "--consent-by",
        "consent_by",
        metavar="WHO",
        help="Who recorded the consent (default: your user name on this computer).",
    )(command)
    return click.option(
        "--consent",
        "consent_method",
        metavar="METHOD",
        help='How the person agreed to have their face templates kept: "signed form", '
        '"online form", "email", "verbal", … Needed for anyone without consent on record; '
        "asked for at a terminal. Withdrawn consent: `rollcall people remove`.",
    )(command)


def interactive() -> bool:
    return sys.stdin.isatty()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no password-database entry
        return "unknown"


def cli_actor() -> str:
    """Who did it, for the audit trail: the user of this computer, marked as not a portal login
    (the portal's entries name staff accounts)."""
    from rollcall.storage.accounts import COMMAND_LINE

    return f"{os_user()} {COMMAND_LINE}"[:80]


def confirm_or_refuse(yes: bool, question: str, refusal: str) -> None:
    """Ask at a terminal; in a script (stdin not a terminal) refuse unless --yes was given."""
    if yes:
        return
    if not interactive():
        raise click.ClickException(f"{refusal}: add --yes (stdin is not a terminal)")
    click.confirm(question, abort=True)


def ask_consent(
    app: App, names: list[str], method: str | None, by: str | None, note: str
) -> Consent | None:
    """The consent statement for enrolling `names`, checked before anyone is enrolled.

    None when everyone already has consent on record. Without --consent, asks at a terminal and
    refuses otherwise, so a script never enrolls someone without consent.
    """
    from rollcall.enrollment import Consent, needs_consent

    if method is None:
        missing = [n for n in names if needs_consent(app.db, n)]
        if not missing:
            return None
        who = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        if not interactive():
            raise click.ClickException(
                f"consent is required: {who} ha{'s' if len(missing) == 1 else 've'} no consent "
                "on record; nothing was enrolled. Say how they agreed to have their face "
                'templates kept, e.g. --consent "signed form" (or "online form", "email", '
                '"verbal"), optionally with --consent-note and --consent-by.'
            )
        method = click.prompt(
            f"How did {who} consent to having their face templates kept "
            "(signed form, online form, email, verbal, …)?"
        )
    return Consent(method, by or os_user(), note)


def audit_enrollment(app: App, result: object, consent: Consent | None) -> None:
    """An enrollment from the command line is in the audit trail, as one from the portal is."""
    from rollcall.storage.audit import PersonEnrolled, record

    if not (result.accepted or result.consent_recorded):  # type: ignore[attr-defined]
        return
    recorded = consent if result.consent_recorded else None  # type: ignore[attr-defined]
    with app.db.session() as session:
        record(
            session,
            cli_actor(),
            PersonEnrolled(
                result.name,  # type: ignore[attr-defined]
                len(result.accepted),  # type: ignore[attr-defined]
                len(result.refused),  # type: ignore[attr-defined]
                consent_method=recorded.method if recorded else None,
                consent_note=recorded.note if recorded else "",
            ),
        )


def utc_minute(when: datetime | None, never: str = "") -> str:
    """A stored UTC time as the command line's tables show it (``never`` when unset)."""
    return f"{when:%Y-%m-%d %H:%M}" if when is not None else never
