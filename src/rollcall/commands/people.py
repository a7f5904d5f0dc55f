"""Enroll people and look at photos: enroll, people, purge, identify, count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollcall.commands.base import (
    App,
    Table,
    ask_consent,
    audit_enrollment,
    cannot_write,
    cli_actor,
    confirm_or_refuse,
    consent_options,
    err_console,
    finish,
    markup,
    out_console,
    pass_app,
    utc_minute,
)
from rollcall.errors import RollcallError

if TYPE_CHECKING:
    from rollcall.enrollment import Consent


@click.command()
@click.argument("name", required=False)
# (readable=False: one unreadable photo is that photo's error line, not the whole command's.)
@click.argument("photos", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option(
    "--from-dir",
    "from_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Enroll every sub-folder of DIR as one person (the folder name is the person's name).",
)
@consent_options
@click.option(
    "--lookalike-ok",
    is_flag=True,
    help="Enroll photos whose face is already another enrolled person's (twins); refused "
    "otherwise.",
)
@pass_app
def enroll(
    app: App,
    name: str | None,
    photos: tuple[Path, ...],
    from_dir: Path | None,
    consent_method: str | None,
    consent_by: str | None,
    consent_note: str,
    lookalike_ok: bool,
) -> None:
    """Enroll NAME from one or more PHOTOS (several templates per person are kept).

    A new person is enrolled only with their consent on record (--consent); with --from-dir,
    one consent statement covers everyone in DIR.
    """
    if from_dir is not None:
        if name or photos:
            raise click.UsageError("give either NAME PHOTO... or --from-dir DIR, not both")
        jobs = folder_jobs(app, from_dir)
        if not jobs and not app.failures:
            raise click.ClickException(f"{from_dir} has no sub-folders (one per person)")
    else:
        if not name or not photos:
            raise click.UsageError("give NAME and at least one PHOTO, or --from-dir DIR")
        jobs = [(name, list(photos))]
    consent = ask_consent(app, [p for p, f in jobs if f], consent_method, consent_by, consent_note)
    enroll_jobs(app, jobs, consent, each_folder=from_dir is not None, lookalike_ok=lookalike_ok)
    finish(app)


def folder_jobs(app: App, root: Path) -> list[tuple[str, list[Path]]]:
    """(name, photos) per person folder of an enrollment folder; a folder that cannot be used
    (unreadable, a link back into the folder) is a failed line and the others still count,
    and photos lying in the folder itself are said to be nobody's (they were ignored unsaid)."""
    from rollcall.enrollment import person_folders, photos_in
    from rollcall.source_text import shown_text

    try:
        folders = person_folders(root)
        loose = photos_in(root)  # in no one's sub-folder: said, not enrolled
    except (OSError, RollcallError) as exc:
        raise click.ClickException(f"{shown_text(str(root))}: cannot be read ({exc})") from None
    jobs = []
    for folder in folders:
        if folder.problem:
            app.fail(f"{shown_text(folder.name)}: {folder.problem}")
        else:
            jobs.append((folder.name, folder.photos))
    if loose:
        out_console.print(
            f"note: {len(loose)} photo(s) directly in {shown_text(str(root))} are in no "
            "person's folder and were not enrolled (one sub-folder per person, named after them)",
            highlight=False,
        )
    return jobs


