"""Calibrate the re-check that lets a verification keep a name on dlib's half of sface+dlib alone.

When the head count changes every face is judged again from its own embedding. Most of that
cost is SFace (~25 ms of one core a face, dlib's ResNet ~5 ms: bench/bench_scale.py), and most
re-judged faces are people already named who are still themselves. The re-check embeds a named
face with dlib's network only and keeps the name when the face's dlib score for that person,
against the dlib halves of the same templates, clears a threshold set far above where
strangers reach: at a tenth of the stranger-person pairs the full matcher allows (its limit
2e-4, this one 2e-5), and that person must be dlib's best candidate. Anything else (a lower
score, another best candidate, a face without a name) goes through the full sface+dlib matcher
as before. So a stranger who took a named face's place keeps that name only by passing both the
tracker's same-look test and this threshold.

The threshold is chosen as in bench/calibrate.py: leave-one-collection-out, 1-25 templates,
full size, 32 and 24 px, colour and grey, and each collection's probes scored at the point
chosen without it. Printed per collection: the share of its enrolled faces the re-check keeps
(CPU saved; the others are embedded in full), the share of its probes that pass for a wrong
person (FIR: the worst case, as if every face claimed the name dlib likes best), and the
stranger-person pairs above the threshold.

    .venv/bin/python bench/calibrate_recheck.py [--splits 20]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

import numpy as np

from calibrate import CAL_SIZES, EVAL_SIZES, VARIANTS, print_loco, scorer_for
from common import FULL, FUSED, OUT, Features, extract_all, faces_root, load_photos, setup_threads
from openset import TEMPLATE_COUNTS, Criterion, at, leave_one_out, pool_runs, size_name
from rollcall.vision.embed import dlib_half
from rollcall.vision.gallery import RECHECK_PAIR_LIMIT, RECHECK_THRESHOLD

THRESHOLDS = np.round(np.arange(0.93, 0.99501, 0.0025), 4)
MARGINS = np.array([0.0])
LEVELS = (1e-4, 5e-5, 2e-5, 1e-5, 5e-6)


def dlib_features(feats: dict[str, Features]) -> dict[str, Features]:
    """Each photo's features as the re-check scores them (vision.embed.dlib_half)."""

    def part(v: np.ndarray | None) -> np.ndarray | None:
        return None if v is None else dlib_half(v[None])[0]

    return {
        k: replace(f, enroll=part(f.enroll), probe={s: part(v) for s, v in f.probe.items()})
        for k, f in feats.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    colour = dlib_features(extract_all(photos, FUSED, CAL_SIZES))
    grey = dlib_features(extract_all(photos, FUSED, CAL_SIZES, grey=True))
    print(f"=== re-check on dlib's half of {FUSED}: {len(photos)} photos, {args.splits} splits")
    held = leave_one_out(
        photos,
        {"colour": (colour, colour), "grey": (grey, grey), "grey probes": (colour, grey)},
        scorer_for,
        THRESHOLDS,
        MARGINS,
        range(args.splits),
        CAL_SIZES,
        EVAL_SIZES,
        cal_variants=("colour", "grey"),
    )
    print("\n  stranger-pair limit -> held out: kept (2 templates, full / 32 px), worst FIR")
    levels = {}
    for level in LEVELS:
        crit = Criterion(pair_fmr=level)
        pooled: dict[tuple[str, int, int], list] = {}
        worst = 0.0
        for h in held[:-1]:
            ti, mi = crit.choose(h.calibration)
            for variant in VARIANTS:
                for key, runs in h.held_out[variant].items():
                    one = at(runs, ti, mi)
                    pooled.setdefault((variant, *key), []).append(one)
                    r = one.pooled()
                    if r["probes"][0, 0]:
                        worst = max(worst, float(r["fir"][0, 0]))
        full = pool_runs(pooled[("colour", 2, FULL)]).pooled()
        small = pool_runs(pooled[("colour", 2, 32)]).pooled()
        pairs = full["pair_fmr"][0, 0]
        print(
            f"    {level:.0e}: kept {full['rank1'][0, 0] * 100:5.1f}% / "
            f"{small['rank1'][0, 0] * 100:5.1f}%, held-out pair rate {pairs:.1e}, "
            f"worst FIR {worst * 100:.2f}%"
        )
        levels[f"{level:.0e}"] = {
            "kept_full": float(full["rank1"][0, 0]),
            "kept_32": float(small["rank1"][0, 0]),
            "pair_rate": float(pairs),
            "worst_fir": worst,
        }
    criterion = Criterion(pair_fmr=RECHECK_PAIR_LIMIT, worst_fir=1.0)
    print(f"\n  at the shipped limit {RECHECK_PAIR_LIMIT:.0e} (kept = rank-1 column):")
    loco = print_loco(held, THRESHOLDS, MARGINS, criterion)
    ti, _ = criterion.choose(held[-1].calibration)
    print(
        f"\n  chosen on every collection: {THRESHOLDS[ti]:.4f}, single-template cosine "
        f"{held[-1].single_template_cosine:.3f} (shipped RECHECK_THRESHOLD {RECHECK_THRESHOLD})"
    )
    for n in TEMPLATE_COUNTS:
        r = held[-1].calibration[("colour", n, FULL)]
        print(
            f"    in-sample {n:2d} templates full: kept {r['rank1'][ti, 0] * 100:5.1f}%, "
            f"pair rate {r['pair_fmr'][ti, 0]:.1e}, {size_name(FULL)}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "calibrate_recheck.json").write_text(
        json.dumps(
            {
                "levels": levels,
                "leave_one_collection_out": loco,
                "chosen": float(THRESHOLDS[ti]),
                "single_template_cosine": held[-1].single_template_cosine,
            },
            indent=1,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
