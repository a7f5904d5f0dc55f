"""Group-photo benchmark (issue 11, item 7): head counts and detection quality on real group
photos with boxes drawn by others. Prints precision and recall of the detections and how often
the head count is exact, per collection (and per WIDER event), and the time per photo.

    .venv/bin/python bench/bench_groups.py                 # every group photo with ground truth
    .venv/bin/python bench/bench_groups.py --scale 4032    # rescaled: long side 4032 px
    .venv/bin/python bench/bench_groups.py --mosaic        # 12 MP photos of WIDER mosaics
    .venv/bin/python bench/bench_groups.py --mosaic --still-max-pixels 2073600  # 2 MP cap
    .venv/bin/python bench/bench_groups.py --events 20--Family_Group --label family

Detection is what `rollcall count` does: `FaceEngine.detect(image, pad_retry=True)`, default
detector. Ground truth:

- wider_train: the official WIDER FACE boxes (wider_face_train_bbx_gt_subset.txt); recall counts
  the valid boxes of at least 20 px (shorter side), as counts.csv's `valid_and_min_side>=20px`;
  a detection matching any official box (tiny or invalid ones too) is not a false one.
- voc_dlib: dlib's boxes (training.xml, testing.xml). They cover frontal foreground faces only,
  so a background face found counts as a false detection here: precision is a lower bound.
- misc: counts by eye (counts.csv), no boxes: only the count is scored.

--mosaic: 12 MP group photos with small faces in real detail (a WIDER photo rescaled to 4032 px
has no more detail than at 1024 px): every 12 WIDER photos in file order, each shrunk to fit a
1008x1008 cell, tiled 4x3 into a 4032x3024 image, with their official boxes.

A detection matches a truth box when their IoU is at least 0.4 (dlib's square boxes are tighter
than YuNet's), one to one, best score first. "exact" is the share of photos whose head count
equals the number of truth faces (WIDER: valid and >= 20 px); "in range" (WIDER) also accepts
any count between that and the number of all official boxes, tiny and invalid ones included.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from common import OUT, faces_root, setup_threads
from rollcall.vision.engine import FaceEngine
from rollcall.vision.imageio import decode_image
from rollcall.vision.track import iou_matrix

MATCH_IOU = 0.4
MIN_SIDE = 20  # WIDER truth boxes smaller than this are not expected to be found


@dataclass
class Truth:
    key: str  # relative to groups/
    collection: str  # wider event, voc_dlib or misc
    boxes: np.ndarray | None  # (N, 4) xywh, every official box; None: count only
    expected: np.ndarray | None  # (N,) bool: counted in recall and in the exact count
    count: int  # the exact head count expected


def wider_truth(root: Path) -> list[Truth]:
    lines = (root / "wider_train" / "wider_face_train_bbx_gt_subset.txt").read_text().split("\n")
    out, i = [], 0
    while i < len(lines) and lines[i].strip():
        name, n = lines[i].strip(), int(lines[i + 1])
        rows = np.array(
            [[int(v) for v in lines[i + 2 + k].split()] for k in range(n)], np.float32
        ).reshape(-1, 10)
        valid = (rows[:, 7] == 0) & (np.minimum(rows[:, 2], rows[:, 3]) >= MIN_SIDE)
        out.append(
            Truth(f"wider_train/{name}", name.split("/")[0], rows[:, :4], valid, int(valid.sum()))
        )
        i += 2 + max(n, 1)
    return out


def voc_truth(root: Path) -> list[Truth]:
    out = []
    for xml in ("training.xml", "testing.xml"):
        for image in ET.parse(root / "voc_dlib" / xml).getroot().iter("image"):
            boxes = np.array(
                [
                    [float(b.get(k)) for k in ("left", "top", "width", "height")]
                    for b in image.iter("box")
                ],
                np.float32,
            ).reshape(-1, 4)
            out.append(
                Truth(
                    f"voc_dlib/{image.get('file')}",
                    "voc_dlib",
                    boxes,
                    np.ones(len(boxes), bool),
                    len(boxes),
                )
            )
    return out


def misc_truth(root: Path) -> list[Truth]:
    with (root / "counts.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["relpath"].startswith("groups/misc/")]
    return [
        Truth(r["relpath"].removeprefix("groups/"), "misc", None, None, int(r["face_count"]))
        for r in rows
    ]


def all_truth(root: Path) -> list[Truth]:
    return wider_truth(root) + voc_truth(root) + misc_truth(root)


MOSAIC_CELL, MOSAIC_GRID = 1008, (4, 3)


def mosaics(root: Path, truths: list[Truth]) -> list[tuple[Truth, np.ndarray]]:
    """4032x3024 mosaics of 12 WIDER photos each (see --mosaic), with their truth."""
    wider = [t for t in truths if t.key.startswith("wider_train/")]
    cols, rows = MOSAIC_GRID
    per = cols * rows
    out = []
    for m in range(len(wider) // per):
        canvas = np.zeros((rows * MOSAIC_CELL, cols * MOSAIC_CELL, 3), np.uint8)
        boxes, expected = [], []
        for j, t in enumerate(wider[m * per : (m + 1) * per]):
            image = decode_image((root / t.key).read_bytes(), t.key)
            h, w = image.shape[:2]
            scale = min(1.0, MOSAIC_CELL / max(h, w))
            image = cv2.resize(
                image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
            ox, oy = (j % cols) * MOSAIC_CELL, (j // cols) * MOSAIC_CELL
            canvas[oy : oy + image.shape[0], ox : ox + image.shape[1]] = image
            b = t.boxes * scale
            b[:, 0] += ox
            b[:, 1] += oy
            boxes.append(b)
            expected.append(t.expected)
        exp = np.concatenate(expected)
        truth = Truth(
            f"mosaic {m + 1}", "WIDER mosaics", np.concatenate(boxes), exp, int(exp.sum())
        )
        out.append((truth, canvas))
    return out


def match(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each truth box, the index of the detection matched to it, or -1."""
    matched = np.full(len(truth), -1)
    if not len(boxes) or not len(truth):
        return matched
    iou = iou_matrix(boxes.astype(np.float32), truth.astype(np.float32))
    for i in np.argsort(-scores):
        free = np.where(matched < 0, iou[i], -1.0)
        j = int(np.argmax(free))
        if free[j] >= MATCH_IOU:
            matched[j] = i
    return matched


