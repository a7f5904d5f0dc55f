"""Open-set protocols with any number of templates per person, scoring rules to compare, and
leave-one-collection-out calibration. Shared by calibrate.py, bench_templates.py and
naming_size.py.

A protocol run is a seeded split: people with at least `n` enrollable photos and one more are
"qualified"; a quarter of them are never enrolled, the rest enroll exactly `n` photos (that pass
the real enrollment checks) and their other photos are probes. Every photo of a never-enrolled
or unqualified person is a stranger's probe. So with 25 templates only the people with 26+
photos can be enrolled, and everyone else tries to pass as them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from common import FULL, Features, Photo, source_of
from rollcall.vision.gallery import Gallery

MAX_FIR = 0.01
TEMPLATE_COUNTS = (1, 2, 5, 10, 25)


@dataclass
class Split:
    names: list[str]
    template_keys: list[list[str]]
    probe_keys: list[str]
    probe_person: np.ndarray  # index into names, -1 = a stranger (never enrolled)


def make_split(
    photos: list[Photo],
    feats: dict[str, Features],
    seed: int,
    n_templates: int = 2,
    stranger_fraction: float = 0.25,
) -> Split:
    rng = np.random.default_rng(seed)
    by_person: dict[str, list[str]] = {}
    for p in photos:
        by_person.setdefault(p.person, []).append(p.key)
    people = sorted(by_person)
    qualified = [
        n
        for n in people
        if sum(feats[k].enroll is not None for k in by_person[n]) >= n_templates
        and len(by_person[n]) > n_templates
    ]
    strangers = set(
        rng.choice(qualified, round(stranger_fraction * len(qualified)), replace=False).tolist()
    )
    names, templates, probes, owner = [], [], [], []
    for name in people:
        keys = list(by_person[name])
        if name in strangers or name not in qualified:
            probes += keys
            owner += [-1] * len(keys)
            continue
        rng.shuffle(keys)
        # Staff keep uploading until n photos pass the quality checks.
        chosen = [k for k in keys if feats[k].enroll is not None][:n_templates]
        names.append(name)
        templates.append(chosen)
        rest = [k for k in keys if k not in chosen]
        probes += rest
        owner += [len(names) - 1] * len(rest)
    return Split(names, templates, probes, np.asarray(owner))


# -- scoring rules: (probes (N, D), templates (T, D), owner (T,), people P) -> (N, P) ----------

Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def _max_of(sims: np.ndarray, owner: np.ndarray, people: int) -> np.ndarray:
    out = np.full((len(sims), people), -1.0, np.float32)
    np.maximum.at(out.T, owner, sims.T)
    return out


def _sums(templates: np.ndarray, owner: np.ndarray, people: int) -> tuple[np.ndarray, np.ndarray]:
    sums = np.zeros((people, templates.shape[1]), np.float64)
    np.add.at(sums, owner, templates)
    counts = np.bincount(owner, minlength=people).astype(np.float64)
    return sums, counts


def score_max(probes, templates, owner, people):
    return _max_of(probes @ templates.T, owner, people)


def score_mean(probes, templates, owner, people):
    """Mean similarity over a person's templates (the probe against their unnormalised mean)."""
    sums, counts = _sums(templates, owner, people)
    return (probes @ (sums / np.maximum(counts, 1)[:, None]).T).astype(np.float32)


def score_centroid(probes, templates, owner, people):
    sums, _ = _sums(templates, owner, people)
    unit = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return (probes @ unit.T).astype(np.float32)


def score_current(probes, templates, owner, people):
    """The Gallery before this change: max over the templates and, for people with 2+, their
    normalised mean as one more template."""
    sums, n = _sums(templates, owner, people)
    several = np.flatnonzero(n >= 2)
    unit = sums[several] / np.maximum(np.linalg.norm(sums[several], axis=1, keepdims=True), 1e-12)
    matrix = np.vstack([templates, unit.astype(np.float32)])
    return _max_of(probes @ matrix.T, np.concatenate([owner, several]), people)


def score_top2(probes, templates, owner, people):
    sims = probes @ templates.T
    out = np.full((len(probes), people), -1.0, np.float32)
    for p in range(people):
        s = np.sort(sims[:, owner == p], axis=1)[:, ::-1]
        out[:, p] = s[:, :2].mean(axis=1)
    return out


def max_minus_log(c: float) -> Scorer:
    """The rule before this change with a count-aware threshold: score - c * ln(n / 2)."""

    def score(probes, templates, owner, people):
        counts = np.bincount(owner, minlength=people)
        penalty = c * np.log(np.maximum(counts, 1) / 2.0)
        return (score_current(probes, templates, owner, people) - penalty).astype(np.float32)

    return score