def enroll_jobs(
    app: App,
    jobs: list[tuple[str, list[Path]]],
    consent: Consent | None,
    each_folder: bool,
    lookalike_ok: bool = False,
) -> list[str]:
    """Enroll each (name, photos), printing a line per person; the names enrolled (or already
    enrolled with those photos). With each_folder (--from-dir), one folder's error is reported
    and the others still count."""
    from rollcall.enrollment import enroll_photos
    from rollcall.source_text import shown_text

    enrolled = []
    for person, files in jobs:
        if not files:
            app.fail(f"{shown_text(person)}: no photos found")
            continue
        try:
            result = enroll_photos(
                app.db, app.engine, person, files, consent=consent, lookalike_ok=lookalike_ok
            )
        except RollcallError as exc:
            if not each_folder:
                raise
            app.fail(f"{shown_text(person)}: {exc}")  # one folder's; the others still count
            continue
        audit_enrollment(app, result, consent)
        if result.consent_unchanged:
            out_console.print(
                f"note: {person} has consent on record ({result.consent_unchanged}); the "
                "statement given now was not recorded (withdrawing it is deleting them)",
                highlight=False,
            )
        for label, reason in result.refused:
            app.fail(f"{label}: refused: {reason}")
        parts = [f"{len(result.accepted)} template(s) added"]
        if result.duplicates:
            parts.append(f"{len(result.duplicates)} already enrolled")
        if result.refused:
            parts.append(f"{len(result.refused)} photo(s) refused")
        mark = "[green]✓[/green]" if result.accepted or result.duplicates else "[red]✗[/red]"
        out_console.print(f"{mark} {result.name}: " + ", ".join(parts), highlight=False)
        if result.accepted or result.duplicates:
            enrolled.append(result.name)
    return enrolled


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def people(ctx: click.Context, as_json: bool) -> None:
    """List enrolled people with their template counts."""
    if ctx.invoked_subcommand is not None:
        return
    from rollcall.storage.people import list_people

    app: App = ctx.obj
    with app.db.session() as session:
        rows = list_people(session)
    if as_json:
        listing = [
            {
                "name": r.name,
                "templates": r.templates,
                "consent": r.consent.to_json() if r.consent else None,
            }
            for r in rows
        ]
        click.echo(json.dumps(listing))
        return
    if not rows:
        out_console.print(
            "No one is enrolled yet. Try: rollcall enroll NAME PHOTO... --consent HOW"
        )
        return
    table = Table("person", "templates", "enrolled", "consent (how, by, when)")
    for r in rows:
        c = r.consent
        table.add_row(
            r.name,
            str(r.templates),
            utc_minute(r.created_at),
            f"{c.method}, by {c.recorded_by}, {c.recorded_at:%Y-%m-%d %H:%M}"
            if c
            else markup("[yellow]none on record[/yellow]"),
        )
    out_console.print(table)


@people.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@pass_app
def people_remove(app: App, name: str, yes: bool) -> None:
    """Delete NAME with every template, attendance record, evidence crop and their consent.

    This is also how consent is withdrawn: nothing of theirs is kept.
    """
    from rollcall.privacy import erase_person
    from rollcall.storage.audit import PersonDeleted, record
    from rollcall.storage.people import require_person

    with app.db.session() as session:
        require_person(session, name)  # a typo is reported before any question
    confirm_or_refuse(
        yes,
        f"Delete {name} and all their face templates and evidence?",
        f"refusing to delete {name!r} without confirmation",
    )
    gone = erase_person(app.db, app.settings, name)
    with app.db.session() as session:
        record(session, cli_actor(), PersonDeleted(name, gone.templates, gone.files))
    out_console.print(
        f"Removed {name}: {gone.templates} template(s), {gone.attendance_records} attendance "
        f"record(s), {gone.files} evidence file(s).",
        highlight=False,
    )


@people.command("set")
@click.argument("name")
@click.option("--student-id", help="The school's id for them (empty: none).")
@click.option(
    "--email",
    multiple=True,
    help="Their email address (repeatable): the first is for alerts (empty: none); every one "
    "is also an account of theirs in online meetings.",
)
@click.option(
    "--meeting-email",
    multiple=True,
    help="An email they join online meetings with (repeatable), leaving the alerts' address "
    "as it is.",
)
@click.option("--guardian-email", help="A parent's or guardian's email (empty: none).")
@click.option(
    "--alias",
    multiple=True,
    help="A display name they use in online meetings (repeatable), e.g. a nickname.",
)
@click.option(
    "--forget",
    multiple=True,
    help="Remove one of their meeting emails or aliases (repeatable).",
)
@pass_app
def people_set(
    app: App,
    name: str,
    student_id: str | None,
    email: tuple[str, ...],
    meeting_email: tuple[str, ...],
    guardian_email: str | None,
    alias: tuple[str, ...],
    forget: tuple[str, ...],
) -> None:
    """Set NAME's student id, email addresses and meeting aliases (exports, alerts and the
    matching of meeting participants use them)."""
    from rollcall.attendance.participants.store import add_alias, aliases_of, remove_alias
    from rollcall.storage.accounts import check_email
    from rollcall.storage.audit import MeetingChanged, PersonDetailsChanged, record
    from rollcall.storage.people import (
        details_for_audit,
        details_text,
        require_person,
        set_student_id,
    )

    with app.db.session() as session:
        person = require_person(session, name)
        before, audited = details_text(person), details_for_audit(person)
        alerts_before = person.email
        if student_id is not None:
            set_student_id(session, person, student_id)
        if email:
            person.email = check_email(email[0])
        moved = alerts_before and person.email != alerts_before
        alerts_after = person.email
        if guardian_email is not None:
            person.guardian_email = check_email(guardian_email)
        after = details_text(person)
        if after != before or not (email or meeting_email or alias or forget):
            record(
                session,
                cli_actor(),
                PersonDetailsChanged(name, audited, details_for_audit(person)),
            )
        for value in forget:
            if not remove_alias(session, person, value):
                raise click.ClickException(f"{name} has no meeting email or alias {value!r}")
        added = [
            v
            for v in (*email, *meeting_email)
            if v.strip() and add_alias(session, person, "email", v, cli_actor())
        ]
        added += [v for v in alias if add_alias(session, person, "alias", v, cli_actor())]
        # The first --email is audited with the details above; the rest is audited here.
        added = [v for v in added if not (email and v == email[0])]
        if added or forget:
            # How many, not which: the trail outlives an erasure (details_for_audit).
            what = f"meeting accounts: {len(added)} added"
            what += f", {len(forget)} removed" if forget else ""
            record(session, cli_actor(), MeetingChanged(None, what, name))
        accounts = [f"{a.kind} {a.value}" for a in aliases_of(session, person)]
    out_console.print(f"{name}: {after}.", highlight=False)
    if moved:
        out_console.print(
            f"  alerts now go to {alerts_after or 'no one'} (were {alerts_before}); "
            "--meeting-email adds a meeting address without changing them",
            highlight=False,
        )
    if accounts:
        out_console.print(f"  meeting accounts: {'; '.join(accounts)}", highlight=False)