def rescale(image: np.ndarray, long_side: int | None) -> tuple[np.ndarray, float]:
    if not long_side:
        return image, 1.0
    h, w = image.shape[:2]
    scale = long_side / max(h, w)
    interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=interp), scale


def score_photo(truth: Truth, boxes: np.ndarray, scores: np.ndarray) -> dict[str, object]:
    row: dict[str, object] = {"key": truth.key, "collection": truth.collection}
    row["count"] = len(boxes)
    row["expected"] = truth.count
    row["exact"] = len(boxes) == truth.count
    if truth.boxes is None:
        return row
    matched = match(boxes, scores, truth.boxes)
    row["true_boxes"] = int(truth.expected.sum())
    row["found"] = int(((matched >= 0) & truth.expected).sum())
    row["detections"] = len(boxes)
    row["correct"] = int((matched >= 0).sum())
    row["in_range"] = truth.count <= len(boxes) <= len(truth.boxes)
    row["false"] = sorted(set(range(len(boxes))) - set(matched[matched >= 0].tolist()))
    return row


def summarise(rows: list[dict[str, object]]) -> dict[str, float]:
    boxed = [r for r in rows if "found" in r]
    out: dict[str, float] = {"photos": len(rows), "exact": np.mean([r["exact"] for r in rows])}
    if boxed:
        true_boxes = sum(r["true_boxes"] for r in boxed)
        dets = sum(r["detections"] for r in boxed)
        out["recall"] = sum(r["found"] for r in boxed) / max(1, true_boxes)
        out["precision"] = sum(r["correct"] for r in boxed) / max(1, dets)
        out["false"] = dets - sum(r["correct"] for r in boxed)
        out["in_range"] = np.mean([r["in_range"] for r in boxed])
        out["faces"] = true_boxes
    return out


