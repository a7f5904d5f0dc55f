"""Calibrate the open-set matcher (threshold + margin) and show that it generalises:
leave-one-collection-out, with 1 to 25 templates per person, colour and grey.

For each collection (LFW, face_recognition's photos, dlib's johns, the codebasics crops,
Glint360k's aligned112 crops, Yale's grey faces) the threshold and margin are chosen on the
other collections' photos only (openset.Criterion), then that collection's probes are scored
with them: rank-1 and false identifications with 1, 2, 5, 10 and 25 templates per person, full
size and 32 px, in colour, with the same photos in grey, and grey probes against colour
enrollment. The shipped default is the same procedure run on every collection. Also checks
STRONG_SIMILARITY (one match this strong names a face at once) against strangers' scores.

    .venv/bin/python bench/calibrate.py [--embedder sface+dlib|sface|dlib|all] [--splits 20]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import FULL, OUT, extract_all, faces_root, load_photos, setup_threads
from openset import (
    MAX_FIR,
    TEMPLATE_COUNTS,
    Criterion,
    Held,
    at,
    gallery_scorer,
    leave_one_out,
    make_split,
    pool_runs,
    score_split,
    size_name,
)
from rollcall.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    SINGLE_TEMPLATE_COSINE,
    STRONG_SIMILARITY,
)

CAL_SIZES = (FULL, 32, 24)
EVAL_SIZES = (FULL, 32)
GRIDS = {
    "sface": (np.round(np.arange(0.34, 0.6001, 0.005), 4), np.array([0, 0.01, 0.02, 0.04, 0.06])),
    "dlib": (np.round(np.arange(0.93, 0.9901, 0.00125), 5), np.array([0, 0.005, 0.01, 0.02])),
    "sface+dlib": (
        np.round(np.arange(0.76, 0.8701, 0.0025), 4),
        np.array([0, 0.005, 0.01, 0.02, 0.035]),
    ),
}
# Limits on stranger-person pairs above the threshold tried, loosest first. The one used is the
# loosest whose leave-one-collection-out FIR stays <= 1% in every collection, template count,
# size and variant (colour, grey, grey probes): a limit the held-out collections confirm.
LEVELS = (3e-4, 2e-4, 1.5e-4, 1e-4, 7e-5, 5e-5)


def print_levels(held: list[Held]) -> dict[str, dict[str, object]]:
    """How the held-out figures move with the criterion's stranger-pair limit."""
    print("\n  stranger-pair limit -> worst held-out FIR (colour, grey) and pooled rank-1 / FIR:")
    out = {}
    for level in LEVELS:
        crit = Criterion(pair_fmr=level)
        pooled: dict[tuple[str, int, int], list] = {}
        worst = dict.fromkeys(VARIANTS, 0.0)
        for h in held[:-1]:
            ti, mi = crit.choose(h.calibration)
            for variant in VARIANTS:
                for key, runs in h.held_out[variant].items():
                    one = at(runs, ti, mi)
                    pooled.setdefault((variant, *key), []).append(one)
                    r = one.pooled()
                    if r["probes"][0, 0]:
                        worst[variant] = max(worst[variant], float(r["fir"][0, 0]))
        two = pool_runs(pooled[("colour", 2, FULL)]).pooled()
        one = pool_runs(pooled[("colour", 1, FULL)]).pooled()
        print(
            f"    {level:.1e}: worst colour {worst['colour'] * 100:4.2f}%, grey "
            f"{worst['grey'] * 100:4.2f}%, grey probes {worst['grey probes'] * 100:4.2f}%; "
            f"2 templates {two['rank1'][0, 0] * 100:5.1f} / {two['fir'][0, 0] * 100:4.2f}, "
            f"1 template {one['rank1'][0, 0] * 100:5.1f} / {one['fir'][0, 0] * 100:4.2f}"
        )
        out[f"{level:.1e}"] = {
            "level": level,
            "worst": worst,
            "rank1_2": float(two["rank1"][0, 0]),
        }
    return out


def confirmed_level(levels: dict[str, dict[str, object]]) -> float:
    for v in levels.values():  # loosest first
        if max(v["worst"].values()) <= MAX_FIR:
            return float(v["level"])
    return float(LEVELS[-1])


VARIANTS = ("colour", "grey", "grey probes")


def scorer_for(rho: float):  # noqa: ANN201
    return gallery_scorer(single_template_cosine=rho)


