"""Enrolled templates as one matrix, and open-set 1:N matching with a threshold and a margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Calibrated by bench/calibrate.py on 970 real photos of 53 people from six collections (LFW,
# face_recognition's photos, dlib's johns, codebasics crops, Glint360k's aligned crops, Yale's
# grey faces), 20 seeded splits, a quarter of the people never enrolled. The procedure
# (bench/openset.Criterion): the best rank-1 with 2 templates (full size + 32 px + half of 24 px)
# among the points where few enough stranger-person pairs score above the threshold and no
# split's false-identification rate (FIR) exceeds 2%, with 1, 2, 5, 10 and 25 templates per
# person, at full size, 32 and 24 px, on the photos in colour and in grey. "Few enough" is the
# loosest of 3e-4 ... 5e-5 at which every collection, chosen without its own photos and scored
# on them, kept FIR <= 1% (sface+dlib and sface: 2e-4); the shipped point is then the same
# procedure on all six collections. Held-out figures (each collection at the point chosen
# without it, pooled):
# sface+dlib 0.810/0, templates mirror-averaged (FaceEngine.template_embedder): rank-1 97.2%
#   full / 93.0% at 32 px with 2 templates, FIR 0.28% / 0.21%; 1 template 89.8% / 84.6%, FIR
#   0.20%; worst collection's FIR 0.54% (aligned112, 2 templates) over 1-25 templates; the
#   same photos in grey: 96.4%, worst 0.91%. (Templates embedded once, as before: 96.9%,
#   FIR 0.25%, worst 0.48%, grey worst 0.58%, at the same stranger-pair limit.)
# sface 0.43/0.01: 94.6% / 90.1%, FIR 0.32% / 0.24%; worst collection 0.62% (grey 0.89%).
# dlib 0.9575/0 (5e-5): 57.4% / 39.1%, FIR 0.12%; no limit kept Yale's grey faces with one
#   template under 1% (1.42%): its descriptors crowd near 1 and it is the weakest embedder.
DEFAULT_THRESHOLD = {"sface+dlib": 0.810, "sface": 0.43, "dlib": 0.9575}
DEFAULT_MARGIN = {"sface+dlib": 0.0, "sface": 0.01, "dlib": 0.0}
# A single match this strong names a face at once (otherwise two agreeing samples are needed),
# and two unknown faces this alike are taken for one stranger: just above strangers' highest
# person score with 1 to 25 templates (sface+dlib 0.857 with one template, 0.853 with two;
# sface 0.550; dlib 0.966) and above the most similar photos of two different people, in
# colour or grey (0.841 / 0.563 / 0.960 among ~470,000 pairs).
STRONG_SIMILARITY = {"sface+dlib": 0.86, "sface": 0.57, "dlib": 0.97}
# A person enrolled from one photo is scored as if their photos had this cosine to each other:
# the value at which strangers score as high against one template as against two (99.9th
# percentile of stranger-person pairs, bench/openset.one_template_cosine). The median cosine
# between two photos of one person scaled one template up too far: strangers' tail against a
# single template is heavier than against the mean of two.
SINGLE_TEMPLATE_COSINE = {"sface+dlib": 0.900, "sface": 0.777, "dlib": 0.977}
# A face the monitor has not named (under the threshold, or one accepted vote awaiting a
# second) whose best candidate scores at least this is a near miss of that person: most likely
# them on a bad frame. The meeting reconciliation does
# not count such a face as someone else in its candidate's tile (attendance/reconcile.py).
# The lowest level at which no collection, split among its own people, has over 1e-3 of
# stranger-person pairs as high (bench/calibrate_near_miss.py, faces of 24 px and up, 1-5
# templates): Glint360k's aligned crops decide it (7.4e-4; 4.4e-4 at the naming threshold),
# the others are at 0-1.2e-5. Chosen without those crops it would be 0.780, where they have
# 9.3e-3: a level must be checked on the hardest population it will meet. 13-28% of enrolled
# people's unnamed faces reach it for themselves. Other embedders: not calibrated, no near
# misses.
NEAR_MISS = {"sface+dlib": 0.805}
# A face smaller than this (shorter side, px) is counted but never named: below it the best
# candidate of a found face is the right person less than 95% of the time with 1, 2 or 5
# templates (bench/naming_size.py; sface+dlib at 24 px: 96.2% / 98.7% / 99.4%, at 20 px:
# 91.0% / 94.6% / 97.0%; sface at 28 px with one template 94.8%, dlib at 32 px 94.6%).
MIN_NAMING_PX = {"sface+dlib": 24, "sface": 32, "dlib": 40}
# The re-check (bench/calibrate_recheck.py): a verification keeps a face's name when dlib's half
# alone scores the face for that person at RECHECK_THRESHOLD or more, that person being dlib's
# best candidate; otherwise the face is judged by the full matcher. The threshold is where at
# most RECHECK_PAIR_LIMIT of stranger-person pairs score above it, a tenth of the full
# matcher's limit, chosen on all six collections (0.960); chosen without each collection and
# scored on it: 0.955-0.965, stranger-person pairs above it 4.0e-5 pooled (the full matcher
# allows 2e-4), faces kept 50.8% at full size / 31.6% at 32 px with 2 templates (the others
# are embedded in full), worst FIR 0.66% (Yale's grey faces, 1 template), 0.00-0.30% elsewhere.
RECHECK_PAIR_LIMIT = 2e-5
RECHECK_THRESHOLD = 0.960
RECHECK_SINGLE_TEMPLATE_COSINE = 0.974


@dataclass(frozen=True, slots=True)
class Matches:
    """The decision for each probe face: a person index into Gallery.names, or -1 for unknown."""

    person: np.ndarray  # (N,) int, -1 = unknown
    similarity: np.ndarray  # (N,) best person's similarity
    second: np.ndarray  # (N,) best similarity among all other people (-1 when none)
    candidate: np.ndarray  # (N,) best person index even when refused, for review queues

    def __len__(self) -> int:
        return len(self.person)


class Gallery:
    """Every enrolled person as one vector, matched by cosine similarity.

    A person's score does not depend on how many templates they have. The best match over a
    person's templates rises with their number (bench/bench_templates.py: calibrated with 2
    templates, the rule this replaces named 0.49% of probes wrongly with 2 and 6.7% with 25),
    so a person is scored by their templates' mean instead: the
    probe's mean similarity to them, which strangers cannot raise by adding templates. It is
    put on the scale of the cosine to the mean direction of two templates, dividing by
    sqrt((1 + rho) / 2) with rho the mean cosine between the person's templates; for exactly two
    templates this is the cosine to their mean direction (the rule this replaces, which took the
    best of that and every template). One template has no rho of its own: it gets
    ``single_template_cosine``, chosen so that strangers score as high against one template as
    against two (None: its plain cosine).

    A probe is named only when the score clears ``threshold``, beats every other person by
    ``margin`` and, when face sizes are given, the face is at least ``min_naming_px`` wide;
    otherwise it stays unknown, because a false "present" is worse than a missed one.
    """

    def __init__(
        self,
        names: list[str],
        person_index: np.ndarray,
        templates: np.ndarray,
        threshold: float,
        margin: float,
        min_naming_px: float = 0.0,
        single_template_cosine: float | None = None,
        near_miss: float | None = None,
    ) -> None:
        self.names = list(names)
        self.person_index = np.asarray(person_index, np.int64).reshape(-1)
        self.templates = np.atleast_2d(np.asarray(templates, np.float32))
        if len(self.templates) != len(self.person_index):
            raise ValueError("one person index is needed per template")
        if len(self.person_index) and self.person_index.max() >= len(self.names):
            raise ValueError("a template points at a person that is not in names")
        self.threshold = threshold
        self.margin = margin
        self.min_naming_px = min_naming_px
        self.single_template_cosine = single_template_cosine
        self.near_miss = near_miss  # NEAR_MISS for the embedder; None: no near misses
        self.people = person_vectors(
            self.templates, self.person_index, len(self.names), single_template_cosine
        )
        # The re-check's gallery (recheck_gallery), when the embedder has one.
        self.recheck: Gallery | None = None

    @classmethod
    def empty(cls, threshold: float = 0.4, margin: float = 0.05, dim: int = 0) -> Gallery:
        """Nobody enrolled: every face is unknown, whatever its embedding's length."""
        return cls([], np.zeros(0, np.int64), np.zeros((0, dim), np.float32), threshold, margin)

    def __len__(self) -> int:
        return len(self.names)

    def person_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, P) score of each probe for each person (see the class docstring)."""
        probes = np.asarray(embeddings, np.float32)
        if probes.size == 0:
            probes = np.zeros((0, self.people.shape[1]), np.float32)
        elif probes.ndim != 2:
            probes = probes.reshape(-1, probes.shape[-1])
        if not len(self.names) or not len(probes):
            return np.full((len(probes), len(self.names)), -1.0, np.float32)
        if probes.shape[1] != self.people.shape[1]:
            raise ValueError(
                f"embeddings have {probes.shape[1]} values, the gallery's templates "
                f"{self.people.shape[1]}: they come from different embedders"
            )
        return probes @ self.people.T

    def match(self, embeddings: np.ndarray, face_px: np.ndarray | None = None) -> Matches:
        """The decision for each face. face_px: each face's shorter side in pixels (Faces.min_side);
        faces under min_naming_px are never named, though their best candidate and similarity
        are still given for review."""
        scores = self.person_scores(embeddings)
        n = len(scores)
        if n == 0 or not self.names:
            minus = np.full(n, -1.0, np.float32)
            return Matches(np.full(n, -1), minus, minus, np.full(n, -1))
        order = np.argsort(-scores, axis=1)
        best = order[:, 0]
        rows = np.arange(n)
        best_sim = scores[rows, best]
        second_sim = scores[rows, order[:, 1]] if scores.shape[1] > 1 else np.full(n, -1.0)
        accepted = (best_sim >= self.threshold) & (best_sim - second_sim >= self.margin)
        if face_px is not None:
            sides = np.asarray(face_px, np.float32).reshape(-1)
            if len(sides) != n:
                raise ValueError(f"{len(sides)} face sizes for {n} faces")
            accepted &= sides >= self.min_naming_px
        return Matches(
            person=np.where(accepted, best, -1),
            similarity=best_sim.astype(np.float32),
            second=np.asarray(second_sim, np.float32),
            candidate=best,
        )

    def name_of(self, index: int) -> str | None:
        return None if index < 0 else self.names[index]

    def near_miss_of(self, candidate: int, similarity: float, face_px: float) -> str | None:
        """The person an unnamed face nearly matched (see NEAR_MISS), else None. Faces too
        small to be named never are: their best candidate says little."""
        if self.near_miss is None or candidate < 0 or face_px < self.min_naming_px:
            return None
        return self.names[candidate] if similarity >= self.near_miss else None


def person_vectors(
    templates: np.ndarray,
    owner: np.ndarray,
    people: int,
    single_template_cosine: float | None = None,
) -> np.ndarray:
    """(P, D): each person's mean template divided by sqrt((1 + rho) / 2), so that a probe's
    dot product with it is its mean similarity to the person on a 2-template centroid's scale.
    rho is the mean cosine between the person's templates, (|sum|^2 - n) / (n (n - 1)) for unit
    templates, or single_template_cosine for a person with one (None: 1, the plain cosine)."""
    dim = templates.shape[1] if templates.ndim == 2 else 0
    sums = np.zeros((people, dim), np.float64)
    if len(owner):
        np.add.at(sums, owner, templates)
    n = np.bincount(owner, minlength=people).astype(np.float64)
    squared = np.einsum("ij,ij->i", sums, sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (squared - n) / (n * (n - 1))
    one = 1.0 if single_template_cosine is None else single_template_cosine
    rho = np.clip(np.where(n >= 2, rho, one), -1.0, 1.0)
    scale = np.sqrt((1.0 + rho) / 2.0)
    mean = sums / np.maximum(n, 1)[:, None]
    return (mean / np.maximum(scale, 1e-6)[:, None]).astype(np.float32)


def recheck_gallery(gallery: Gallery) -> Gallery:
    """dlib's half of an sface+dlib gallery's templates, matched at RECHECK_THRESHOLD: the
    gallery of the re-check (see RECHECK_THRESHOLD). Only a face already named by the full
    matcher is re-checked, so the margin is 0 and the naming size the full gallery's."""
    from rollcall.vision.embed import dlib_half

    return Gallery(
        gallery.names,
        gallery.person_index,
        dlib_half(gallery.templates),
        threshold=RECHECK_THRESHOLD,
        margin=0.0,
        min_naming_px=gallery.min_naming_px,
        single_template_cosine=RECHECK_SINGLE_TEMPLATE_COSINE,
    )
