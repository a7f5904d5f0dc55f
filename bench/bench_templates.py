"""Does a person's number of templates change how often strangers are taken for them?

For each way of scoring a face against a person's templates, the threshold and margin are
calibrated the old way (2 templates per person, openset.Criterion on every collection), then
kept while people enroll 1, 2, 5, 10 or 25 photos. A rule whose false identifications climb
with the number of templates names strangers as the people with the most photos. The shipped
Gallery is also shown at its shipped defaults. Colour photos, and the same photos in grey.

    .venv/bin/python bench/bench_templates.py [--embedder sface+dlib] [--splits 20]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import FULL, OUT, extract_all, faces_root, load_photos, setup_threads
from openset import (
    SCORERS,
    TEMPLATE_COUNTS,
    Criterion,
    gallery_scorer,
    make_split,
    one_template_cosine,
    quality_weighted,
    run,
    size_name,
)
from rollcall.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    SINGLE_TEMPLATE_COSINE,
)

SIZES = (FULL, 32, 24)
SHOWN = (FULL, 32)
GRID = (np.round(np.arange(0.70, 0.9001, 0.0025), 4), np.array([0, 0.005, 0.01, 0.02, 0.035]))
RULES = (
    "max",
    "max+centroid (before)",
    "max+centroid - 0.02 ln(n/2)",
    "centroid",
    "top-2 mean",
    "mean",
)


def qualified(photos: list, feats: dict) -> dict[int, int]:
    """How many people can enroll n photos and keep one to be recognised on."""
    return {
        n: len(make_split(photos, feats, 0, n, stranger_fraction=0).names) for n in TEMPLATE_COUNTS
    }


def table(photos, feats, scorer, splits) -> dict:  # noqa: ANN001
    thresholds, margins = GRID
    return {
        ("colour", n, s): run(
            photos, feats, s, thresholds, margins, range(splits), n, scorer
        ).pooled()
        for n in TEMPLATE_COUNTS
        for s in SIZES
    }


def show(label: str, results: dict, ti: int, mi: int, thresholds, margins) -> dict:  # noqa: ANN001
    print(f"  {label} at {thresholds[ti]:.3f}/{margins[mi]:.3f}:")
    out = {}
    for s in SHOWN:
        line = f"    {size_name(s):>5}"
        for n in TEMPLATE_COUNTS:
            r = {k: float(v[ti, mi]) for k, v in results[("colour", n, s)].items() if k != "probes"}
            out[f"{n} {size_name(s)}"] = r
            line += (
                f" | {n:2d}: {r['rank1'] * 100:5.1f} {r['fir'] * 100:4.2f} "
                f"({r['fir_max'] * 100:4.2f}) {r['fpir'] * 100:4.2f} {r['pair_fmr'] * 1e3:5.2f}"
            )
        print(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="sface+dlib")
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    report: dict[str, object] = {}
    thresholds, margins = GRID
    two = Criterion(counts=(2,))
    for variant in ("colour", "grey"):
        feats = extract_all(photos, args.embedder, SIZES, grey=variant == "grey")
        counts = qualified(photos, feats)
        print(
            f"\n=== {variant}, {args.embedder}: people who can enroll n photos and keep one: "
            + ", ".join(f"{n}: {c}" for n, c in counts.items())
        )
        print(
            "  per template count: rank-1, FIR (worst split), never-enrolled named (FPIR), in %; "
            "stranger-person pairs above the threshold per 1,000"
        )
        section: dict[str, object] = {"qualified": counts}
        rho = one_template_cosine(photos, feats)
        rules = {name: SCORERS[name] for name in RULES}
        options = {"single_template_cosine": SINGLE_TEMPLATE_COSINE.get(args.embedder)}
        for label, quality in (
            ("detector score", lambda f: f.det_score),
            ("log sharpness", lambda f: np.log(f.sharpness)),
            ("face size", lambda f: min(f.face_px, 150.0)),
        ):
            rules[f"shipped, weighted by {label}"] = quality_weighted(feats, quality, **options)
        rules["shipped Gallery"] = gallery_scorer(**options)
        for name, scorer in rules.items():
            results = table(photos, feats, scorer, args.splits)
            ti, mi = two.choose(results)
            section[name] = show(f"{name}, calibrated with 2 templates", results, ti, mi, *GRID)
        shipped_t = DEFAULT_THRESHOLD.get(args.embedder)
        shipped_m = DEFAULT_MARGIN.get(args.embedder)
        if shipped_t in thresholds and shipped_m in margins:
            ti = int(np.flatnonzero(thresholds == shipped_t)[0])
            mi = int(np.flatnonzero(margins == shipped_m)[0])
            section["shipped defaults"] = show(
                "shipped Gallery at the shipped defaults", results, ti, mi, *GRID
            )
        section["single_template_cosine_measured"] = rho
        report[variant] = section
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bench_templates.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
