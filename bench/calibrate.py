"""Calibrate the open-set matcher (threshold + margin) on the real identity photos.

For seeded random splits: a quarter of the people (and everyone with under 3 photos) are never
enrolled; everyone else enrolls 2 photos that pass FaceEngine.enrollment_face, and all their other
photos are probes. Probes are scored at full size and shrunk to 32 and 24 px faces. Prints the
grid around the chosen point and writes bench/out/calibration.json.

    .venv/bin/python bench/calibrate.py [--embedder sface|dlib|sface+dlib|all] [--splits 20]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from common import (
    FULL,
    OUT,
    evaluate,
    extract_all,
    faces_root,
    load_photos,
    rank1_by_source,
    setup_threads,
)
from rollcall.vision.gallery import DEFAULT_MARGIN, DEFAULT_THRESHOLD, STRONG_SIMILARITY

SIZES = (FULL, 32, 24)
GRIDS = {
    "sface": (np.round(np.arange(0.20, 0.701, 0.02), 3), np.round(np.arange(0, 0.141, 0.02), 3)),
    "dlib": (np.round(np.arange(0.88, 0.9651, 0.005), 4), np.round(np.arange(0, 0.0401, 0.005), 4)),
    "sface+dlib": (
        np.round(np.arange(0.70, 0.8751, 0.005), 4),
        np.round(np.arange(0, 0.0601, 0.005), 4),
    ),
}
MAX_FIR = 0.01


def size_name(size: int) -> str:
    return "full" if size == FULL else f"{size}px"


def choose(
    results: dict[int, dict[str, np.ndarray]], thresholds: np.ndarray, margins: np.ndarray
) -> tuple[int, int, list[int]]:
    """The grid point with the best rank-1 on small (32 px) and full-size probes while the
    false-identification rate, at every size it can be held at, stays at half the 1% allowance
    on average over the splits and under twice it in the worst split.

    Half on average: a class unlike these photos will not score exactly as they do. The worst
    split bounded too: the mean hides splits where a look-alike happens to be left out of the
    gallery (Hugh Jackman's photos named as Daniel Radcliffe when only Radcliffe is enrolled).
    Holding every split to 1% instead costs a point of rank-1 (96.6% vs 97.6% full size) for a
    mean of 0.30% vs 0.44%; the attendance monitor also wants two agreeing samples."""
    for constrained in ([FULL, 32, 24], [FULL, 32], [FULL]):
        ok = np.all(
            [
                (results[s]["fir"] <= MAX_FIR / 2) & (results[s]["fir_max"] <= 2 * MAX_FIR)
                for s in constrained
            ],
            axis=0,
        )
        if ok.any():
            break
    gain = results[32]["rank1"] + results[FULL]["rank1"] + 0.5 * results[24]["rank1"]
    # Prefer the stricter point among near-equal ones: a false "present" costs more than a miss.
    gain = np.where(ok, gain + 1e-4 * (np.arange(len(thresholds))[:, None] + margins), -np.inf)
    ti, mi = np.unravel_index(int(np.argmax(gain)), gain.shape)
    return int(ti), int(mi), constrained


def row(results: dict[str, np.ndarray], ti: int, mi: int) -> str:
    r = {k: v[ti, mi] * 100 for k, v in results.items()}
    return (
        f"rank1 {r['rank1']:6.2f}  FIR {r['fir']:5.2f} (worst split {r['fir_max']:5.2f})  "
        f"FPIR {r['fpir']:5.2f}  wrong {r['wrong']:5.2f}  unknown {r['unknown']:5.2f}  "
        f"no face {r['missed']:5.2f}"
    )


def best_at_each_size(
    results: dict[int, dict[str, np.ndarray]],
    thresholds: np.ndarray,
    margins: np.ndarray,
    rate: str,
) -> dict[str, dict[str, float]]:
    """The best rank-1 reachable with the FIR (rate "fir": mean over splits, "fir_max": worst
    split) <= 1% when each size could have its own setting."""
    out = {}
    for size, res in results.items():
        gain = np.where(res[rate] <= MAX_FIR, res["rank1"], -np.inf)
        ti, mi = np.unravel_index(int(np.argmax(gain)), gain.shape)
        out[size_name(size)] = {
            "threshold": float(thresholds[ti]),
            "margin": float(margins[mi]),
            "rank1": float(res["rank1"][ti, mi]),
            "fir": float(res["fir"][ti, mi]),
        }
    return out


def strong_match_check(photos: list, feats: dict, embedder: str) -> dict[str, float]:
    """Pairs of full-size photos: the most similar pair of different people (the monitor's
    strong-match and same-stranger cut-off must sit above it) and how many same-person pairs
    clear the current cut-off."""
    rows = [(p.person, feats[p.key].probe.get(FULL)) for p in photos]
    rows = [(person, e) for person, e in rows if e is not None]
    person = np.array([r[0] for r in rows])
    emb = np.stack([r[1] for r in rows])
    sim = emb @ emb.T
    upper = np.triu_indices(len(emb), 1)
    same = (person[:, None] == person[None, :])[upper]
    pairs = sim[upper]
    strong = STRONG_SIMILARITY.get(embedder, float("nan"))
    return {
        "different_people_max": float(pairs[~same].max()),
        "strong_similarity": strong,
        "same_person_above_strong": float((pairs[same] >= strong).mean()),
        "pairs": int(len(pairs)),
    }


def calibrate(embedder: str, splits: int, keep_mislabeled: bool = False) -> dict[str, object]:
    photos = load_photos(faces_root(), keep_mislabeled=keep_mislabeled)
    feats = extract_all(photos, embedder, SIZES)
    refused: dict[str, int] = {}
    for f in feats.values():
        if f.enroll is None:
            reason = f.refused.split("(")[0].split(";")[0].strip()
            refused[reason] = refused.get(reason, 0) + 1
    thresholds, margins = GRIDS[embedder]
    seeds = range(splits)
    results = {s: evaluate(photos, feats, s, thresholds, margins, seeds) for s in SIZES}
    ti, mi, constrained = choose(results, thresholds, margins)
    t, m = float(thresholds[ti]), float(margins[mi])
    print(f"\n=== {embedder}: {len(photos)} photos, {splits} splits, enrollment refusals {refused}")
    print(
        f"chosen threshold {t:.3f}, margin {m:.3f} (mean FIR <= 0.5%, every split <= 2% at "
        f"{[size_name(s) for s in constrained]})"
    )
    for s in SIZES:
        print(f"  {size_name(s):>5}: {row(results[s], ti, mi)}")
    cur_t, cur_m = DEFAULT_THRESHOLD.get(embedder), DEFAULT_MARGIN.get(embedder)
    if cur_t is not None and cur_t in thresholds and cur_m in margins:
        cti, cmi = (
            int(np.flatnonzero(thresholds == cur_t)[0]),
            int(np.flatnonzero(margins == cur_m)[0]),
        )
        print(f"current default threshold {cur_t:.3f}, margin {cur_m:.3f}:")
        for s in SIZES:
            print(f"  {size_name(s):>5}: {row(results[s], cti, cmi)}")
    print(f"threshold sweep at margin {m:.3f} (rank1 / FIR %):")
    print("  thr   " + "".join(f"{size_name(s):>16}" for s in SIZES))
    for i in range(0, len(thresholds), 1 if embedder == "dlib" else 1):
        cells = "".join(
            f"{results[s]['rank1'][i, mi] * 100:8.2f}/{results[s]['fir'][i, mi] * 100:5.2f}  "
            for s in SIZES
        )
        mark = " <" if i == ti else ""
        print(f"  {thresholds[i]:.3f}  {cells}{mark}")
    print(f"margin sweep at threshold {t:.3f} (rank1 / FIR %):")
    for j, mv in enumerate(margins):
        cells = "".join(
            f"{results[s]['rank1'][ti, j] * 100:8.2f}/{results[s]['fir'][ti, j] * 100:5.2f}  "
            for s in SIZES
        )
        print(f"  {mv:.3f}  {cells}{' <' if j == mi else ''}")
    by_source = {}
    print(
        f"enrolled probes by collection at {t:.3f}/{m:.3f} (closed-set rank-1 / open-set rank-1 %):"
    )
    for s in (FULL, 32):
        by_source[size_name(s)] = rank1_by_source(photos, feats, s, t, m, seeds)
        cells = "  ".join(
            f"{k} {v['closed_rank1'] * 100:.1f}/{v['rank1'] * 100:.1f}"
            for k, v in sorted(by_source[size_name(s)].items())
        )
        print(f"  {size_name(s):>5}: {cells}")
    strong = strong_match_check(photos, feats, embedder)
    print(
        f"strong match: most similar different people {strong['different_people_max']:.3f} "
        f"over {strong['pairs']} pairs; {strong['same_person_above_strong'] * 100:.0f}% of "
        f"same-person pairs >= the cut-off {strong['strong_similarity']:.2f}"
    )
    per_size = {}
    for rate, label in (("fir", "on average"), ("fir_max", "in every split")):
        per_size[rate] = best_at_each_size(results, thresholds, margins, rate)
        print(f"best rank-1 at FIR <= 1% {label} if each size had its own setting:")
        for name, v in per_size[rate].items():
            print(
                f"  {name:>5}: threshold {v['threshold']:.3f} margin {v['margin']:.3f} "
                f"rank1 {v['rank1'] * 100:.2f} FIR {v['fir'] * 100:.2f}"
            )
    return {
        "photos": len(photos),
        "splits": splits,
        "enrollment_refusals": refused,
        "chosen": {"threshold": t, "margin": m, "fir_held_at": [size_name(s) for s in constrained]},
        "at_chosen": {
            size_name(s): {k: float(v[ti, mi]) for k, v in results[s].items()} for s in SIZES
        },
        "best_per_size": per_size,
        "strong_match": strong,
        "by_source": by_source,
        "grid": {
            "thresholds": thresholds.tolist(),
            "margins": margins.tolist(),
            **{
                size_name(s): {k: np.round(v, 5).tolist() for k, v in results[s].items()}
                for s in SIZES
            },
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", choices=[*GRIDS, "all"], default="all")
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument(
        "--keep-mislabeled",
        action="store_true",
        help="measure with the folders' own labels (common.MISLABELED, common.OTHER_PERSON)",
    )
    args = parser.parse_args()
    setup_threads(2)
    embedders = list(GRIDS) if args.embedder == "all" else [args.embedder]
    suffix = " (folder labels)" if args.keep_mislabeled else ""
    report = {
        name + suffix: calibrate(name, args.splits, args.keep_mislabeled) for name in embedders
    }
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "calibration.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**previous, **report}, indent=1))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
