"""Engine benchmark (issue 2): detection on gallery views, embedding cost, identification
accuracy, and rollcall against the face_recognition library's pipeline. Prints figures.

    .venv/bin/python bench/bench_engine.py            # full run (~15 min on 2 cores)
    .venv/bin/python bench/bench_engine.py --quick    # fewer frames and repeats (~5 min)
    .venv/bin/python bench/bench_engine.py --smoke    # a tiny run that finishes in < 60 s
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

import cv2
import numpy as np

from common import (
    FULL,
    OUT,
    Photo,
    evaluate,
    extract_all,
    faces_root,
    load_photos,
    make_split,
    median_ms,
    setup_threads,
)
from rollcall.synth import TileTruth, gallery_frame, read_photo
from rollcall.vision.detect import FaceDetector, HaarDetector, YuNetDetector
from rollcall.vision.embed import create_embedder
from rollcall.vision.engine import EngineOptions, FaceEngine
from rollcall.vision.gallery import DEFAULT_MARGIN, DEFAULT_THRESHOLD, MIN_NAMING_PX, Gallery
from rollcall.vision.types import Faces

SIZES = [(640, 480), (1280, 720), (1920, 1080)]
TILES = [4, 25, 49]
# YuNet upscale policies to compare: (upscale_below, max_upscale); (0, 1) never upscales.
# name: (upscale frames whose shorter side is below, to this many px, at most this factor)
POLICIES = {
    "off": (0, 0, 1.0),
    "720/2x": (720, 720, 2.0),
    "<720→1080": (720, 1080, 2.0),
    "1080/2x": (1080, 1080, 2.0),
    "1440/2x": (1440, 1440, 2.0),
}


@dataclass(frozen=True)
class Mode:
    frames: int  # gallery frames per (tiles, size) configuration
    repeats: int  # timed runs per frame; the median is reported
    splits: int
    fr_frames: int
    fr_repeats: int
    fr_upsample: tuple[int, ...]
    sizes: tuple[tuple[int, int], ...]
    tiles: tuple[int, ...]
    policies: tuple[str, ...]
    haar: bool
    dlib: bool
    max_people: int | None = None  # identification on a subset of people (smoke run)
    fr_tiles: tuple[int, ...] = (25, 49)


MODES = {
    "full": Mode(4, 5, 10, 3, 2, (1, 2), tuple(SIZES), tuple(TILES), tuple(POLICIES), True, True),
    "quick": Mode(2, 3, 5, 2, 1, (1,), tuple(SIZES), tuple(TILES), tuple(POLICIES), True, True),
    "smoke": Mode(
        1, 2, 2, 1, 1, (1,), ((1280, 720),), (25,), ("<720→1080",), False, False, 8, (25,)
    ),
}


def log(msg: str) -> None:
    print(msg, flush=True)


def tile_of(faces: Faces, truths: list[TileTruth]) -> np.ndarray:
    """For each detection, the index of the face tile holding its centre, or -1 when none does
    or the box is not face-sized for that tile (a sanity check against stray boxes)."""
    out = np.full(len(faces), -1)
    if not len(faces):
        return out
    cx = faces.boxes[:, 0] + faces.boxes[:, 2] / 2
    cy = faces.boxes[:, 1] + faces.boxes[:, 3] / 2
    side = faces.min_side
    for i, t in enumerate(truths):
        if not t.has_face:
            continue
        x, y, w, h = t.rect
        inside = (cx >= x) & (cx < x + w) & (cy >= y) & (cy < y + h)
        sane = (side >= 0.12 * h) & (side <= 1.05 * h)
        out[inside & sane] = i
    return out


def make_frames(
    photos: list[Photo], tiles: int, size: tuple[int, int], n: int, seed: int
) -> list[tuple[np.ndarray, list[TileTruth]]]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n):
        pick = rng.choice(len(photos), tiles, replace=False)
        frames.append(gallery_frame([photos[i].path for i in pick], size))
    return frames


def detection(photos: list[Photo], mode: Mode) -> list[dict[str, object]]:
    detectors: dict[str, FaceDetector] = {
        f"yunet {name}": YuNetDetector(
            upscale_below=POLICIES[name][0],
            upscale_to=POLICIES[name][1],
            max_upscale=POLICIES[name][2],
        )
        for name in mode.policies
    }
    if mode.haar:
        detectors["haar"] = HaarDetector()
    rows = []
    log("\n## Detection on gallery frames (median ms per frame; faces found / present)")
    log(
        f"{'frame':>16} {'detector':>14} {'ms':>8} {'found':>9} {'rate':>7} {'dup':>4} {'false':>5}"
    )
    for size in mode.sizes:
        for tiles in mode.tiles:
            frames = make_frames(photos, tiles, size, mode.frames, seed=tiles * 7 + size[0])
            for name, det in detectors.items():
                reps = 1 if name == "haar" and size[0] > 1280 else mode.repeats
                ms = [median_ms(lambda d=det, f=f: d.detect(f), reps) for f, _ in frames]
                found = present = dup = false = 0
                for image, truths in frames:
                    where = tile_of(det.detect(image), truths)
                    hit = set(where[where >= 0].tolist())
                    found += len(hit)
                    present += sum(t.has_face for t in truths)
                    dup += int((where >= 0).sum()) - len(hit)
                    false += int((where < 0).sum())
                label = f"{size[0]}x{size[1]} {tiles:>2}t"
                log(
                    f"{label:>16} {name:>14} {np.median(ms):8.1f} {found:>4}/{present:<4} "
                    f"{found / present:7.1%} {dup:>4} {false:>5}"
                )
                rows.append(
                    {
                        "size": size,
                        "tiles": tiles,
                        "detector": name,
                        "ms": float(np.median(ms)),
                        "found": found,
                        "present": present,
                        "duplicates": dup,
                        "false": false,
                    }
                )
    return rows


EMBEDDER_NAMES = ("sface+dlib", "sface", "dlib")


def embedding_cost(photos: list[Photo], mode: Mode) -> dict[str, float]:
    log("\n## Embedding (median ms per face: alignment + network)")
    engine = FaceEngine()
    images, faces = [], []
    for p in photos[:: max(1, len(photos) // 8)][:8]:
        image = read_photo(p.path)
        found = engine.detect(image, pad_retry=True)
        if len(found):
            images.append(image)
            faces.append(found[[0]])
    # A frame's faces are embedded together (one batch): a 1280x720 frame of 25 real faces.
    rng = np.random.default_rng(25)
    pick = rng.choice(len(photos), min(25, len(photos)), replace=False)
    frame, _ = gallery_frame([photos[i].path for i in pick], (1280, 720))
    frame_faces = engine.detect(frame)
    out = {}
    # Also with each face's mirror image averaged in (embed.mirror_mean, off by default).
    runs = [(name, False) for name in EMBEDDER_NAMES] + [(name, True) for name in EMBEDDER_NAMES]
    for name, mirror in runs:
        emb = create_embedder(name, threads=2, mirror=mirror)
        label = f"{name} +mirror" if mirror else name
        one_ms = median_ms(
            lambda e=emb: [e.embed(im, f) for im, f in zip(images, faces, strict=True)],
            mode.repeats,
        ) / len(images)
        frame_ms = median_ms(lambda e=emb: e.embed(frame, frame_faces), mode.repeats) / max(
            1, len(frame_faces)
        )
        out[label] = frame_ms
        out[f"{label} one face"] = one_ms
        log(
            f"  {label:>16}: {one_ms:6.2f} ms for a photo's one face, {frame_ms:6.2f} ms per "
            f"face for a frame's {len(frame_faces)} faces"
        )
    return out


def identification(photos: list[Photo], mode: Mode) -> dict[str, object]:
    log("\n## Identification on the identity photos (enroll 2 per person; 1/4 never enrolled)")
    out: dict[str, object] = {}
    for name in EMBEDDER_NAMES:
        feats = extract_all(photos, name, (FULL, 32, 24), log=log)
        t, m = DEFAULT_THRESHOLD[name], DEFAULT_MARGIN[name]
        log(f"  {name} at threshold {t:.3f}, margin {m:.3f}, {mode.splits} splits:")
        for size in (FULL, 32, 24):
            r = evaluate(photos, feats, size, np.array([t]), np.array([m]), range(mode.splits))
            r = {k: float(v[0, 0]) for k, v in r.items()}
            out[f"{name} {size or 'full'}"] = r
            log(
                f"    {('full' if size == FULL else f'{size} px'):>6}: rank-1 {r['rank1']:6.1%}  "
                f"false id {r['fir']:5.2%} (worst split {r['fir_max']:5.2%})  "
                f"never-enrolled named {r['fpir']:5.2%}  unknown {r['unknown']:5.1%}"
            )
    return out


def versus_face_recognition(photos: list[Photo], mode: Mode) -> list[dict[str, object]]:
    try:
        import face_recognition as fr
    except ImportError:
        log("\nface_recognition not installed; skipping the comparison")
        return []
    log("\n## rollcall vs face_recognition on 1280x720 gallery frames of enrolled people")
    default = EngineOptions().embedder
    feats = {
        name: extract_all(photos, name, (FULL, 32, 24), log=log) for name in ("sface", default)
    }
    split = make_split(photos, feats[default], seed=0)
    by_key = {p.key: p for p in photos}
    # rollcall: the split's two accepted enrollment photos per person, default threshold/margin.
    index = [i for i, keys in enumerate(split.template_keys) for _ in keys]
    engines, galleries = {}, {}
    for name in (default, "sface"):
        templates = np.stack([feats[name][k].enroll for keys in split.template_keys for k in keys])
        galleries[name] = Gallery(
            split.names,
            np.asarray(index),
            templates,
            DEFAULT_THRESHOLD[name],
            DEFAULT_MARGIN[name],
            min_naming_px=MIN_NAMING_PX[name],
        )
        engines[name] = FaceEngine(EngineOptions(embedder=name, threads=2))
    # face_recognition: the same photos through its own usual steps.
    known, known_name, no_face = [], [], 0
    for i, keys in enumerate(split.template_keys):
        for k in keys:
            rgb = cv2.cvtColor(read_photo(by_key[k].path), cv2.COLOR_BGR2RGB)
            locs = fr.face_locations(rgb, number_of_times_to_upsample=1, model="hog")
            if not locs:
                no_face += 1
                continue
            big = max(locs, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            known.append(fr.face_encodings(rgb, [big])[0])
            known_name.append(i)
    known_arr, known_idx = np.array(known), np.array(known_name)
    log(f"  face_recognition enrolled {len(known)} of {len(index)} photos ({no_face} no face)")
    enrolled_probes = [
        k for k, o in zip(split.probe_keys, split.probe_person, strict=True) if o >= 0
    ]
    rows = []
    for tiles in mode.fr_tiles:
        tiles = min(tiles, len(enrolled_probes))
        rng = np.random.default_rng(tiles)
        frames = []
        for _ in range(mode.fr_frames):
            pick = rng.choice(len(enrolled_probes), tiles, replace=False)
            frames.append(
                gallery_frame([by_key[enrolled_probes[i]].path for i in pick], (1280, 720))
            )

        def score(
            named: list[tuple[Faces, list[str | None]]], frames: list[tuple[np.ndarray, list]]
        ) -> tuple[int, int, int]:
            right = wrong = present = 0
            for (faces, names), (_, truths) in zip(named, frames, strict=True):
                where = tile_of(faces, truths)
                said: dict[int, set[str]] = {}
                for w, nm in zip(where, names, strict=True):
                    if w >= 0 and nm is not None:
                        said.setdefault(int(w), set()).add(nm)
                for i, t in enumerate(truths):
                    present += t.has_face
                    got = said.get(i, set())
                    right += t.name in got
                    wrong += bool(got - {t.name})
            return right, wrong, present

        def rollcall_run(image: np.ndarray, name: str) -> tuple[Faces, list[str | None]]:
            gallery = galleries[name]
            res = engines[name].identify(image, gallery)
            return res.faces, [gallery.name_of(int(p)) for p in res.matches.person]

        def fr_run(image: np.ndarray, up: int) -> tuple[Faces, list[str | None]]:
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            locs = fr.face_locations(rgb, number_of_times_to_upsample=up, model="hog")
            enc = fr.face_encodings(rgb, locs)
            names: list[str | None] = []
            for e in enc:
                d = fr.face_distance(known_arr, e)
                j = int(np.argmin(d))
                names.append(split.names[known_idx[j]] if d[j] <= 0.6 else None)
            boxes = [[le, t, r - le, b - t] for t, r, b, le in locs]
            n = len(boxes)
            return Faces(np.array(boxes).reshape(-1, 4), np.ones(n), np.zeros((n, 5, 2))), names

        runs = {
            f"rollcall (yunet, {default})": lambda im: rollcall_run(im, default),
            "rollcall (yunet, sface)": lambda im: rollcall_run(im, "sface"),
        }
        for up in mode.fr_upsample:
            runs[f"face_recognition hog up={up}"] = lambda im, u=up: fr_run(im, u)
        base_ms = None
        for label, fn in runs.items():
            reps = mode.repeats if label.startswith("rollcall") else mode.fr_repeats
            ms = float(
                np.median([median_ms(lambda f=f, fn=fn: fn(f), reps, warmup=0) for f, _ in frames])
            )
            right, wrong, present = score([fn(f) for f, _ in frames], frames)
            base_ms = base_ms or ms
            log(
                f"  {tiles}t {label:>28}: {ms:8.1f} ms/frame ({ms / base_ms:5.1f}x rollcall)  "
                f"recall {right}/{present} = {right / present:6.1%}  wrong names {wrong}"
            )
            rows.append(
                {
                    "tiles": tiles,
                    "pipeline": label,
                    "ms": ms,
                    "right": right,
                    "wrong": wrong,
                    "present": present,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="rollcall engine benchmark (prints figures)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer frames and repeats")
    group.add_argument("--smoke", action="store_true", help="a tiny run (< 60 s)")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["detect", "embed", "identify", "fr"]
    )
    args = parser.parse_args()
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    setup_threads(2)
    photos = load_photos(faces_root())
    if mode.max_people:
        people = sorted({p.person for p in photos})[
            :: max(1, len({p.person for p in photos}) // mode.max_people)
        ]
        photos = [p for p in photos if p.person in people]
    start = time.perf_counter()
    log(f"rollcall engine benchmark: {len(photos)} photos, OpenCV {cv2.__version__}, 2 threads")
    report: dict[str, object] = {}
    if "detect" not in args.skip:
        report["detection"] = detection(photos, mode)
    if "embed" not in args.skip:
        report["embedding_ms"] = embedding_cost(photos, mode)
    if "identify" not in args.skip:
        report["identification"] = identification(photos, mode)
    if "fr" not in args.skip:
        report["versus_face_recognition"] = versus_face_recognition(photos, mode)
    OUT.mkdir(parents=True, exist_ok=True)
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    (OUT / f"bench_engine_{name}.json").write_text(json.dumps(report, indent=1))
    log(
        f"\ndone in {time.perf_counter() - start:.0f} s; "
        f"figures in bench/out/bench_engine_{name}.json"
    )


if __name__ == "__main__":
    main()