SCORERS: dict[str, Scorer] = {
    "max": score_max,
    "max+centroid (before)": score_current,
    "max+centroid - 0.02 ln(n/2)": max_minus_log(0.02),
    "centroid": score_centroid,
    "top-2 mean": score_top2,
    "mean": score_mean,
}


# -- scoring a split and open-set rates over a threshold x margin grid ---------------------------


@dataclass
class Scored:
    """Best and second-best person score of every probe (NaN: face not found at that size)."""

    best_person: np.ndarray
    best: np.ndarray
    second: np.ndarray
    truth: np.ndarray
    keys: list[str]
    face_px: np.ndarray  # detected shorter side of each probe (0: not found)
    # Each stranger's score for each enrolled person (N, P) with NaN rows for enrolled probes
    # and faces not found: a stranger-person pair above the threshold is a false match.
    stranger_scores: np.ndarray

    def subset(self, mask: np.ndarray) -> Scored:
        return Scored(
            self.best_person[mask],
            self.best[mask],
            self.second[mask],
            self.truth[mask],
            [k for k, m in zip(self.keys, mask, strict=True) if m],
            self.face_px[mask],
            self.stranger_scores[mask],
        )


def score_split(
    split: Split,
    feats: dict[str, Features],
    size: int,
    scorer: Scorer = score_current,
    probe_feats: dict[str, Features] | None = None,
) -> Scored:
    """probe_feats: where the probes' embeddings come from when not feats (e.g. grey probes
    against colour enrollment)."""
    probe_feats = probe_feats or feats
    owner = np.asarray([i for i, keys in enumerate(split.template_keys) for _ in keys])
    templates = np.stack([feats[k].enroll for keys in split.template_keys for k in keys])
    vecs = [probe_feats[k].probe.get(size) for k in split.probe_keys]
    found = np.array([v is not None for v in vecs])
    dim = templates.shape[1]
    emb = np.stack([v if v is not None else np.zeros(dim, np.float32) for v in vecs])
    scores = scorer(emb, templates, owner, len(split.names))
    order = np.argsort(-scores, axis=1)
    rows = np.arange(len(emb))
    best = scores[rows, order[:, 0]]
    second = scores[rows, order[:, 1]] if scores.shape[1] > 1 else np.full(len(emb), -1.0)
    px = np.array([probe_feats[k].probe_px.get(size, 0.0) for k in split.probe_keys])
    strangers = found & (split.probe_person < 0)
    return Scored(
        order[:, 0],
        np.where(found, best, np.nan),
        np.where(found, second, np.nan),
        split.probe_person,
        list(split.probe_keys),
        px,
        np.where(strangers[:, None], scores, np.nan),
    )


def counts(s: Scored, threshold: np.ndarray, margin: np.ndarray) -> dict[str, np.ndarray]:
    """Outcome counts over a grid, threshold (T,) x margin (M,) -> arrays (T, M)."""
    t = threshold[:, None, None]
    mg = margin[None, :, None]
    with np.errstate(invalid="ignore"):
        named = (s.best[None, None] >= t) & ((s.best - s.second)[None, None] >= mg)
    enrolled = s.truth >= 0
    right = named & ((s.best_person == s.truth) & enrolled)[None, None]
    shape = named.shape[:2]
    pairs = s.stranger_scores[~np.isnan(s.stranger_scores)]
    above = (pairs[None, :] >= threshold[:, None]).sum(-1)
    return {
        "pairs_above": np.repeat(above[:, None], len(margin), axis=1),
        "pairs": np.full(shape, len(pairs)),
        "right": right.sum(-1),
        "wrong": (named & enrolled[None, None] & ~right).sum(-1),
        "stranger_named": (named & ~enrolled[None, None]).sum(-1),
        "enrolled": np.full(shape, int(enrolled.sum())),
        "strangers": np.full(shape, int((~enrolled).sum())),
        "probes": np.full(shape, len(s.truth)),
    }


def rates_of(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "rank1": c["right"] / np.maximum(c["enrolled"], 1),
            "fir": (c["wrong"] + c["stranger_named"]) / np.maximum(c["probes"], 1),
            "fpir": c["stranger_named"] / np.maximum(c["strangers"], 1),
            "pair_fmr": c["pairs_above"] / np.maximum(c["pairs"], 1),
        }


@dataclass
class Runs:
    """Per-split outcome counts on a grid, so any subset of probes can be pooled later."""

    per_split: list[dict[str, np.ndarray]]

    def pooled(self) -> dict[str, np.ndarray]:
        """Rates of all splits' probes together, plus the worst split's FIR."""
        total = {k: np.sum([r[k] for r in self.per_split], axis=0) for k in self.per_split[0]}
        out = rates_of(total)
        out["fir_max"] = np.max([rates_of(r)["fir"] for r in self.per_split], axis=0)
        out["probes"] = total["probes"]
        out["enrolled"] = total["enrolled"]
        return out


