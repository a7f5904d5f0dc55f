"""The near-miss level of the reconciliation (attendance/reconcile.NEAR_MISS), calibrated.

A face in a tile that the gallery did not name, but whose best candidate is the tile's owner
at a score just under the naming threshold, is most likely the owner on a bad frame: the
reconciliation counts such a sample as inconclusive instead of "someone else in the tile"
(which, repeated, raises a proxy suspicion against the owner). The level must be high enough
that a stranger in the tile rarely reaches it for the owner: it is where at most PAIR_LIMIT of
stranger-person pairs score at or above it in any collection, on the same open-set protocol as
the naming threshold (bench/openset.py: seeded splits, a quarter of the people never enrolled,
1, 2 and 5 templates, faces at full size, 32 and 24 px, in colour).

Leave one collection out: the level is chosen without a collection's photos and reported on
them (stranger-person pairs at or above it, and the share of enrolled people's unnamed faces
it keeps from counting against them); the shipped level is then chosen on all of them.

    PYTHONPATH=src python bench/calibrate_near_miss.py [--splits 20]
"""

from __future__ import annotations

import argparse

import numpy as np

from common import FULL, FUSED, extract_all, faces_root, load_photos, setup_threads, source_of
from openset import gallery_scorer, make_split, score_split
from rollcall.vision.gallery import DEFAULT_THRESHOLD, SINGLE_TEMPLATE_COSINE

# Five times the naming threshold's own limit (2e-4 of stranger-person pairs): a sample read
# as inconclusive costs less than a name given to a stranger; it takes the same stranger at
# that level sample after sample to hide a proxy.
PAIR_LIMIT = 1e-3
SIZES = (FULL, 32, 24)
TEMPLATES = (1, 2, 5)


def gather(photos, feats, splits: int):  # noqa: ANN001, ANN201
    """Stranger-person pair scores and enrolled people's unnamed-but-right-candidate scores,
    each with its probe's collection."""
    scorer = gallery_scorer(single_template_cosine=SINGLE_TEMPLATE_COSINE[FUSED])
    threshold = DEFAULT_THRESHOLD[FUSED]
    pairs: list[np.ndarray] = []
    pair_src: list[np.ndarray] = []
    near: list[np.ndarray] = []
    near_src: list[np.ndarray] = []
    unnamed_own = unnamed_src = None
    unnamed_counts: dict[str, int] = {}
    for n in TEMPLATES:
        for seed in range(splits):
            split = make_split(photos, feats, seed, n)
            src = np.array([source_of(k) for k in split.probe_keys])
            for size in SIZES:
                s = score_split(split, feats, size, scorer)
                rows = ~np.isnan(s.stranger_scores).all(axis=1)
                scores = s.stranger_scores[rows]
                pairs.append(scores.ravel())
                pair_src.append(np.repeat(src[rows], scores.shape[1]))
                # Enrolled people's faces the gallery did not name (any candidate).
                unnamed = (s.truth >= 0) & ~np.isnan(s.best) & (s.best < threshold)
                for c in src[unnamed]:
                    unnamed_counts[c] = unnamed_counts.get(c, 0) + 1
                own = unnamed & (s.best_person == s.truth)
                near.append(s.best[own])
                near_src.append(src[own])
    del unnamed_own, unnamed_src
    return (
        np.concatenate(pairs),
        np.concatenate(pair_src),
        np.concatenate(near),
        np.concatenate(near_src),
        unnamed_counts,
    )


def level(scores: np.ndarray, sources: np.ndarray) -> float:
    """The lowest level (0.005 steps) at which no collection has more than PAIR_LIMIT of its
    stranger-person pairs at or above it (pooled, a large collection hides a small one)."""
    for t in np.arange(0.60, DEFAULT_THRESHOLD[FUSED], 0.005):
        if all((scores[sources == c] >= t).mean() <= PAIR_LIMIT for c in set(sources)):
            return round(float(t), 3)
    return DEFAULT_THRESHOLD[FUSED]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    feats = extract_all(photos, FUSED, SIZES)
    pairs, pair_src, near, near_src, unnamed = gather(photos, feats, args.splits)
    ok = ~np.isnan(pairs)
    pairs, pair_src = pairs[ok], pair_src[ok]
    print(
        f"{len(photos)} photos, {args.splits} splits, {TEMPLATES} templates, sizes "
        f"{SIZES}; {len(pairs):,} stranger-person pairs; limit {PAIR_LIMIT:g}"
    )
    print(f"{'held out':>22} {'level':>6} {'pairs >= level':>15} {'unnamed own kept':>17}")
    for c in sorted(set(pair_src)):
        t = level(pairs[pair_src != c], pair_src[pair_src != c])
        held = pairs[pair_src == c]
        mine = near[near_src == c]
        kept = (mine >= t).sum() / max(1, unnamed.get(c, 0))
        print(f"{c:>22} {t:>6.3f} {(held >= t).mean():>15.2e} {kept:>17.1%}")
    t = level(pairs, pair_src)
    kept = (near >= t).sum() / max(1, sum(unnamed.values()))
    print(
        f"\nall collections: level {t:.3f} (naming threshold {DEFAULT_THRESHOLD[FUSED]}), "
        f"pairs at or above it {(pairs >= t).mean():.2e}; enrolled people's unnamed faces whose "
        f"best candidate is themselves at or above it: {kept:.1%}"
    )


if __name__ == "__main__":
    main()
