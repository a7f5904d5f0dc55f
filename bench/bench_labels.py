"""Name labels on gallery tiles: OCR exact-match rate and cost by label size, roster snapping.

Generated gallery frames (3x3 tiles of real photos, sized so the platform would draw the label
at the given pixel size; Zoom, Teams and Meet styles in turn; some labels with a muted or a
raised-hand icon, long names cut with "…") are JPEG-compressed at quality 75, then read by
rollcall's own path: tiles found by the XY-cut, the label strip found in each, recognition only.

Printed, per label font size (8-20 px):
- exact: the text read equals the text drawn, character for character; "exact B": the same
  over the names of half B only (the label reader's own constants, the contrast stretch's
  percentiles, were chosen on half A, see below);
- ms/tile: wall time per tile of strip finding plus recognition (no cache: every strip read),
  and cpu ms: the process's CPU time per tile (all threads), less sensitive to a loaded machine;
- top-1: after snapping to the roster, the tile's own name.
Targets (issue 14): exact >= 97% for labels >= 9 px, <= 60 ms per tile.

The snapping threshold is chosen on half of the names (split by a seeded shuffle) and reported
on the other half: labels of people on the roster must snap to their own name; labels of people
not on the roster (guests, nicknames) must not snap to anyone.

    PYTHONPATH=src python bench/bench_labels.py [--faces DIR] [--sizes 8,9,10,12,14,16,20]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FACES_DEFAULT, setup_threads  # noqa: E402
from rollcall.analysis.labels import normalize, similarity, snap_label  # noqa: E402
from rollcall.synth.gallery import Tile, compose_gallery  # noqa: E402
from rollcall.synth.labels import PLATFORMS, LabelStyle  # noqa: E402
from rollcall.vision.labels import LabelReader  # noqa: E402
from rollcall.vision.ocr import TextLineReader  # noqa: E402
from rollcall.vision.screen import find_tiles  # noqa: E402

# Display names as students type them: accents, hyphens, apostrophes, particles, long ones.
NAMES = [
    "Zoë O'Brien", "José Núñez", "Anaïs Lefèvre", "Björn Åkesson", "Łukasz Wróbel",
    "Chloé Dubois-Martin", "Søren Kierkegaard", "Ines García López", "Jürgen Müller",
    "Siobhán Ní Bhriain", "Mateo Rossi", "Amélie Poulain", "Nguyen Van An", "Priya Ramanathan",
    "Oluwaseun Adeyemi", "François-Xavier Brun", "Ingrid Bergström", "Dmitri Volkov",
    "Aisha Al-Sayed", "Kenji Watanabe", "Marie-Claire d'Arcy", "Tomás Ó Súilleabháin",
    "Hanna Kowalczyk", "Rafael Gonçalves", "Yusuf Yılmaz", "Elena Popescu", "Liam O'Connor",
    "Sofía Hernández", "Kateřina Dvořáková", "Ahmed Ben Salah", "Grace Adebayo-Smith",
    "Mia Schäfer", "Noah van der Berg", "Emma Johansson", "Lucas Petit", "Olga Ivanova",
    "Wei Zhang", "Fatima Zahra", "Matthias Groß", "Ana Luísa Ferreira", "Alexandra Konstantinou",
    "Maximilian von Hohenberg-Ascher", "Ngozi Okonkwo", "Jean-Baptiste Lemaire", "Ella Brown",
    "Sebastián Ortega", "Henrik Nørgaard", "Claire Fontaine",
]  # fmt: skip
SIZES = (8, 9, 10, 11, 12, 14, 16, 18, 20)
JPEG_QUALITY = 75


def photos(root: Path | None, count: int) -> list[np.ndarray]:
    """Webcam pictures for the tiles: real photos when the face data is there, else noise."""
    if root is not None:
        folder = root / "identities" / "photos"
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        rng = random.Random(7)  # nosec B311 - a benchmark's fixed pick
        picked = rng.sample(files, min(count, len(files)))
        images = [cv2.imread(str(p)) for p in picked]
        return [im for im in images if im is not None]
    rng_np = np.random.default_rng(7)
    return [rng_np.integers(40, 220, (240, 320, 3), dtype=np.uint8) for _ in range(count)]


def frame_for(
    names: list[str], pictures: list[np.ndarray], px: int, platform: str, seed: int
) -> tuple[np.ndarray, list[str]]:
    """A 3x3 gallery whose tiles make the app draw labels at ``px``; the texts drawn."""
    tile_h = max(60, round(px / 0.08))
    tile_w = round(tile_h * 16 / 9)
    gap = 6
    cols = rows = 3
    size = (cols * (tile_w + gap) + gap, rows * (tile_h + gap) + gap)
    rects = [
        (gap + c * (tile_w + gap), gap + r * (tile_h + gap), tile_w, tile_h)
        for r in range(rows)
        for c in range(cols)
    ]
    rng = random.Random(seed)  # nosec B311 - a benchmark's seeded choices
    tiles = []
    for i, name in enumerate(names):
        style = LabelStyle(platform, px, muted=rng.random() < 0.3, hand=rng.random() < 0.15)  # type: ignore[arg-type]
        tiles.append(Tile(f"p{i}", pictures[i % len(pictures)], label=name, style=style))
    even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    canvas, truths = compose_gallery(tiles, even, rects=rects[: len(tiles)])
    ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok  # nosec B101 - a benchmark
    return cv2.imdecode(buf, cv2.IMREAD_COLOR), [t.drawn for t in truths]


def choose_threshold(correct: list[float], strangers: list[float]) -> float:
    """The threshold that best separates the two lists (ties: the middle of the best range)."""
    candidates = sorted(set(correct) | set(strangers) | {0.5, 0.95})
    best, best_errors = 0.75, None
    for i, c in enumerate(candidates):
        errors = sum(s < c for s in correct) + sum(s >= c for s in strangers)
        if best_errors is None or errors < best_errors:
            nxt = candidates[i + 1] if i + 1 < len(candidates) else c
            prev = candidates[i - 1] if i else c
            best, best_errors = (prev + c) / 2 if prev < c else c, errors
            del nxt
    return round(best, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=None)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show-misses", type=int, default=3, help="Misses printed per size.")
    args = parser.parse_args()
    setup_threads(args.threads)
    root = args.faces or Path(os.environ.get("ROLLCALL_FACES", FACES_DEFAULT))
    if not (root / "identities" / "photos").is_dir():
        root = None  # no face data: noise pictures instead
    sizes = [int(s) for s in args.sizes.split(",")]
    pictures = photos(root, 30)
    names = list(NAMES)
    random.Random(14).shuffle(names)  # nosec B311 - the fixed calibration split
    half_a, half_b = names[: len(names) // 2], names[len(names) // 2 :]
    reader = TextLineReader(threads=args.threads)
    reader.read([np.full((20, 80, 3), 30, np.uint8)])  # warm up
    pictures_kind = "real photos" if root else "noise"
    print(
        f"pictures: {pictures_kind}; JPEG q{JPEG_QUALITY}; {len(NAMES)} names x "
        f"{len(PLATFORMS)} platforms per size; {args.threads} threads"
    )
    results: dict[int, list[tuple[str, str, str | None, float]]] = {}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    head = ("px", "tiles", "found", "exact", "exact B", "ms/tile", "cpu ms")
    print(" ".join(f"{h:>{w}}" for h, w in zip(head, (3, 5, 6, 6, 8, 8, 8), strict=True)))
    for px in sizes:
        rows: list[tuple[str, str, str | None, float]] = []
        seconds = cpu = 0.0
        tiles_timed = 0
        for p_i, platform in enumerate(PLATFORMS):
            for start in range(0, len(names), 9):
                group = names[start : start + 9]
                frame, drawn = frame_for(group, pictures, px, platform, px * 100 + start + p_i)
                tiles = find_tiles(frame)
                labels = LabelReader(reader)  # a fresh cache: every strip is read
                t0, c0 = time.perf_counter(), time.process_time()
                got = labels.read(frame, tiles)
                seconds += time.perf_counter() - t0
                cpu += time.process_time() - c0
                tiles_timed += len(tiles)
                if len(tiles) != len(group):
                    print(f"  {px} px {platform}: {len(tiles)} tiles found of {len(group)}")
                texts = got.texts if len(tiles) == len(group) else [None] * len(group)
                rows.extend(
                    (name, d, text, 0.0) for name, d, text in zip(group, drawn, texts, strict=True)
                )
        results[px] = rows
        found = sum(r[2] is not None for r in rows) / len(rows)
        exact = sum(r[2] == r[1] for r in rows) / len(rows)
        ms = 1000 * seconds / max(1, tiles_timed)
        cpu_ms = 1000 * cpu / max(1, tiles_timed)
        in_b = [r for r in rows if r[0] in half_b]
        exact_b = sum(r[2] == r[1] for r in in_b) / len(in_b)
        print(
            f"{px:>3} {len(rows):>5} {found:>6.1%} {exact:>6.1%} {exact_b:>8.1%} {ms:>8.1f} "
            f"{cpu_ms:>8.1f}"
        )
    big = [r for px, rows in results.items() if px >= 9 for r in rows]
    if big:
        print(f"labels >= 9 px: exact {sum(r[2] == r[1] for r in big) / len(big):.1%} "
              f"of {len(big)} tiles (target >= 97%)")  # fmt: skip
        # How much of the shortfall is accents alone (an "ō" read for "ö", an "ı" read "i"):
        # the same letters once case, accents and spacing are ignored (analysis.labels.normalize,
        # which also takes "ø", "ł" or "ı" for "o", "l", "i": rollcall.accents).
        loose = sum(r[2] is not None and normalize(r[2]) == normalize(r[1]) for r in big)
        print(f"labels >= 9 px: the same up to accents, case and spacing {loose / len(big):.1%}")
        big_b = [r for r in big if r[0] in half_b]
        print(f"labels >= 9 px, half B names only (the label reader's constants were "
              f"chosen on half A): exact {sum(r[2] == r[1] for r in big_b) / len(big_b):.1%} "
              f"of {len(big_b)} tiles")  # fmt: skip
    for px, rows in results.items():
        misses = [(r[1], r[2]) for r in rows if r[2] != r[1]]
        for drawn, read in misses[: args.show_misses]:
            print(f"  miss at {px} px: drawn {drawn!r} read {read!r}")

    # Snapping: calibrate on half A, report on half B.
    def scores(half: list[str]) -> tuple[list[float], list[float]]:
        own, guest = [], []
        for rows in results.values():
            for name, _, text, _ in rows:
                if text is None or name not in half:
                    continue
                own.append(similarity(text, name))
                others = [n for n in half if n != name]
                guest.append(max(similarity(text, n) for n in others))
        return own, guest

    own_a, guest_a = scores(half_a)
    threshold = choose_threshold(own_a, guest_a)
    print(f"snap threshold chosen on half A ({len(half_a)} names): {threshold}")
    print(f"{'px':>3} {'top-1 (roster B)':>17} {'false snaps (guests)':>21}")
    for px, rows in results.items():
        in_b = [r for r in rows if r[0] in half_b]
        top1 = sum(
            r[2] is not None and snap_label(r[2], half_b, threshold).name == r[0] for r in in_b
        )
        # The same labels against a roster without their owner: a guest must not snap.
        false = sum(
            r[2] is not None
            and snap_label(r[2], [n for n in half_b if n != r[0]], threshold).name is not None
            for r in in_b
        )
        print(f"{px:>3} {top1 / len(in_b):>17.1%} {false / len(in_b):>21.1%}")

    # What rollcall stores when the meeting's accounts are known (a webhook's live events or a
    # report imported before the labels are read): every label snapped with the product's own
    # rule (analysis.labels.snap_label, MIN_SIMILARITY) against all the display names of the
    # meeting (here every name of the benchmark, as accounts) — is it the tile's own account?
    print("\nlabels snapped to the meeting's accounts (all names, product rule): own account")
    stored = {}
    for px, rows in results.items():
        snapped = [(snap_label(r[2], NAMES).name if r[2] is not None else None, r[0]) for r in rows]
        own = sum(name == owner for name, owner in snapped)
        wrong = sum(name not in (None, owner) for name, owner in snapped)
        stored[px] = (own, len(rows))
        print(f"{px:>3} {own / len(rows):>7.1%} own, {wrong / len(rows):.1%} another's")
    own = sum(v[0] for px, v in stored.items() if px >= 9)
    total = sum(v[1] for px, v in stored.items() if px >= 9)
    print(f"labels >= 9 px tied to their own account: {own / max(1, total):.1%} of {total}")


if __name__ == "__main__":
    main()