@people.command("accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def people_accounts(app: App, file: Path) -> None:
    """Add meeting emails and aliases from a CSV FILE with columns person,email,alias.

    One row per account (either column may be empty); all rows or none: a row naming someone
    not enrolled, or an email already another person's, stops it with the line number.
    """
    from rollcall.attendance.participants.store import add_alias
    from rollcall.attendance.participants.text import csv_rows, decode, delimiter_of
    from rollcall.storage.audit import MeetingChanged, record
    from rollcall.storage.people import get_person

    try:
        text = decode(file.read_bytes(), file.name)
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    # Excel saves CSV with semicolons where the decimal mark is a comma.
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    rows = csv_rows(text.lstrip("\ufeff"), file.name, delimiter_of(first))
    header = [h.strip().casefold() for h in (rows[0] if rows else [])]
    if "person" not in header or not ({"email", "alias"} & set(header)):
        raise click.ClickException(
            f"{file.name}, line 1: expected the columns person and email and/or alias"
        )
    col = {h: i for i, h in enumerate(header)}
    added = 0
    with app.db.session() as session:
        for line, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            value = {h: row[i].strip() if i < len(row) else "" for h, i in col.items()}
            person = get_person(session, value["person"]) or _one_named(session, value["person"])
            if person is None:
                raise click.ClickException(
                    f"{file.name}, line {line}: no enrolled person named {value['person']!r}; "
                    "nothing was imported"
                )
            try:
                for kind in ("email", "alias"):
                    if value.get(kind):
                        added += add_alias(session, person, kind, value[kind], cli_actor())
            except RollcallError as exc:
                raise click.ClickException(
                    f"{file.name}, line {line}: {exc}; nothing was imported"
                ) from None
        record(session, cli_actor(), MeetingChanged(None, f"{added} account(s) from {file.name}"))
    out_console.print(f"Added {added} meeting account(s) from {file.name}.", highlight=False)


def _one_named(session, name: str):  # noqa: ANN001, ANN202
    """The one enrolled person whose name is ``name`` up to case and spacing (a spreadsheet's
    "bob smith" for "Bob Smith"), or None when there is none or more than one."""
    from sqlalchemy import select

    from rollcall.storage.models import Person

    key = " ".join(name.split()).casefold()
    found = [
        p for p in session.scalars(select(Person)) if " ".join(p.name.split()).casefold() == key
    ]
    return found[0] if len(found) == 1 else None


@people.command("export")
@click.argument("name")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Zip file to write (person.json and evidence crops).",
)
@pass_app
def people_export(app: App, name: str, output: Path) -> None:
    """Give NAME their data: templates, attendance and evidence (subject access request)."""
    from rollcall.privacy import export_person

    try:
        written = export_person(app.db, app.settings, name, output)
    except OSError as exc:
        raise cannot_write(output, exc) from None
    out_console.print(f"Wrote {output}.", highlight=False)
    if written.unopened:
        err_console.print(
            f"[yellow]note:[/yellow] {len(written.unopened)} evidence crop(s) did not open "
            "with the template key (tampered with, or sealed under another key) and are left "
            f"out: {', '.join(written.unopened)}",
            highlight=False,
        )


@click.command()
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(0, None),
    help="Days to keep evidence (default: ROLLCALL_RETENTION_DAYS, else 90).",
)
@pass_app
def purge(app: App, days: int | None) -> None:
    """Delete evidence crops of sessions that ended before the retention period."""
    from rollcall.privacy import purge_evidence

    keep = app.settings.retention_days if days is None else days
    done = purge_evidence(app.db, app.settings, keep)
    out_console.print(
        f"Purged {done.files} evidence file(s) from {done.sessions} session(s) "
        f"older than {keep} day(s); attendance records are kept.",
        highlight=False,
    )


