"""The near-miss level of the reconciliation (vision.gallery.NEAR_MISS), calibrated.

A face in a tile that the gallery did not name, but whose best candidate is the tile's owner
at a score just under the naming threshold, is most likely the owner on a bad frame: the
reconciliation counts such a sample as inconclusive instead of "someone else in the tile"
(which, repeated, raises a proxy suspicion against the owner). The level must be high enough
that a stranger in the tile rarely reaches it for the owner: it is where at most PAIR_LIMIT of
stranger-person pairs score at or above it in any collection, on the open-set protocol of the
naming threshold (bench/openset.py: seeded splits, a quarter of the people never enrolled,
1, 2 and 5 templates, faces at full size, 32 and 24 px, in colour).

Each collection is split among its own people (a class is one population; strangers from
another collection score low and would dilute the rate). Leave one collection out: the level
is chosen on the other collections and reported on the held-out one (its stranger-person pairs
at or above it, and the share of its enrolled people's unnamed faces it keeps from counting
against them); the shipped level is then chosen on all of them. Faces
under the naming size (24 px) are never near misses (vision.gallery.Gallery.near_miss_of).

    PYTHONPATH=src python bench/calibrate_near_miss.py [--splits 20]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

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


@dataclass
class Gathered:
    """Stranger-person pair scores (with the split's template count) and enrolled people's
    unnamed faces."""

    pairs: np.ndarray
    pair_n: np.ndarray
    own: np.ndarray  # unnamed faces whose best candidate is their own person: that score
    unnamed: dict[str, int]  # enrolled people's unnamed faces (any candidate), by collection


def gather(photos, feats, splits: int) -> Gathered:  # noqa: ANN001
    """Every split made from ``photos`` alone (their people enrolled or strangers)."""
    scorer = gallery_scorer(single_template_cosine=SINGLE_TEMPLATE_COSINE[FUSED])
    threshold = DEFAULT_THRESHOLD[FUSED]
    pairs, pair_n, own = [], [], []
    unnamed: dict[str, int] = {}
    for n in TEMPLATES:
        for seed in range(splits):
            split = make_split(photos, feats, seed, n)
            if not split.names:
                continue
            src = np.array([source_of(k) for k in split.probe_keys])
            for size in SIZES:
                s = score_split(split, feats, size, scorer)
                rows = ~np.isnan(s.stranger_scores).all(axis=1)
                scores = s.stranger_scores[rows]
                pairs.append(scores.ravel())
                pair_n.append(np.full(scores.size, n))
                missed = (s.truth >= 0) & ~np.isnan(s.best) & (s.best < threshold)
                for c in src[missed]:
                    unnamed[c] = unnamed.get(c, 0) + 1
                mine = missed & (s.best_person == s.truth)
                own.append(s.best[mine])
    flat = np.concatenate(pairs) if pairs else np.zeros(0)
    ok = ~np.isnan(flat)
    return Gathered(
        flat[ok],
        np.concatenate(pair_n)[ok] if pairs else np.zeros(0, int),
        np.concatenate(own) if own else np.zeros(0),
        unnamed,
    )


def rate(g: Gathered, t: float) -> float:
    return float((g.pairs >= t).mean()) if len(g.pairs) else 0.0


def kept(g: Gathered, t: float) -> float:
    return float((g.own >= t).sum()) / max(1, sum(g.unnamed.values()))


def level(within: list[Gathered]) -> float:
    """The lowest level (0.005 steps) at which no collection has more than PAIR_LIMIT of its
    stranger-person pairs at or above it, each collection's people among themselves (a class
    is one population; across collections, strangers score low and dilute the rate)."""
    for t in np.arange(0.60, DEFAULT_THRESHOLD[FUSED], 0.005):
        if all(rate(g, t) <= PAIR_LIMIT for g in within):
            return round(float(t), 3)
    return DEFAULT_THRESHOLD[FUSED]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=20)
    args = parser.parse_args()
    setup_threads(2)
    photos = load_photos(faces_root())
    feats = extract_all(photos, FUSED, SIZES)
    print(
        f"{len(photos)} photos, {args.splits} splits, {TEMPLATES} templates, sizes {SIZES}; "
        f"limit {PAIR_LIMIT:g} of each collection's stranger-person pairs"
    )
    within = {
        c: gather([p for p in photos if source_of(p.key) == c], feats, args.splits)
        for c in sorted({source_of(p.key) for p in photos})
    }
    print(f"{'held out':>22} {'level':>6} {'pairs >= level':>15} {'unnamed own kept':>17}")
    for c, g in within.items():
        t = level([h for d, h in within.items() if d != c])
        print(f"{c:>22} {t:>6.3f} {rate(g, t):>15.2e} {kept(g, t):>17.1%}")
    t = level(list(within.values()))
    print(f"\nall collections: level {t:.3f} (naming threshold {DEFAULT_THRESHOLD[FUSED]})")
    for n in TEMPLATES:
        worst = max(
            float((g.pairs[g.pair_n == n] >= t).mean()) if (g.pair_n == n).any() else 0.0
            for g in within.values()
        )
        print(f"  {n} template(s): worst collection's pairs at or above it {worst:.2e}")
    for c, g in within.items():
        print(
            f"{c:>22}: {len(g.pairs):>7,} pairs, {rate(g, t):.2e} at or above it (at the naming "
            f"threshold {rate(g, DEFAULT_THRESHOLD[FUSED]):.2e}); unnamed own kept {kept(g, t):.1%}"
        )


if __name__ == "__main__":
    main()
