"""Attendance on generated meetings (issue 3): marks, first-seen times, head counts, CPU, speed.

Each configuration is a demo-style meeting (`rollcall.demo`): participants and strangers from the
real photos, enrolled from photos other than the one shown, a seeded join/leave script rendered
as a compressed gallery recording, and `run_session` on it, in a fresh temporary ROLLCALL_HOME.

    .venv/bin/python bench/bench_attendance.py            # 4/12/25/49 people x 720p/1080p x 2 seeds
    .venv/bin/python bench/bench_attendance.py --quick    # a smoke run (~1 min)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The face data and output folder are found as in the other benchmarks.
from common import OUT, faces_root

# aligned112 are 112x112 aligned crops and gray_yale grayscale lab photos: used only when
# identities/photos (26 people) cannot fill a meeting.
EXTRA_SOURCES = ("aligned112", "gray_yale")
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def load_pool(root: Path, extra: bool) -> dict[str, list[Path]]:
    """Photos per person; the same folder name in two sources is the same person (Obama)."""
    from rollcall.synth import load_people

    pool = {n: list(p) for n, p in load_people(root / "identities" / "photos").items()}
    if extra:
        for source in EXTRA_SOURCES:
            for name, photos in load_people(root / "identities" / source).items():
                pool.setdefault(name, []).extend(photos)
    return pool


def strangers_for(total: int) -> int:
    return max(1, min(3, round(total * 0.1)))


@dataclass
class Cell:
    """One configuration's figures, pooled over its seeds."""

    people: int
    size: str
    seeds: list[int] = field(default_factory=list)
    roster: int = 0
    strangers: int = 0
    sources: str = "photos"
    false_present: int = 0
    missed: int = 0
    due: int = 0  # people visible long enough to be marked (true presents + misses)
    first_seen_errors: list[float] = field(default_factory=list)
    intervals: list[float] = field(default_factory=list)
    counts: int = 0
    counts_right: int = 0
    count_cpu: list[float] = field(default_factory=list)
    verify_cpu: list[float] = field(default_factory=list)
    source_s: float = 0.0
    run_wall_s: float = 0.0
    total_wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        def med(values: list[float], scale: float = 1.0) -> float | None:
            return round(statistics.median(values) * scale, 2) if values else None

        return {
            "people": self.people,
            "size": self.size,
            "roster": self.roster,
            "strangers": self.strangers,
            "sources": self.sources,
            "seeds": self.seeds,
            "false_present": self.false_present,
            "missed": self.missed,
            "due": self.due,
            "missed_pct": round(100 * self.missed / self.due, 2) if self.due else 0.0,
            "first_seen_error_median_s": med(self.first_seen_errors),
            "median_interval_s": med(self.intervals),
            "head_counts": self.counts,
            "head_counts_right_pct": round(100 * self.counts_right / self.counts, 2)
            if self.counts
            else None,
            "cpu_ms_per_count": med(self.count_cpu, 1000),
            "cpu_ms_per_verification": med(self.verify_cpu, 1000),
            "speed_x_realtime": round(self.source_s / self.run_wall_s, 1)
            if self.run_wall_s
            else None,
            "wall_s": round(self.total_wall_s, 1),
            "notes": self.notes,
        }