def cell(rates: dict[str, np.ndarray]) -> str:
    """rank-1 / FIR; "-" for rank-1 where nobody of the collection could enroll that many."""
    if not rates["probes"][0, 0]:
        return f"{'-':>13}"
    rank1 = f"{rates['rank1'][0, 0] * 100:5.1f}" if rates["enrolled"][0, 0] else f"{'-':>5}"
    return f"{rank1}/{rates['fir'][0, 0] * 100:4.2f}".rjust(13)


def print_loco(
    held: list[Held], thresholds: np.ndarray, margins: np.ndarray, criterion: Criterion
) -> dict:
    """Per held-out collection: the point chosen without it and its rates there."""
    out: dict[str, object] = {}
    pooled: dict[tuple[str, int, int], list] = {}
    head = "".join(f"{f'{n}t {size_name(s)}':>13}" for n in TEMPLATE_COUNTS for s in EVAL_SIZES)
    for variant in VARIANTS:
        print(f"\n  {variant}: rank-1 / FIR (%) of each collection's probes, held out")
        print(f"  {'collection':18} {'thr':>6} {'margin':>6}{head}")
        for h in held:
            if h.collection == "(none)":
                continue
            ti, mi = criterion.choose(h.calibration)
            cells, record = "", {}
            for n in TEMPLATE_COUNTS:
                for s in EVAL_SIZES:
                    runs = h.held_out[variant][(n, s)]
                    one = at(runs, ti, mi)
                    pooled.setdefault((variant, n, s), []).append(one)
                    r = one.pooled()
                    cells += cell(r)
                    record[f"{n} {size_name(s)}"] = {
                        k: float(r[k][0, 0]) for k in ("rank1", "fir", "fpir", "fir_max")
                    } | {"probes": int(r["probes"][0, 0])}
            print(f"  {h.collection:18} {thresholds[ti]:6.3f} {margins[mi]:6.3f}{cells}")
            out.setdefault(variant, {})[h.collection] = {
                "threshold": float(thresholds[ti]),
                "margin": float(margins[mi]),
                "single_template_cosine": h.single_template_cosine,
                "rates": record,
            }
        cells, record = "", {}
        for n in TEMPLATE_COUNTS:
            for s in EVAL_SIZES:
                r = pool_runs(pooled[(variant, n, s)]).pooled()
                cells += cell(r)
                record[f"{n} {size_name(s)}"] = {
                    k: float(r[k][0, 0]) for k in ("rank1", "fir", "fpir", "fir_max")
                }
        print(f"  {'pooled':18} {'':6} {'':6}{cells}")
        worst = max(
            (v["fir"], c, k)
            for c, e in out[variant].items()
            for k, v in e["rates"].items()
            if v["probes"]
        )
        print(
            f"  worst held-out FIR: {worst[0] * 100:.2f}% ({worst[1]}, {worst[2]}); "
            f"pooled FIR worst split at 2 templates full size: "
            f"{record['2 full']['fir_max'] * 100:.2f}%"
        )
        out.setdefault("pooled", {})[variant] = record
    return out


def strong_check(photos: list, feats: dict, embedder: str, rho: float, splits: int) -> dict:
    """Strangers' highest person score at each template count, and the highest cosine between
    two photos of different people (the monitor's same-stranger rule compares two faces); the
    cut-off must sit above both."""
    scorer = scorer_for(rho)
    highest: dict[int, float] = {}
    for n in TEMPLATE_COUNTS:
        top = -1.0
        for seed in range(splits):
            split = make_split(photos, feats, seed, n)
            s = score_split(split, feats, FULL, scorer)
            strangers = s.stranger_scores[~np.isnan(s.stranger_scores)]
            wrong = (s.truth >= 0) & (s.best_person != s.truth) & ~np.isnan(s.best)
            top = max(
                top,
                float(np.max(strangers, initial=-1)),
                float(np.max(s.best[wrong], initial=-1)),
            )
        highest[n] = top
    rows = [(p.person, feats[p.key].probe.get(FULL)) for p in photos]
    rows = [(person, e) for person, e in rows if e is not None]
    person = np.array([r[0] for r in rows])
    emb = np.stack([r[1] for r in rows])
    upper = np.triu_indices(len(emb), 1)
    same = (person[:, None] == person[None, :])[upper]
    pairs = (emb @ emb.T)[upper]
    strong = STRONG_SIMILARITY.get(embedder, float("nan"))
    top = max(max(highest.values()), float(pairs[~same].max()))
    return {
        "suggested": float(np.floor(top * 100) + 1) / 100,
        "stranger_score_max": highest,
        "different_people_cosine_max": float(pairs[~same].max()),
        "same_person_above_strong": float((pairs[same] >= strong).mean()),
        "strong_similarity": strong,
        "pairs": int(len(pairs)),
    }