# -- images -------------------------------------------------------------------------------


def _expand_images(app: App, paths: tuple[Path, ...]) -> list[Path]:
    """The files given, and the photos of each folder given; a folder with none, or that
    cannot be read, is an error line (it printed nothing and exited 0)."""
    from rollcall.enrollment import photos_in
    from rollcall.source_text import shown_text
    from rollcall.vision.imageio import IMAGE_SUFFIXES

    out: list[Path] = []
    for p in paths:
        if not p.is_dir():
            out.append(p)
            continue
        try:
            found = photos_in(p)
        except RollcallError as exc:
            app.fail(str(exc))
            continue
        if not found:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            app.fail(f"{shown_text(str(p))}: no photos in this folder ({kinds})")
        out.extend(found)
    return out


def _annotated_path(folder: Path, source: Path, used: set[Path]) -> Path:
    stem, suffix = source.stem, source.suffix.lower()
    if suffix not in {".jpg", ".jpeg", ".png", ".bmp", ".webp"}:
        suffix = ".png"
    target = folder / f"{stem}{suffix}"
    n = 1
    while target in used:
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    used.add(target)
    return target


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per image.")
@click.option(
    "--annotate",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a copy of each image with boxes and names into this folder.",
)
@pass_app
def identify(app: App, images: tuple[Path, ...], as_json: bool, annotate: Path | None) -> None:
    """Head count and identities of the faces in each IMAGE."""
    from rollcall.recognition import annotate as draw
    from rollcall.recognition import identify_image, load_gallery

    _run_images(
        app,
        images,
        as_json,
        annotate,
        identify=True,
        draw=draw,
        analyse=lambda gallery: lambda im, label: identify_image(app.engine, gallery, im, label),
        gallery_loader=lambda: load_gallery(app.db, app.settings, app.engine.embedder.name),
    )


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per image.")
@click.option(
    "--sliced/--no-sliced",
    default=None,
    help="Search every photo again in enlarged, overlapping tiles (--sliced), or never "
    "(--no-sliced). Default: only photos whose first search shows many small faces, such as "
    "a full classroom seen from the front.",
)
@pass_app
def count(app: App, images: tuple[Path, ...], as_json: bool, sliced: bool | None) -> None:
    """Head counts only (face detection, no recognition)."""
    from dataclasses import replace

    from rollcall.recognition import count_image

    if sliced is not None:
        app.engine.options = replace(app.engine.options, sliced=sliced)

    _run_images(
        app,
        images,
        as_json,
        None,
        identify=False,
        draw=None,
        analyse=lambda _g: lambda im, label: count_image(app.engine, im, label),
        gallery_loader=lambda: None,
    )


def _run_images(app, images, as_json, annotate, *, identify, draw, analyse, gallery_loader):  # noqa: ANN001
    import cv2

    from rollcall.source_text import shown_text
    from rollcall.vision.imageio import read_image

    if annotate is not None:
        try:
            annotate.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise cannot_write(annotate, exc) from None
    gallery = gallery_loader()
    if identify and gallery is not None and not len(gallery):
        err_console.print(
            "[yellow]note:[/yellow] no one is enrolled for this embedder; every face is unknown"
        )
    run = analyse(gallery)
    reports = []
    used: set[Path] = set()
    for path in _expand_images(app, images):
        try:
            image = read_image(path)
        except RollcallError as exc:
            app.fail(str(exc))
            continue
        report = run(image, shown_text(str(path)))
        reports.append(report)
        if annotate is not None and draw is not None:
            target = _annotated_path(annotate, path, used)
            if not cv2.imwrite(str(target), draw(image, report)):
                app.fail(f"{target}: could not write the annotated image")
        if not as_json:
            _print_report(report, identify)
    if as_json:
        click.echo(json.dumps([r.to_json(with_identity=identify) for r in reports], indent=2))
    finish(app)


def _print_report(report, identify: bool) -> None:  # noqa: ANN001
    pictures = len(report.faces) - report.head_count
    behind = f" (and {pictures} picture(s) behind participants, not counted)" if pictures else ""
    out_console.print(
        f"[bold]{report.image}[/bold]: {report.head_count} face(s){behind}", highlight=False
    )
    if not identify:
        return
    for face in report.faces:
        who = face.person or ("[dim]picture[/dim]" if face.picture else "[dim]unknown[/dim]")
        sim = "" if face.similarity is None else f"  similarity {face.similarity:.2f}"
        out_console.print(f"  {who}  box {face.box}  score {face.score:.2f}{sim}", highlight=False)


COMMANDS = [enroll, people, purge, identify, count]
