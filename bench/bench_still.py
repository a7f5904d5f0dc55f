"""Pictures on a classroom's walls (vision/still.py): does a face that never moves look unmoved,
and a real one moved?

Real faces: the real videos in shared/data/faces/videos (7 clips, one person each), a frame every
0.5 s, shrunk so the face is 16-64 px, with a camera's noise (sigma 3) and a recording's JPEG
loss (quality 45-85). Each pair of frames GAP seconds or more apart is one comparison: the
earlier face's patch against the later frame cut at the earlier box (what StillFaces does).
Samples in a session are 20-90 s apart; these clips are 3-20 s long, so a real face here has
had less time to move than between two samples (the figures for real faces are pessimistic).

Pictures: the same frames, unmoved: shot again with fresh noise, another JPEG quality, a light
change (gain 0.85-1.15, offset +-10 levels) and a camera drift of up to 1 px.

The threshold is chosen leave-one-clip-out: on the other six clips, the lowest value that
keeps 97% of the pictures' comparisons at >= 24 px (the naming size) unmoved; every figure
printed for a clip comes from a threshold its own frames had no part in. Per clip and size it
prints the share of pictures found unmoved and of real comparisons found unmoved, and what
StillFaces' verdicts make of them over a place's first 30 comparisons (as if independent,
simulated): the chance a real face is taken for a PICTURE at some point (not counted while it
is), and a picture for LIVE (what could credit a poster).

    .venv/bin/python bench/bench_still.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import av
import cv2
import numpy as np

from common import OUT, faces_root, setup_threads
from rollcall.vision.engine import FaceEngine
from rollcall.vision.still import (
    DECAY,
    LIVE_WEIGHT,
    RECENT,
    STILL_LIKENESS,
    Verdict,
    grey,
    likeness,
    patch,
    verdict_of,
)

SIZES = (16, 24, 32, 48, 64)
GAP = 2.0
KEEP = 0.97
NAMED = 24  # faces under this are never named (vision.gallery.MIN_NAMING_PX for sface+dlib)


def frames(path: Path, every: float = 0.5) -> list[tuple[float, np.ndarray]]:
    out, due = [], 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t >= due:
                out.append((t, frame.to_ndarray(format="bgr24")))
                due += every
    return out


def shot(image: np.ndarray, rng: random.Random, nrng: np.random.Generator, **light) -> np.ndarray:
    """A camera's take of ``image``: drift, light, noise and JPEG loss."""
    h, w = image.shape[:2]
    dx, dy = light.get("drift", (0.0, 0.0))
    moved = cv2.warpAffine(
        image, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    x = moved.astype(np.float32) * light.get("gain", 1.0) + light.get("offset", 0.0)
    x = np.clip(x + nrng.normal(0, 3.0, x.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(45, 85)])
    assert ok  # nosec B101 - benchmark
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def clip_scores(engine: FaceEngine, path: Path, seed: int) -> dict[int, dict[str, list[float]]]:
    """Per face size: the likeness of real comparisons and of pictures."""
    rng = random.Random(seed)  # nosec B311 - seeded benchmark data
    nrng = np.random.default_rng(seed)
    taken = frames(path)
    boxes: dict[int, np.ndarray] = {}
    for k, (_, image) in enumerate(taken):
        found = engine.detect(image)
        if len(found):
            boxes[k] = found.boxes[int(np.argmax(found.min_side)), :4].astype(np.float32)
    out: dict[int, dict[str, list[float]]] = {}
    if not boxes:
        return out
    side = float(np.median([min(b[2], b[3]) for b in boxes.values()]))
    for size in SIZES:
        scale = size / side
        if scale > 1:
            continue
        small = {
            k: cv2.resize(taken[k][1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            for k in boxes
        }
        shots = {k: shot(im, rng, nrng) for k, im in small.items()}
        real, picture = [], []
        for a in boxes:
            box = boxes[a] * scale
            earlier = patch(grey(shots[a]), box)
            for b in boxes:
                if taken[b][0] - taken[a][0] >= GAP:
                    real.append(likeness(grey(shots[b]), box, earlier))
            light = {
                "drift": (rng.uniform(-1, 1), rng.uniform(-1, 1)),
                "gain": rng.uniform(0.85, 1.15),
                "offset": rng.uniform(-10, 10),
            }
            again = shot(small[a], rng, nrng, **light)
            picture.append(likeness(grey(again), box, earlier))
        out[size] = {"real": real, "picture": picture}
    return out


def _verdicts_over(unmoved: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """StillFaces' rule (``verdict_of``) vectorised over places: for (runs, n) comparisons
    (True: unmoved), whether each place is a PICTURE, and LIVE, after each comparison."""
    runs, n = unmoved.shape
    w_still = np.zeros(runs)
    w_moved = np.zeros(runs)
    picture = np.zeros((runs, n), bool)
    live = np.zeros((runs, n), bool)
    for k in range(n):
        w_still = w_still * DECAY + unmoved[:, k]
        w_moved = w_moved * DECAY + ~unmoved[:, k]
        recent = unmoved[:, max(0, k - RECENT + 1) : k + 1]
        still_recent = recent.sum(axis=1)
        moved_recent = recent.shape[1] - still_recent
        live[:, k] = (moved_recent >= 3) & (w_moved >= LIVE_WEIGHT * w_still)
        picture[:, k] = (still_recent >= 2) & unmoved[:, k] & (w_still >= w_moved)
    return picture, live


def ever(p_still: float, n: int = 30, runs: int = 20000, seed: int = 0) -> tuple[float, float]:
    """Over a place's first n comparisons, each unmoved with chance p_still (independently):
    the share of simulated places judged a PICTURE at some point, and LIVE at some point."""
    rng = np.random.default_rng(seed)
    picture, live = _verdicts_over(rng.random((runs, n)) < p_still)
    return float(picture.any(axis=1).mean()), float(live.any(axis=1).mean())


def _check_against_rule() -> None:
    """The vectorised rule is StillFaces' own: every step of 200 random histories agrees."""
    rng = np.random.default_rng(1)
    unmoved = rng.random((200, 12)) < 0.5
    picture, live = _verdicts_over(unmoved)
    for row in range(len(unmoved)):
        for k in range(unmoved.shape[1]):
            verdict = verdict_of(list(unmoved[row, : k + 1]))
            assert (verdict == Verdict.PICTURE) == picture[row, k], unmoved[row]  # nosec B101
            assert (verdict == Verdict.LIVE) == live[row, k], unmoved[row]  # nosec B101


def main() -> None:
    _check_against_rule()
    setup_threads(2)
    root = faces_root()
    engine = FaceEngine()
    clips = sorted((root / "videos").glob("*.mp4"))
    scores = {c.name: clip_scores(engine, c, seed) for seed, c in enumerate(clips)}
    report: dict[str, object] = {"shipped_threshold": STILL_LIKENESS, "clips": {}}
    print(f"shipped STILL_LIKENESS {STILL_LIKENESS}; comparisons >= {GAP:.0f} s apart")
    print(
        f"{'held-out clip':30s} {'T':>5s} {'size':>4s} {'pictures unmoved':>17s} "
        f"{'real unmoved':>13s} {'real->PICTURE':>14s} {'picture->LIVE':>14s}  (ever, 30)"
    )
    for held in scores:
        pooled = [
            v
            for name, per in scores.items()
            if name != held
            for size, got in per.items()
            if size >= NAMED
            for v in got["picture"]
        ]
        threshold = float(np.quantile(pooled, 1 - KEEP))
        rows = {}
        for size, got in scores[held].items():
            real, picture = np.array(got["real"]), np.array(got["picture"])
            for label, t in (("chosen", threshold), ("shipped", STILL_LIKENESS)):
                p_pic = float(np.mean(picture >= t))
                p_real = float(np.mean(real >= t))
                real_picture, _ = ever(p_real)
                _, picture_live = ever(p_pic)
                rows[f"{label}/{size}"] = {
                    "threshold": t,
                    "pictures_unmoved": p_pic,
                    "real_unmoved": p_real,
                    "real_ever_picture_30": real_picture,
                    "picture_ever_live_30": picture_live,
                    "n_real": len(real),
                    "n_pictures": len(picture),
                }
                print(
                    f"{held:30s} {t:5.3f} {size:4d} {100 * p_pic:16.1f}% {100 * p_real:12.1f}% "
                    f"{100 * real_picture:13.2f}% {100 * picture_live:13.3f}%"
                    + ("  (shipped)" if label == "shipped" else ""),
                    flush=True,
                )
        report["clips"][held] = rows  # type: ignore[index]
    OUT.mkdir(exist_ok=True)
    (OUT / "still.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