def calibrate(
    embedder: str,
    splits: int,
    keep_mislabeled: bool,
    mirror: bool = False,
    plain_templates: bool = False,
) -> dict[str, object]:
    photos = load_photos(faces_root(), keep_mislabeled=keep_mislabeled)
    options = {"mirror": mirror, "plain_templates": plain_templates}
    colour = extract_all(photos, embedder, CAL_SIZES, **options)
    grey = extract_all(photos, embedder, CAL_SIZES, grey=True, **options)
    thresholds, margins = GRIDS[embedder]
    mirrored = ", faces averaged with their mirror image" if mirror else ""
    mirrored += ", templates embedded once (no mirror image)" if plain_templates else ""
    print(f"\n=== {embedder}: {len(photos)} photos, {splits} splits{mirrored}")
    held = leave_one_out(
        photos,
        {"colour": (colour, colour), "grey": (grey, grey), "grey probes": (colour, grey)},
        scorer_for,
        thresholds,
        margins,
        range(splits),
        CAL_SIZES,
        EVAL_SIZES,
        cal_variants=("colour", "grey"),
    )
    report: dict[str, object] = {"photos": len(photos), "splits": splits}
    report["levels"] = levels = print_levels(held)
    level = confirmed_level(levels)
    criterion = Criterion(pair_fmr=level)
    print(f"  limit used: {level:.1e} stranger-person pairs above the threshold")
    report["leave_one_collection_out"] = print_loco(held, thresholds, margins, criterion)
    everything = held[-1]
    ti, mi = criterion.choose(everything.calibration)
    t, m, rho = float(thresholds[ti]), float(margins[mi]), everything.single_template_cosine
    print(
        f"\n  chosen on every collection: threshold {t:.3f}, margin {m:.3f}, "
        f"single-template cosine {rho:.3f} (shipped: {DEFAULT_THRESHOLD.get(embedder)}, "
        f"{DEFAULT_MARGIN.get(embedder)}, {SINGLE_TEMPLATE_COSINE.get(embedder)})"
    )
    print("  in-sample rates there (rank-1 / FIR / worst split's FIR / never-enrolled named, %):")
    for (v, n, s), r in sorted(everything.calibration.items()):
        print(
            f"    {v:6} {n:2d} templates {size_name(s):>5}: {r['rank1'][ti, mi] * 100:5.1f} / "
            f"{r['fir'][ti, mi] * 100:4.2f} / {r['fir_max'][ti, mi] * 100:4.2f} / "
            f"{r['fpir'][ti, mi] * 100:4.2f}"
        )
    report["chosen"] = {
        "threshold": t,
        "margin": m,
        "single_template_cosine": rho,
        "pair_fmr_limit": level,
    }
    for variant, feats in (("colour", colour), ("grey", grey)):
        strong = strong_check(photos, feats, embedder, rho, splits)
        print(
            f"  strong match, {variant}: strangers' highest score by template count "
            + ", ".join(f"{n}: {v:.3f}" for n, v in strong["stranger_score_max"].items())
            + "; most similar photos of different people "
            f"{strong['different_people_cosine_max']:.3f} over {strong['pairs']} pairs; "
            f"suggested {strong['suggested']:.2f}, STRONG_SIMILARITY "
            f"{strong['strong_similarity']:.3f} ({strong['same_person_above_strong'] * 100:.0f}%"
            " of same-person pairs above it)"
        )
        report[f"strong_match {variant}"] = strong
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", choices=[*GRIDS, "all"], default="sface+dlib")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument(
        "--keep-mislabeled",
        action="store_true",
        help="measure with the folders' own labels (common.MISLABELED, common.OTHER_PERSON)",
    )
    parser.add_argument(
        "--mirror",
        action="store_true",
        help="embed each face with its mirror image averaged in (embed.mirror_mean)",
    )
    parser.add_argument(
        "--plain-templates",
        action="store_true",
        help="embed templates once, without their mirror image (as before issue 11's end)",
    )
    args = parser.parse_args()
    setup_threads(2)
    embedders = list(GRIDS) if args.embedder == "all" else [args.embedder]
    suffix = (
        (" (folder labels)" if args.keep_mislabeled else "")
        + (" (mirror)" if args.mirror else "")
        + (" (plain templates)" if args.plain_templates else "")
    )
    report = {
        name + suffix: calibrate(
            name, args.splits, args.keep_mislabeled, args.mirror, args.plain_templates
        )
        for name in embedders
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "calibration.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**previous, **report}, indent=1, default=str))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