def run(
    photos: list[Photo],
    feats: dict[str, Features],
    size: int,
    thresholds: np.ndarray,
    margins: np.ndarray,
    seeds: Iterable[int],
    n_templates: int = 2,
    scorer: Scorer = score_current,
    probe_filter: Callable[[str], bool] | None = None,
    probe_feats: dict[str, Features] | None = None,
    split_photos: list[Photo] | None = None,
) -> Runs:
    """Counts over seeded splits. split_photos: the photos the splits are drawn from (default
    photos); probe_filter: which probes count (e.g. one collection's)."""
    out = []
    for seed in seeds:
        split = make_split(split_photos or photos, feats, seed, n_templates)
        s = score_split(split, feats, size, scorer, probe_feats)
        if probe_filter is not None:
            s = s.subset(np.array([probe_filter(k) for k in s.keys], bool))
        out.append(counts(s, thresholds, margins))
    return Runs(out)


def collections(photos: list[Photo]) -> list[str]:
    return sorted({source_of(p.key) for p in photos})


def size_name(size: int) -> str:
    return "full" if size == FULL else f"{size}px"


def gallery_scorer(**options: object) -> Scorer:
    """The shipped Gallery's person_scores with the given options (single_template_cosine, ...)."""

    def score(probes, templates, owner, people):
        g = Gallery([str(i) for i in range(people)], owner, templates, 0.0, 0.0, **options)
        return g.person_scores(probes)

    return score


def quality_weighted(
    feats: dict[str, Features], quality: Callable[[Features], float], **options: object
) -> Scorer:
    """The shipped rule with each template weighted by its photo's quality in the person's
    mean (and in their templates' mean cosine)."""
    weight = {f.enroll.tobytes(): quality(f) for f in feats.values() if f.enroll is not None}
    single = options.get("single_template_cosine")
    single = 1.0 if single is None else float(single)

    def score(probes, templates, owner, people):
        w = np.array([weight[t.tobytes()] for t in templates])
        sums = np.zeros((people, templates.shape[1]))
        np.add.at(sums, owner, templates * w[:, None])
        sw = np.bincount(owner, w, minlength=people)
        sw2 = np.bincount(owner, w * w, minlength=people)
        n = np.bincount(owner, minlength=people)
        # Weighted mean cosine between the person's templates.
        pair_weight = (sw**2 - sw2) / 2
        pair_sum = (np.einsum("ij,ij->i", sums, sums) - sw2) / 2
        mean_cos = np.where(pair_weight > 0, pair_sum / np.maximum(pair_weight, 1e-12), 0.0)
        rho = np.clip(np.where(n >= 2, mean_cos, single), -1, 1)
        vectors = sums / np.maximum(sw, 1e-12)[:, None] / np.sqrt((1 + rho) / 2)[:, None]
        return (probes @ vectors.T).astype(np.float32)

    return score


def one_template_cosine(
    photos: list[Photo],
    feats: dict[str, Features],
    seeds: Iterable[int] = range(10),
    quantile: float = 0.999,
) -> float:
    """The Gallery's single_template_cosine: the rho that makes strangers score as high against
    one template as against two, at the `quantile` of stranger-person pairs. (The median cosine
    between photos of one person would put one template on the 2-template scale on average,
    but one template varies more, so its strangers' tail is heavier: it is scaled up less.)"""
    seeds = list(seeds)

    def tail(n: int, scorer: Scorer) -> float:
        pairs = [
            s.stranger_scores[~np.isnan(s.stranger_scores)]
            for s in (
                score_split(make_split(photos, feats, seed, n), feats, FULL, scorer)
                for seed in seeds
            )
        ]
        return float(np.quantile(np.concatenate(pairs), quantile))

    one = tail(1, gallery_scorer())  # raw cosines
    two = tail(2, gallery_scorer())
    scale = two / one  # = 1 / sqrt((1 + rho) / 2)
    return float(np.clip(2 / scale**2 - 1, -1, 1))


# -- calibration: choosing threshold and margin, and leave-one-collection-out ------------------


