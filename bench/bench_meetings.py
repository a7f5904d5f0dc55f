"""Proxy detection end to end: rendered meetings, tile labels read by OCR, platform reports.

bench_reconcile.py measures the reconciliation on simulated sightings; this one takes the whole
path a teacher's meeting takes (issue 14). Each meeting is a demo-style hard meeting
(`rollcall.demo`, every situation of `synth.scenarios`) with the three proxy cases scripted in:

- ``proxy``: an absent student's account in the meeting all along, a friend's face in its tile
  (an unenrolled extra, or an enrolled classmate who is not there himself);
- ``two_logins``: one student logged in twice (their face in two tiles, the second labelled
  "NAME's iPad", with the student's own email);
- ``nickname``: a student present under a nickname ("Don R.").

The gallery is drawn as Zoom, Teams and Meet draw it (in turn, meeting by meeting), rendered
to a compressed MP4, and taken by the real `run_session` in a fresh ROLLCALL_HOME: faces
recognised, every tile's name label read by the OCR (vision/labels.py). Roster people have
their school email on file (as a school's import would give them). The platform's participant
report, written for the same script (`synth.platform_reports`), is imported as
`rollcall participants import` does, and the session reconciled as `report --json` does.

Printed per meeting and in total:
- proxies: scripted proxy accounts flagged ``proxy_suspected`` / scripted;
- false flags: ``proxy_suspected`` on any account whose tile never showed someone else
  for the whole of its stay (the target, with the first, is: every case flagged, 0 false);
- sit-in flags: ``proxy_suspected`` on the owner of a *temporary* sit-in (the ``sit_in``
  scenario: someone else at a present student's camera for a while), listed apart: someone
  else really was in that tile, but the owner was there too;
- two logins: the second account (or the student's) reported ``two_accounts``;
- nickname: the nickname's account ``verified`` as its student;
- labels: sightings whose stored tile label equals the label drawn on that tile;
- tiles (total only): frames every 6 s whose tiles were all found (IoU >= 0.85) and nothing
  else, tiles found of those drawn, and rectangles found that are no tile (pieces);
- wrong / absent s: named faces that were someone else (or a picture) / named faces in all,
  and seconds credited to people not there (synth.scoring.SampleScore; the target is 0 and 0):
  these meetings have every scenario bench_attendance.py has and the proxy cases besides.

    PYTHONPATH=src python bench/bench_meetings.py --quick        # 4 meetings
    PYTHONPATH=src python bench/bench_meetings.py --meetings 24  # the issue's count
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench_attendance import load_pool
from common import OUT, faces_root
from rollcall.synth.labels import PLATFORMS
from rollcall.synth.scenarios import PROXY_SCENARIOS, SCENARIOS, describe

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass
class Outcome:
    """One meeting's figures."""

    meeting: int
    platform: str
    size: str
    people: int
    proxies: int = 0
    proxies_flagged: int = 0
    false_flags: list[str] = field(default_factory=list)
    sit_in_flags: list[str] = field(default_factory=list)
    two_logins: int = 0
    two_logins_found: int = 0
    nicknames: int = 0
    nicknames_verified: int = 0
    sightings: int = 0
    labels_exact: int = 0
    labels_none: int = 0
    label_misses: list[str] = field(default_factory=list)
    # What the run credited, sample by sample (synth.scoring.SampleScore): every named face.
    named_faces: int = 0
    wrong_names: list[str] = field(default_factory=list)
    credited_absent_s: float = 0.0
    # The gallery's tiles as found (vision.screen.find_tiles) against those drawn, every
    # TILE_STEP s of the recording: frames with every tile found and nothing else.
    tile_frames: int = 0
    tile_frames_exact: int = 0
    tiles_drawn: int = 0
    tiles_found: int = 0
    tile_pieces: int = 0  # found rectangles that are no drawn tile (a piece of one)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _truth_label(tiles, box: tuple[int, int, int, int]) -> str | None:  # noqa: ANN001
    """The label drawn on the tile holding the face's centre (None: no tile there)."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    for tile in tiles:
        x, y, w, h = tile.rect
        if tile.name and x <= cx < x + w and y <= cy < y + h:
            return tile.drawn or None
    return None


TILE_STEP = 6.0
TILE_IOU = 0.85


def score_tiles(recording, out: Outcome) -> None:  # noqa: ANN001
    """Tiles found on the recording's frames against the tiles drawn on them."""
    import av

    from rollcall.vision.screen import find_tiles
    from rollcall.vision.track import iou_matrix

    next_t = 0.0
    with av.open(str(recording.path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t < next_t:
                continue
            next_t = t + TILE_STEP
            drawn = [tile.rect for tile in recording.tiles_at(t) if tile.kind != "empty"]
            if not drawn:
                continue
            found = find_tiles(frame.to_ndarray(format="bgr24"))
            overlap = (
                iou_matrix(np.asarray(drawn, np.float32), found)
                if len(found)
                else np.zeros((len(drawn), 0))
            )
            hit = overlap.max(axis=1) >= TILE_IOU if len(found) else np.zeros(len(drawn), bool)
            pieces = int((overlap.max(axis=0) < TILE_IOU).sum()) if len(found) else 0
            out.tile_frames += 1
            out.tile_frames_exact += bool(hit.all()) and pieces == 0
            out.tiles_drawn += len(drawn)
            out.tiles_found += int(hit.sum())
            out.tile_pieces += pieces


def run_meeting(m: int, args: argparse.Namespace, engine) -> Outcome:  # noqa: ANN001
    from sqlalchemy import select

    from rollcall.attendance.participants import parse_report
    from rollcall.attendance.participants.store import add_alias, import_report
    from rollcall.attendance.reconcile import reconcile_session
    from rollcall.attendance.report import session_zone
    from rollcall.config import Settings
    from rollcall.demo import DemoConfig, run_demo
    from rollcall.errors import RollcallError
    from rollcall.storage.db import Database
    from rollcall.storage.models import Sighting
    from rollcall.storage.people import get_person
    from rollcall.storage.sessions import require_session
    from rollcall.synth.gallery import display_name
    from rollcall.synth.platform_reports import default_email, write_platform_reports
    from rollcall.wallclock import in_zone

    # Every meeting size with every platform in each run of nine: 9, 16 and 25 people by
    # default (3x3 to 5x5 galleries, labels of about 19 to 11 px at 720p, half as big again
    # at 1080p), the first nine meetings at the first size, the next nine at the second.
    n = len(args.people)
    people = args.people[m % n]
    platform = PLATFORMS[(m + m // n) % len(PLATFORMS)]
    size = args.sizes[(m // (n * len(PLATFORMS))) % len(args.sizes)]
    seed = args.seed + m
    # The friend in the absent student's tile: an unenrolled extra, or (no extra) an
    # enrolled classmate who is not in the meeting himself.
    extras = 1 if m % 2 == 0 else 0
    out = Outcome(m, platform, size, people)
    started = time.perf_counter()
    config = DemoConfig(
        people=people - 1,
        strangers=1,
        minutes=args.minutes,
        size=SIZES[size],
        fps=args.fps,
        seed=seed,
        min_interval=args.min_interval,
        max_interval=args.max_interval,
        scenarios=(*SCENARIOS, *PROXY_SCENARIOS),
        extras=extras,
        platform=platform,  # type: ignore[arg-type]
    )
    with tempfile.TemporaryDirectory(prefix="rollcall-bench-meetings-") as tmp:
        settings = Settings(home=Path(tmp) / "home", threads=args.threads)
        settings.ensure_home()
        db = Database(settings)
        name = f"meeting-{m}"
        run = None
        for extra in (False, True):  # the photos folder holds 26 people; more need the others
            try:
                pool = load_pool(faces_root(), extra)
                run = run_demo(
                    db, settings, engine, pool, config, Path(tmp) / "video", session_name=name
                )
                break
            except RollcallError:
                if extra:
                    raise
        assert run is not None  # nosec B101 - run_demo returned or raised
        script, recording = run.script, run.recording
        scored = run.score.samples
        out.named_faces = scored.named_faces
        out.wrong_names = [f"t={w.t:.1f}s {w.person} on {w.shown}" for w in scored.wrong_names]
        out.credited_absent_s = scored.credited_absent_s
        score_tiles(recording, out)
        with db.session() as s:  # the school's accounts: every roster student's email
            for p in run.cast.roster:
                person = get_person(s, p.name)
                if person is not None:
                    add_alias(s, person, "email", default_email(p.name), "bench")
        with db.session() as s:
            row = require_session(s, name)
            zone = session_zone(row.course, settings.timezone)
            start = in_zone(row.started_at, zone)
        paths = write_platform_reports(script, Path(tmp) / "reports", start)
        report = parse_report(paths[platform].read_bytes(), paths[platform].name)
        with db.session() as s:
            import_report(s, require_session(s, name), report, zone)
        with db.session() as s:
            row = require_session(s, name)
            result = reconcile_session(s, row)
            for sg in s.scalars(select(Sighting).where(Sighting.session_id == row.id)):
                truth = _truth_label(recording.tiles_at(sg.t), (sg.x, sg.y, sg.w, sg.h))
                if truth is None:
                    continue
                out.sightings += 1
                out.labels_exact += sg.label == truth
                out.labels_none += sg.label is None
                if sg.label != truth and len(out.label_misses) < 5:
                    box = (sg.x, sg.y, sg.w, sg.h)
                    out.label_misses.append(
                        f"t={sg.t:.1f}s face {box} tile {sg.tile} drawn {truth!r} stored "
                        f"{sg.label!r}"
                    )
    assert result is not None  # nosec B101 - the report was imported just above

    proxy_owners = {a for a, face in script.accounts.items() if a in script.people}
    proxy_owners |= set(script.pictures)  # an account showing a still photo of its owner
    seconds = {a: face for a, face in script.accounts.items() if a not in script.people}
    nicknames = {n for n in script.labels if n in script.people and n not in script.accounts}
    sit_in_owners = set(script.sit_ins)
    out.proxies, out.two_logins, out.nicknames = len(proxy_owners), len(seconds), len(nicknames)
    shown_of = {a: script.labels.get(a, display_name(a)) for a in script.participants}
    for e in result.entries:
        account = next((a for a, shown in shown_of.items() if shown == e.name), None)
        if e.status == "proxy_suspected":
            if account in proxy_owners:
                out.proxies_flagged += 1
            elif account in sit_in_owners:
                out.sit_in_flags.append(f"{e.name}: {e.detail}")
            else:
                out.false_flags.append(f"{e.name!r} ({e.person}): {e.detail}")
        if e.status == "two_accounts" and (
            account in seconds or (e.person and e.person in seconds.values())
        ):
            out.two_logins_found += 1
        if account in nicknames and e.status == "verified" and e.person == account:
            out.nicknames_verified += 1
        if account in proxy_owners and e.status != "proxy_suspected":
            out.notes.append(f"proxy missed: {e.name!r} is {e.status}: {e.detail}")
        if account in nicknames and e.status != "verified":
            out.notes.append(f"nickname {e.name!r} is {e.status}: {e.detail}")
    # Both accounts of a student logged in twice may say so: one found per student is enough.
    out.two_logins_found = min(out.two_logins_found, out.two_logins)
    if out.two_logins_found < out.two_logins:
        for e in result.entries:
            account = next((a for a, shown in shown_of.items() if shown == e.name), None)
            if account in seconds or (e.person and e.person in seconds.values()):
                out.notes.append(
                    f"two logins missed: {e.name!r} ({e.person}) {e.status}: {e.detail}"
                )
    out.notes += [f"scripted: {line}" for line in describe(script)]
    out.wall_s = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=24)
    parser.add_argument("--quick", action="store_true", help="4 meetings")
    parser.add_argument("--first", type=int, default=0, help="start at this meeting number")
    parser.add_argument(
        "--people", type=int, nargs="+", default=[9, 16, 25], help="participants, by turn"
    )
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--min-interval", type=float, default=10.0)
    parser.add_argument("--max-interval", type=float, default=30.0)
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["720p", "1080p"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print each meeting's script")
    args = parser.parse_args()
    if args.quick:
        args.meetings = 4
    from rollcall.config import Settings
    from rollcall.vision.engine import EngineOptions, FaceEngine

    base = Settings.from_env()
    engine = FaceEngine(EngineOptions(base.detector, base.embedder, args.threads))
    print(
        f"{args.minutes:g}-minute meetings at {args.fps:g} fps, sampled every "
        f"{args.min_interval:g}-{args.max_interval:g} s, {args.threads} threads"
    )
    head = (
        f"{'#':>3} {'platform':>8} {'size':>5} {'ppl':>3} {'proxies':>8} {'false':>5} "
        f"{'sit-in':>6} {'2 logins':>8} {'nick':>5} {'labels exact':>14} {'wrong':>7} "
        f"{'absent s':>8} {'wall':>6}"
    )
    print(head)
    outcomes: list[Outcome] = []
    for m in range(args.first, args.first + args.meetings):
        o = run_meeting(m, args, engine)
        outcomes.append(o)
        share = o.labels_exact / o.sightings if o.sightings else 0.0
        print(
            f"{m:>3} {o.platform:>8} {o.size:>5} {o.people:>3} "
            f"{f'{o.proxies_flagged}/{o.proxies}':>8} {len(o.false_flags):>5} "
            f"{len(o.sit_in_flags):>6} {f'{o.two_logins_found}/{o.two_logins}':>8} "
            f"{f'{o.nicknames_verified}/{o.nicknames}':>5} "
            f"{f'{share:.1%} of {o.sightings}':>14} "
            f"{f'{len(o.wrong_names)}/{o.named_faces}':>7} {o.credited_absent_s:>8.0f} "
            f"{o.wall_s:>5.0f}s",
            flush=True,
        )
        for line in o.false_flags:
            print(f"      FALSE FLAG {line}")
        for line in o.sit_in_flags:
            print(f"      sit-in flag {line}")
        for line in o.wrong_names:
            print(f"      WRONG NAME {line}")
        if args.verbose:
            for line in o.label_misses:
                print(f"      label {line}")
        for line in o.notes:
            if args.verbose or not line.startswith("scripted:"):
                print(f"      {line}")
    total = {
        "meetings": len(outcomes),
        "proxies_flagged": sum(o.proxies_flagged for o in outcomes),
        "proxies_scripted": sum(o.proxies for o in outcomes),
        "false_proxy_flags": sum(len(o.false_flags) for o in outcomes),
        "sit_in_flags": sum(len(o.sit_in_flags) for o in outcomes),
        "two_logins_found": sum(o.two_logins_found for o in outcomes),
        "two_logins_scripted": sum(o.two_logins for o in outcomes),
        "nicknames_verified": sum(o.nicknames_verified for o in outcomes),
        "nicknames_scripted": sum(o.nicknames for o in outcomes),
        "sightings": sum(o.sightings for o in outcomes),
        "labels_exact": sum(o.labels_exact for o in outcomes),
        "labels_unread": sum(o.labels_none for o in outcomes),
        "named_faces": sum(o.named_faces for o in outcomes),
        "wrong_names": sum(len(o.wrong_names) for o in outcomes),
        "credited_absent_s": sum(o.credited_absent_s for o in outcomes),
        "tile_frames": sum(o.tile_frames for o in outcomes),
        "tile_frames_exact": sum(o.tile_frames_exact for o in outcomes),
        "tiles_drawn": sum(o.tiles_drawn for o in outcomes),
        "tiles_found": sum(o.tiles_found for o in outcomes),
        "tile_pieces": sum(o.tile_pieces for o in outcomes),
    }
    print(
        f"\nall {total['meetings']} meetings: proxy cases flagged {total['proxies_flagged']}/"
        f"{total['proxies_scripted']}, false proxy flags {total['false_proxy_flags']} "
        f"(target: all flagged, 0 false); flags on temporary sit-ins {total['sit_in_flags']}; "
        f"two logins found {total['two_logins_found']}/{total['two_logins_scripted']}; "
        f"nicknames verified {total['nicknames_verified']}/{total['nicknames_scripted']}; "
        f"tile labels exact on {total['labels_exact']}/{total['sightings']} sightings "
        f"({total['labels_unread']} unread); named faces wrong {total['wrong_names']}/"
        f"{total['named_faces']}, credited while absent {total['credited_absent_s']:.0f} s "
        "(target: 0 and 0); "
        f"frames with every tile found exactly {total['tile_frames_exact']}/"
        f"{total['tile_frames']}, tiles found {total['tiles_found']}/{total['tiles_drawn']}, "
        f"pieces taken for tiles {total['tile_pieces']}"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "bench_meetings.json"
    rows = [o.__dict__ for o in outcomes]
    target.write_text(
        json.dumps({"settings": vars(args), "meetings": rows, "all": total}, indent=2)
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
