"""Classroom head counts (issue 13): sliced detection against today's detector, in one run.

    .venv/bin/python bench/bench_classroom.py            # WIDER's odd half + class_photos
    .venv/bin/python bench/bench_classroom.py --tune     # the rule's grid: WIDER's even half
    .venv/bin/python bench/bench_classroom.py --half all # every WIDER photo

Both detectors are what `rollcall count` does (`FaceEngine.detect(image, pad_retry=True)`):
BEFORE with slicing off, AFTER with the shipped automatic rule (vision/slicing.py). WIDER's
photos are split by file order: even positions tune the rule's parameters (--tune), odd
positions are reported; so no figure printed by the report comes from a photo its parameters
were chosen on.

Per detector it prints recall by the truth face's shorter side (<16, 16-32, 32-64, >=64 px;
valid official boxes, IoU >= 0.4 one to one, as bench_groups.py), precision (a detection
matching any official box, tiny or invalid ones too, is not a false one), the exact-count rate
against every valid box and against the valid boxes of >= 20 px, the share of photos counted
within 10% of the valid boxes, the share of photos sliced and the median/mean ms per photo.
class_photos have no ground truth: their counts before and after are printed side by side.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench_groups import Truth, match, wider_truth
from common import OUT, faces_root, setup_threads
from rollcall.vision.engine import EngineOptions, FaceEngine
from rollcall.vision.imageio import decode_image
from rollcall.vision.slicing import SlicePolicy, should_slice
from rollcall.vision.types import Faces

BINS = ((0, 16, "<16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, 1e9, ">=64"))


def valid_of(truth: Truth, root: Path) -> np.ndarray:
    """Valid (invalid flag 0) official boxes, any size: bench_groups keeps only >= 20 px."""
    lines = (root / "wider_train" / "wider_face_train_bbx_gt_subset.txt").read_text().split("\n")
    name = truth.key.removeprefix("wider_train/")
    i = lines.index(name)
    n = int(lines[i + 1])
    rows = np.array([[int(v) for v in lines[i + 2 + k].split()] for k in range(n)]).reshape(-1, 10)
    return rows[:, 7] == 0


def score(truth: Truth, valid: np.ndarray, faces: Faces) -> dict[str, object]:
    matched = match(faces.boxes, faces.scores, truth.boxes)
    side = np.minimum(truth.boxes[:, 2], truth.boxes[:, 3])
    row: dict[str, object] = {"key": truth.key, "count": len(faces)}
    for lo, hi, label in BINS:
        sel = valid & (side >= lo) & (side < hi)
        row[f"n{label}"] = int(sel.sum())
        row[f"hit{label}"] = int((sel & (matched >= 0)).sum())
    row["correct"] = int((matched >= 0).sum())
    row["valid"] = int(valid.sum())
    row["valid20"] = truth.count
    return row


def summary(rows: list[dict[str, object]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, _, label in BINS:
        n = sum(r[f"n{label}"] for r in rows)
        out[label] = sum(r[f"hit{label}"] for r in rows) / max(1, n)
        out[f"n{label}"] = n
    dets = sum(r["count"] for r in rows)
    out["precision"] = sum(r["correct"] for r in rows) / max(1, dets)
    out["exact"] = np.mean([r["count"] == r["valid"] for r in rows])
    out["exact20"] = np.mean([r["count"] == r["valid20"] for r in rows])
    out["within10"] = np.mean([abs(r["count"] - r["valid"]) <= 0.1 * r["valid"] for r in rows])
    out["sliced"] = np.mean([r.get("sliced", False) for r in rows])
    ms = [r["ms"] for r in rows if "ms" in r]
    out["ms_med"] = float(np.median(ms)) if ms else 0.0
    out["ms_mean"] = float(np.mean(ms)) if ms else 0.0
    return out


def header() -> str:
    return (
        f"{'':>26} {'<16':>6} {'16-32':>6} {'32-64':>6} {'>=64':>6} {'prec':>6} "
        f"{'exact':>6} {'ex>=20':>6} {'±10%':>6} {'sliced':>6} {'ms med':>7} {'ms mean':>7}"
    )


def line(label: str, s: dict[str, float]) -> str:
    return (
        f"{label:>26} {s['<16']:6.1%} {s['16-32']:6.1%} {s['32-64']:6.1%} {s['>=64']:6.1%} "
        f"{s['precision']:6.1%} {s['exact']:6.1%} {s['exact20']:6.1%} {s['within10']:6.1%} "
        f"{s['sliced']:6.1%} {s['ms_med']:7.0f} {s['ms_mean']:7.0f}"
    )


def run(engine: FaceEngine, image: np.ndarray) -> tuple[Faces, float, bool]:
    t0 = time.perf_counter()
    faces = engine.detect(image, pad_retry=True)
    ms = (time.perf_counter() - t0) * 1000
    first = engine.detector.detect(image, still=True) if engine.options.sliced is None else None
    sliced = engine.options.sliced is True or (
        first is not None
        and should_slice(first, engine._working_scale(image, True), engine.options.slice_policy)
    )
    return faces, ms, sliced


def report(args: argparse.Namespace, root: Path) -> None:
    truths = wider_truth(root)
    if args.half != "all":
        truths = truths[1::2] if args.half == "odd" else truths[0::2]
    if args.limit:
        truths = truths[: args.limit]
    valid = {t.key: valid_of(t, root) for t in truths}
    engines = {
        "BEFORE (no slicing)": FaceEngine(EngineOptions(sliced=False)),
        "AFTER (automatic rule)": FaceEngine(EngineOptions(sliced=None)),
    }
    print(
        f"classroom benchmark: WIDER {args.half} half, {len(truths)} photos, "
        f"{sum(int(v.sum()) for v in valid.values())} valid faces; shipped {SlicePolicy()}",
        flush=True,
    )
    rows: dict[str, list[dict[str, object]]] = {k: [] for k in engines}
    for truth in truths:
        image = decode_image((root / truth.key).read_bytes(), truth.key)
        for name, engine in engines.items():
            faces, ms, sliced = run(engine, image)
            row = score(truth, valid[truth.key], faces)
            row.update(ms=ms, sliced=sliced)
            rows[name].append(row)
    print("\nWIDER: recall by the truth face's shorter side; precision; counts; time per photo")
    n = summary(rows["BEFORE (no slicing)"])
    print(f"{'faces':>26} {n['n<16']:>6} {n['n16-32']:>6} {n['n32-64']:>6} {n['n>=64']:>6}")
    print(header())
    for name, rs in rows.items():
        print(line(name, summary(rs)))
    crowded = {k: [r for r in rs if r["valid"] >= 10] for k, rs in rows.items()}
    print(f"\nWIDER photos with >= 10 valid faces ({len(crowded['BEFORE (no slicing)'])}):")
    print(header())
    for name, rs in crowded.items():
        print(line(name, summary(rs)))

    print("\nclass_photos (no ground truth): head count before -> after, ms before -> after")
    classes = sorted((root / "class_photos").glob("*.jpg"))
    times: dict[str, list[float]] = {k: [] for k in engines}
    for path in classes:
        image = decode_image(path.read_bytes(), path.name)
        out = []
        for name, engine in engines.items():
            faces, ms, sliced = run(engine, image)
            times[name].append(ms)
            out.append((len(faces), ms, sliced))
        (b, bms, _), (a, ams, sl) = out
        print(
            f"  {path.name:>20} {image.shape[1]}x{image.shape[0]}: {b:>3} -> {a:>3} faces"
            f"{' (sliced)' if sl else ''}, {bms:5.0f} -> {ams:5.0f} ms"
        )
    for name, ts in times.items():
        print(f"  {name}: median {np.median(ts):.0f} ms, mean {np.mean(ts):.0f} ms")
    generated(engines, root.parent)
    meetings(engines, root.parent)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_classroom.json").write_text(json.dumps(rows, indent=0, default=str))


def generated(engines: dict[str, FaceEngine], faces: Path) -> None:
    """Generated 1280x720 classroom frames (synth/classroom.py): 72 faces of a given size."""
    from rollcall.synth.classroom import classroom_frame, seated_people
    from rollcall.vision.track import iou_matrix

    photos = sorted((faces / "identities" / "photos").glob("*/lfw__*.jpg"))[1::2][:40]
    people = seated_people(photos, engines["BEFORE (no slicing)"].detector)
    print("\ngenerated classrooms (72 faces, video frames): found/false, ms before -> after")
    for lo, hi in ((8, 12), (10, 14), (14, 20), (20, 28)):
        frame, truth = classroom_frame(people, (lo, hi), seed=11)
        out = []
        for engine in engines.values():
            t0 = time.perf_counter()
            found = engine.detect(frame)
            ms = (time.perf_counter() - t0) * 1000
            iou = iou_matrix(found.boxes, truth) if len(found) else np.zeros((1, len(truth)))
            hit, false = (iou.max(axis=0) >= 0.4).sum(), (iou.max(axis=1) < 0.4).sum()
            out.append(f"{hit:>2}/{false}, {ms:5.0f} ms")
        print(f"  faces {lo}-{hi} px: {out[0]}  ->  {out[1]}")


def meetings(engines: dict[str, FaceEngine], faces: Path, repeats: int = 5) -> None:
    """Meeting frames as `rollcall run` sees them: the automatic rule must leave them alone."""
    from rollcall.synth.gallery import gallery_frame

    photos = sorted((faces / "identities" / "photos").glob("*/lfw__*.jpg"))
    print("\nmeeting galleries (video frames): faces found, sliced?, median ms before -> after")
    for n, size in ((25, (1280, 720)), (49, (1280, 720)), (49, (640, 480))):
        frame, _ = gallery_frame(photos[:n], size)
        out = []
        for engine in engines.values():
            ms = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                found = engine.detect(frame)
                ms.append((time.perf_counter() - t0) * 1000)
            out.append((len(found), float(np.median(ms))))
        sliced = should_slice(
            engines["BEFORE (no slicing)"].detect(frame),
            engines["BEFORE (no slicing)"]._working_scale(frame, False),
            SlicePolicy(),
        )
        (b, bms), (a, ams) = out
        print(
            f"  {n} faces at {size[0]}x{size[1]}: {b} -> {a} found, "
            f"{'sliced' if sliced else 'not sliced'}, {bms:.0f} -> {ams:.0f} ms"
        )


def tune(args: argparse.Namespace, root: Path) -> None:
    """Grid over the rule and the tiles on WIDER's even half; prints every point."""
    truths = wider_truth(root)[0::2]
    if args.limit:
        truths = truths[: args.limit]
    valid = {t.key: valid_of(t, root) for t in truths}
    images = {t.key: decode_image((root / t.key).read_bytes(), t.key) for t in truths}
    base = FaceEngine(EngineOptions(sliced=False))
    first = {}
    for t in truths:
        t0 = time.perf_counter()
        first[t.key] = (base.detect(images[t.key], pad_retry=True), time.perf_counter() - t0)
    print(f"tuning on WIDER's even half: {len(truths)} photos")
    print(header())
    b = [score(t, valid[t.key], first[t.key][0]) | {"ms": first[t.key][1] * 1000} for t in truths]
    print(line("no slicing", summary(b)))
    for max_scale, thr in itertools.product(args.scales, args.thresholds):
        policy = SlicePolicy(scale=max_scale, score_threshold=thr)
        engine = FaceEngine(EngineOptions(sliced=True, slice_policy=policy))
        forced = {}
        for t in truths:
            t0 = time.perf_counter()
            forced[t.key] = (engine.detect(images[t.key], pad_retry=True), time.perf_counter() - t0)
        for small, k in itertools.product((16, 20, 24, 32), (1, 2, 4, 8)):
            rule = replace(policy, small_face=small, min_small_faces=k)
            rows = []
            for t in truths:
                ws = base._working_scale(images[t.key], True)
                on = should_slice(first[t.key][0], ws, rule)
                faces, sec = forced[t.key] if on else first[t.key]
                sec = sec + first[t.key][1] if on else sec
                rows.append(score(t, valid[t.key], faces) | {"ms": sec * 1000, "sliced": on})
            print(line(f"x{max_scale} thr{thr} <{small}px x{k}", summary(rows)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", action="store_true", help="grid on WIDER's even half")
    parser.add_argument("--half", choices=("odd", "even", "all"), default="odd")
    parser.add_argument("--limit", type=int, help="at most this many WIDER photos")
    parser.add_argument("--scales", type=float, nargs="*", default=[1.5, 2.0, 2.5])
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.6, 0.7])
    args = parser.parse_args()
    setup_threads(2)
    root = faces_root() / "groups"
    (tune if args.tune else report)(args, root)


if __name__ == "__main__":
    main()