@dataclass(frozen=True)
class Criterion:
    """How a (threshold, margin) is chosen on calibration photos: the best rank-1 with 2
    templates (full size + 32 px + half of 24 px) among the grid points where, at every template
    count and size calibrated, a stranger matches a given enrolled person in at most
    `pair_fmr` of stranger-person pairs and no split's FIR exceeds `worst_fir`.

    Stranger-person pairs, not the FIR itself: the FIR grows with the number of people enrolled
    and with the share of strangers among the probes, which differ between the calibration
    photos and any real class, while a pair's false-match rate does not."""

    pair_fmr: float = 1e-3
    worst_fir: float = 0.02
    counts: tuple[int, ...] = TEMPLATE_COUNTS
    sizes: tuple[int, ...] = (FULL, 32, 24)

    def choose(self, results: dict[tuple[str, int, int], dict[str, np.ndarray]]) -> tuple[int, int]:
        """results[(variant, n, size)]: pooled rates on the grid, the rank-1 to gain read from
        the "colour" variant, the limits held in every variant; returns (threshold index,
        margin index)."""
        ok = np.all(
            [
                (r["pair_fmr"] <= self.pair_fmr) & (r["fir_max"] <= self.worst_fir)
                for (_, n, size), r in results.items()
                if n in self.counts and size in self.sizes
            ],
            axis=0,
        )
        gain = results[("colour", 2, FULL)]["rank1"] + results[("colour", 2, 32)]["rank1"]
        if ("colour", 2, 24) in results:
            gain = gain + 0.5 * results[("colour", 2, 24)]["rank1"]
        shape = gain.shape
        # Among near-equal points prefer the stricter: a false "present" costs more than a miss.
        tie = 1e-4 * (np.arange(shape[0])[:, None] + np.arange(shape[1])[None, :] / shape[1])
        gain = np.where(ok, gain + tie, -np.inf)
        if not np.isfinite(gain).any():
            raise SystemExit("no grid point meets the criterion: widen the grid")
        ti, mi = np.unravel_index(int(np.argmax(gain)), shape)
        return int(ti), int(mi)


def pool_runs(runs: list[Runs]) -> Runs:
    """Several probe sets scored on the same seeds, as one (e.g. every held-out collection)."""
    keys = runs[0].per_split[0]
    return Runs(
        [
            {k: sum(r.per_split[i][k] for r in runs) for k in keys}
            for i in range(len(runs[0].per_split))
        ]
    )


def at(runs: Runs, ti: int, mi: int) -> Runs:
    """The runs' counts at one grid point only (so differently chosen points can be pooled)."""
    return Runs([{k: v[ti : ti + 1, mi : mi + 1] for k, v in r.items()} for r in runs.per_split])


@dataclass
class Held:
    """One collection left out: the rates on the grid of the calibration photos (every other
    collection), and the held-out collection's own counts on the grid, per evaluation variant."""

    collection: str
    single_template_cosine: float
    calibration: dict[tuple[str, int, int], dict[str, np.ndarray]]  # (variant, n, size)
    held_out: dict[str, dict[tuple[int, int], Runs]]


def leave_one_out(
    photos: list[Photo],
    variants: dict[str, tuple[dict[str, Features], dict[str, Features]]],
    make_scorer: Callable[[float], Scorer],  # from the single-template cosine
    thresholds: np.ndarray,
    margins: np.ndarray,
    seeds: Iterable[int],
    cal_sizes: tuple[int, ...] = (FULL, 32, 24),
    eval_sizes: tuple[int, ...] = (FULL, 32),
    counts: tuple[int, ...] = TEMPLATE_COUNTS,
    cal_variants: tuple[str, ...] = ("colour",),
    log: Callable[[str], None] = print,
) -> list[Held]:
    """For each collection: calibrate on the others (the rank-1 of variants["colour"], the
    limits in every one of cal_variants; a variant is (enrollment, probe) features), then score
    that collection's probes in every variant (e.g. the same photos in grey). The splits always
    draw from every photo, so the held-out collection's people are enrolled and attacked by
    everyone, as in a real class; only its probes are counted. The last entry, "(none)",
    calibrates on every collection (and scores no held-out probes)."""
    seeds = list(seeds)
    base, _ = variants["colour"]
    out = []
    for held in [*collections(photos), "(none)"]:
        cal = [p for p in photos if source_of(p.key) != held]
        rho = one_template_cosine(cal, base)
        scorer = make_scorer(rho)
        calibration = {
            (v, n, s): run(
                cal,
                variants[v][0],
                s,
                thresholds,
                margins,
                seeds,
                n,
                scorer,
                probe_feats=variants[v][1],
            ).pooled()
            for v in cal_variants
            for n in counts
            for s in cal_sizes
        }
        evaluated: dict[str, dict[tuple[int, int], Runs]] = {}
        targets = [held] if held != "(none)" else []
        for name, (enroll, probe) in variants.items():
            for target in targets:
                evaluated[name] = {
                    (n, s): run(
                        photos,
                        enroll,
                        s,
                        thresholds,
                        margins,
                        seeds,
                        n,
                        scorer,
                        probe_filter=lambda k, t=target: source_of(k) == t,
                        probe_feats=probe,
                    )
                    for n in counts
                    for s in eval_sizes
                }
        out.append(Held(held, rho, calibration, evaluated))
        log(f"  calibrated without {held}")
    return out