def log(msg: str) -> None:
    print(msg, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="head counts on group photos with ground truth")
    parser.add_argument("--scale", type=int, help="rescale so the long side is this many px")
    parser.add_argument("--events", nargs="*", help="only these collections / WIDER events")
    parser.add_argument("--limit", type=int, help="at most this many photos per collection")
    parser.add_argument("--mosaic", action="store_true", help="12 MP mosaics of WIDER photos")
    parser.add_argument(
        "--still-max-pixels", type=int, help="YuNet's working-level cap for stills (pixels)"
    )
    parser.add_argument("--label", default="", help="suffix of the JSON file in bench/out/")
    args = parser.parse_args()
    setup_threads(2)
    root = faces_root() / "groups"
    truths = all_truth(root)
    if args.events:
        truths = [t for t in truths if t.collection in args.events]
    if args.limit:
        by: dict[str, list[Truth]] = defaultdict(list)
        for t in truths:
            by[t.collection].append(t)
        truths = [
            t for ts in by.values() for t in ts[:: max(1, len(ts) // args.limit)][: args.limit]
        ]
    engine = FaceEngine()
    if args.still_max_pixels is not None:
        engine.detector.still_max_pixels = args.still_max_pixels
    start = time.perf_counter()
    if args.mosaic:
        photos = mosaics(root, truths)
    else:
        photos = [(t, None) for t in truths]
    size = f"long side {args.scale} px" if args.scale else "native size"
    log(
        f"group benchmark: {len(photos)} photos, "
        f"{'4032x3024 mosaics' if args.mosaic else size}, OpenCV {cv2.__version__}, 2 threads"
    )
    rows = []
    for truth, image in photos:
        if image is None:
            image = decode_image((root / truth.key).read_bytes(), truth.key)
        image, scale = rescale(image, args.scale)
        t0 = time.perf_counter()
        faces = engine.detect(image, pad_retry=True)
        ms = (time.perf_counter() - t0) * 1000
        row = score_photo(truth, faces.boxes / scale, faces.scores)
        row["ms"] = ms
        row["scores"] = [round(float(s), 3) for s in faces.scores]
        row["boxes"] = np.round(faces.boxes / scale, 1).tolist()
        rows.append(row)
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        groups[str(r["collection"])].append(r)
        if str(r["key"]).startswith("wider_train/"):
            groups["WIDER (all events)"].append(r)
    log(
        f"\n{'collection':>20} {'photos':>6} {'faces':>6} {'recall':>7} {'precision':>9} "
        f"{'false':>5} {'exact':>6} {'in range':>8} {'ms med':>7}"
    )
    for name, rs in groups.items():
        s = summarise(rs)
        ms = np.median([r["ms"] for r in rs])
        if "recall" in s:
            log(
                f"{name:>20} {s['photos']:>6} {s['faces']:>6} {s['recall']:7.1%} "
                f"{s['precision']:9.1%} {s['false']:>5} {s['exact']:6.1%} {s['in_range']:8.1%} "
                f"{ms:7.0f}"
            )
        else:
            log(
                f"{name:>20} {s['photos']:>6} {'':>6} {'':>7} {'':>9} {'':>5} "
                f"{s['exact']:6.1%} {'':>8} {ms:7.0f}"
            )
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"bench_groups{'_' + args.label if args.label else ''}.json"
    out.write_text(json.dumps(rows, indent=0))
    log(f"\ndone in {time.perf_counter() - start:.0f} s; rows in {out}")


if __name__ == "__main__":
    main()
