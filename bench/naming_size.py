"""Where recognition stops being reliable as faces get smaller, per embedder.

Probes are shrunk so the face's shorter side is 40, 32, 28, 24, 20, 16 and 12 px (the image
scaled down onto a dark canvas, detected again at that size without upscaling, as
common.shrink_into_canvas does) and scored against people enrolled from full-size photos, at
each embedder's shipped threshold and margin. Per size: how often the face is found, rank-1,
and among the faces found: how often the best candidate is the right person (closed-set),
how often a found face of an enrolled person is named, and false identifications.

The naming size (gallery.MIN_NAMING_PX) is the smallest size from which on, at every size
measured above it, the best candidate of a found face is the right person at least 95% of the
time with 1, 2 and 5 templates: below it, even a correct-looking match is a guess one time in
twenty or more, so the face is counted but not named.

    .venv/bin/python bench/naming_size.py [--embedder sface+dlib sface dlib] [--splits 10]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import FULL, OUT, extract_all, faces_root, load_photos, setup_threads
from openset import gallery_scorer, make_split, score_split, size_name
from rollcall.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    MIN_NAMING_PX,
    SINGLE_TEMPLATE_COSINE,
)

SIZES = (FULL, 40, 32, 28, 24, 20, 16, 12)
COUNTS = (1, 2, 5)
RELIABLE = 0.95


def measure(photos, feats, embedder: str, n: int, size: int, splits: int) -> dict[str, float]:  # noqa: ANN001
    t, m = DEFAULT_THRESHOLD[embedder], DEFAULT_MARGIN[embedder]
    scorer = gallery_scorer(single_template_cosine=SINGLE_TEMPLATE_COSINE.get(embedder))
    c = np.zeros(8)
    px = []
    for seed in range(splits):
        s = score_split(make_split(photos, feats, seed, n), feats, size, scorer)
        found = ~np.isnan(s.best)
        enrolled = s.truth >= 0
        with np.errstate(invalid="ignore"):
            named = found & (s.best >= t) & (s.best - s.second >= m)
        right = s.best_person == s.truth
        c += [
            enrolled.sum(),
            (enrolled & found).sum(),
            (enrolled & found & right).sum(),
            (enrolled & named & right).sum(),
            (named & ~(enrolled & right)).sum(),
            len(s.truth),
            found.sum(),
            (named & ~enrolled).sum(),
        ]
        px += list(s.face_px[found])
    n_enr, n_found_enr, closed, rank1, false, total, found_all, strangers_named = c
    return {
        "found": n_found_enr / n_enr,
        "rank1": rank1 / n_enr,
        "closed_of_found": closed / max(n_found_enr, 1),
        "named_of_found": rank1 / max(n_found_enr, 1),
        "fir": false / total,
        "fir_of_found": false / max(found_all, 1),
        "strangers_named": strangers_named,
        "median_px": float(np.median(px)) if px else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", nargs="+", default=["sface+dlib", "sface", "dlib"])
    parser.add_argument("--splits", type=int, default=10)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    report: dict[str, object] = {}
    for embedder in args.embedder:
        feats = extract_all(photos, embedder, SIZES)
        t, m = DEFAULT_THRESHOLD[embedder], DEFAULT_MARGIN[embedder]
        print(
            f"\n=== {embedder} at {t:.3f}/{m:.3f}: "
            "found, rank-1, and of the faces found: candidate right (closed-set), named right, "
            "FIR (%)"
        )
        rows: dict[str, dict[str, float]] = {}
        for n in COUNTS:
            for size in SIZES:
                r = measure(photos, feats, embedder, n, size, args.splits)
                rows[f"{n} {size_name(size)}"] = r
                print(
                    f"  {n} templates {size_name(size):>5} (median {r['median_px']:5.1f} px): "
                    f"found {r['found'] * 100:5.1f}  rank-1 {r['rank1'] * 100:5.1f}  "
                    f"closed {r['closed_of_found'] * 100:5.1f}  "
                    f"named {r['named_of_found'] * 100:5.1f}  FIR {r['fir_of_found'] * 100:4.2f}"
                )
        small = [s for s in SIZES if s != FULL]  # descending
        naming = small[0]
        for size in small:
            if all(rows[f"{n} {size_name(size)}"]["closed_of_found"] >= RELIABLE for n in COUNTS):
                naming = size
            else:
                break
        print(
            f"  reliable (candidate right >= {RELIABLE:.0%} with {COUNTS} templates) down to "
            f"{naming} px; shipped MIN_NAMING_PX {MIN_NAMING_PX.get(embedder)}"
        )
        report[embedder] = {"rows": rows, "naming_px": naming}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "naming_size.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
