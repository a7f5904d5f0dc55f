"""The near-miss level of the reconciliation (vision.gallery.NEAR_MISS), calibrated.

A face in a tile that the gallery did not name, but whose best candidate is the tile's owner
at a score just under the naming threshold, is most likely the owner on a bad frame: the
reconciliation counts such a sample as inconclusive instead of "someone else in the tile"
(which, repeated, raises a proxy suspicion against the owner). The level must be high enough
that a stranger in the tile rarely reaches it for the owner: it is where at most PAIR_LIMIT of
stranger-person pairs score at or above it in any collection, on the same open-set protocol as
the naming threshold (bench/openset.py: seeded splits, a quarter of the people never enrolled,
1, 2 and 5 templates, faces at full size, 32 and 24 px, in colour).

Leave one collection out: the level is chosen on splits made of the other collections' people
alone, and reported on splits made of the held-out collection's people alone (its
stranger-person pairs at or above it, and the share of its enrolled people's unnamed faces it
keeps from counting against them); the shipped level is then chosen on all of them. Faces
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
    """Stranger-person pair scores and enrolled people's unnamed faces, with the probe's
    collection and the split's template count."""

    pairs: np.ndarray
    pair_src: np.ndarray
    pair_n: np.ndarray
    own: np.ndarray  # unnamed faces whose best candidate is their own person: that score
    own_src: np.ndarray
    unnamed: dict[str, int]  # enrolled people's unnamed faces (any candidate), by collection


def gather(photos, feats, splits: int) -> Gathered:  # noqa: ANN001
    """Every split made from ``photos`` alone (their people enrolled or strangers)."""
    scorer = gallery_scorer(single_template_cosine=SINGLE_TEMPLATE_COSINE[FUSED])
    threshold = DEFAULT_THRESHOLD[FUSED]
    pairs, pair_src, pair_n, own, own_src = [], [], [], [], []
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
                pair_src.append(np.repeat(src[rows], scores.shape[1]))
                pair_n.append(np.full(scores.size, n))
                missed = (s.truth >= 0) & ~np.isnan(s.best) & (s.best < threshold)
                for c in src[missed]:
                    unnamed[c] = unnamed.get(c, 0) + 1
                mine = missed & (s.best_person == s.truth)
                own.append(s.best[mine])
                own_src.append(src[mine])
    flat = np.concatenate(pairs) if pairs else np.zeros(0)
    ok = ~np.isnan(flat)
    return Gathered(
        flat[ok],
        np.concatenate(pair_src)[ok] if pairs else np.zeros(0, str),
        np.concatenate(pair_n)[ok] if pairs else np.zeros(0, int),
        np.concatenate(own) if own else np.zeros(0),
        np.concatenate(own_src) if own else np.zeros(0, str),
        unnamed,
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
    print(
        f"{len(photos)} photos, {args.splits} splits, {TEMPLATES} templates, sizes {SIZES}; "
        f"limit {PAIR_LIMIT:g} of any collection's stranger-person pairs"
    )
    print(f"{'held out':>22} {'level':>6} {'pairs >= level':>15} {'unnamed own kept':>17}")
    for c in sorted({source_of(p.key) for p in photos}):
        # Chosen on the other collections' people alone, scored on this one's alone.
        rest = gather([p for p in photos if source_of(p.key) != c], feats, args.splits)
        held = gather([p for p in photos if source_of(p.key) == c], feats, args.splits)
        t = level(rest.pairs, rest.pair_src)
        kept = (held.own >= t).sum() / max(1, sum(held.unnamed.values()))
        rate = (held.pairs >= t).mean() if len(held.pairs) else float("nan")
        print(f"{c:>22} {t:>6.3f} {rate:>15.2e} {kept:>17.1%}")
    everyone = gather(photos, feats, args.splits)
    t = level(everyone.pairs, everyone.pair_src)
    kept = (everyone.own >= t).sum() / max(1, sum(everyone.unnamed.values()))
    by_n = ", ".join(
        f"{n}: {(everyone.pairs[everyone.pair_n == n] >= t).mean():.2e}" for n in TEMPLATES
    )
    by_c = ", ".join(
        f"{c}: {(everyone.pairs[everyone.pair_src == c] >= t).mean():.1e}"
        for c in sorted(set(everyone.pair_src))
    )
    print(
        f"\nall collections: level {t:.3f} (naming threshold {DEFAULT_THRESHOLD[FUSED]}); "
        f"stranger-person pairs at or above it {(everyone.pairs >= t).mean():.2e} of "
        f"{len(everyone.pairs):,}; by template count {by_n}; by collection {by_c}; enrolled "
        f"people's unnamed faces whose best candidate is themselves at or above it: {kept:.1%}"
    )


if __name__ == "__main__":
    main()