def run_one(cell: Cell, root: Path, seed: int, args: argparse.Namespace) -> None:
    from rollcall.config import Settings
    from rollcall.demo import DemoConfig, run_demo
    from rollcall.errors import RollcallError
    from rollcall.storage.db import Database
    from rollcall.vision.engine import EngineOptions, FaceEngine

    strangers = strangers_for(cell.people)
    roster = cell.people - strangers
    config = DemoConfig(
        people=roster,
        strangers=strangers,
        minutes=args.minutes,
        size=SIZES[cell.size],
        fps=args.fps,
        seed=seed,
        min_interval=args.min_interval,
        max_interval=args.max_interval,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rollcall-bench-") as tmp:
        settings = Settings(home=Path(tmp) / "home", threads=args.threads)
        settings.ensure_home()
        db = Database(settings)
        engine = FaceEngine(EngineOptions(settings.detector, settings.embedder, args.threads))
        run = None
        for extra in (False, True):
            try:
                run = run_demo(
                    db,
                    settings,
                    engine,
                    load_pool(root, extra),
                    config,
                    Path(tmp) / "video",
                    note=cell.notes.append,
                    session_name=f"bench-{cell.people}-{cell.size}-{seed}",
                )
                cell.sources = "photos+aligned112+gray_yale" if extra else cell.sources
                break
            except RollcallError as exc:
                if extra:
                    cell.notes.append(f"seed {seed}: {exc}")
                    return
    score, stats = run.score, run.stats
    a = score.attendance
    cell.seeds.append(seed)
    cell.roster, cell.strangers = len(run.cast.roster), len(run.cast.strangers)
    cell.false_present += len(a.false_present)
    cell.missed += len(a.missed)
    cell.due += len(a.true_present) + len(a.missed)
    cell.first_seen_errors.extend(a.first_seen_errors.values())
    hc = score.head_counts
    cell.intervals.extend(b.t - x.t for x, b in zip(hc, hc[1:], strict=False))
    cell.counts += len(hc)
    cell.counts_right += score.head_counts_right
    cell.count_cpu.extend(stats.count_cpu)
    cell.verify_cpu.extend(stats.verify_cpu)
    cell.source_s += stats.source_seconds
    cell.run_wall_s += stats.wall
    cell.total_wall_s += time.perf_counter() - started
    for name in a.false_present:
        cell.notes.append(f"seed {seed}: false present {name}")
    for name in a.missed:
        cell.notes.append(
            f"seed {seed}: missed {name} (visible {run.script.seen_duration(name):.0f} s)"
        )
    for h in hc:
        if h.counted != h.visible:
            cell.notes.append(f"seed {seed}: t={h.t:.1f}s counted {h.counted}, visible {h.visible}")


def print_table(rows: list[dict[str, object]]) -> None:
    head = (
        f"{'people':>6} {'size':>5} {'roster+str':>10} {'false':>5} {'missed':>10} "
        f"{'1st-seen med':>12} {'gap med':>7} {'counts ok':>13} {'ms/count':>8} "
        f"{'ms/verify':>9} {'x real':>7} {'wall':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:

        def fmt(value: object, spec: str) -> str:
            return "n/a" if value is None else format(value, spec)

        print(
            f"{r['people']:>6} {r['size']:>5} {str(r['roster']) + '+' + str(r['strangers']):>10} "
            f"{r['false_present']:>5} {str(r['missed']) + '/' + str(r['due']):>6} "
            f"{fmt(r['missed_pct'], '.0f'):>2}% "
            f"{fmt(r['first_seen_error_median_s'], '+.1f'):>11}s "
            f"{fmt(r['median_interval_s'], '.0f'):>6}s "
            f"{fmt(r['head_counts_right_pct'], '.1f'):>6}% of {r['head_counts']:<3} "
            f"{fmt(r['cpu_ms_per_count'], '.0f'):>8} {fmt(r['cpu_ms_per_verification'], '.0f'):>9} "
            f"{fmt(r['speed_x_realtime'], '.0f'):>6}x {fmt(r['wall_s'], '.0f'):>5}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 and 12 people, 720p, 3 minutes")
    parser.add_argument("--people", type=int, nargs="+", default=[4, 12, 25, 49])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["720p", "1080p"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--min-interval", type=float, default=20.0)
    parser.add_argument("--max-interval", type=float, default=90.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.people, args.sizes, args.seeds, args.minutes = [4, 12], ["720p"], [1], 3.0
        args.min_interval, args.max_interval = 10.0, 30.0
    root = faces_root()
    print(
        f"{args.minutes:g}-minute recordings at {args.fps:g} fps (libx264 crf 28), sampling every "
        f"{args.min_interval:g}-{args.max_interval:g} s, {args.threads} threads, seeds {args.seeds}"
    )
    rows = []
    for people in args.people:
        for size in args.sizes:
            cell = Cell(people, size)
            for seed in args.seeds:
                run_one(cell, root, seed, args)
            rows.append(cell.summary())
            print(f"  done: {people} people at {size} in {cell.total_wall_s:.0f} s", flush=True)
    print()
    print_table(rows)
    notes = [(r["people"], r["size"], n) for r in rows for n in r["notes"]]
    if notes:
        print("\nnotes:")
        for people, size, note in notes:
            print(f"  {people} @ {size}: {note}")
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / ("bench_attendance_quick.json" if args.quick else "bench_attendance.json")
    settings = {k: v for k, v in vars(args).items()}
    target.write_text(json.dumps({"settings": settings, "results": rows}, indent=2))
    print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
