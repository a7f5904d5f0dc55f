"""Enrolled templates as one matrix, and open-set 1:N matching with a threshold and a margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Calibrated by bench/calibrate.py on 970 real photos of 53 people (20 seeded splits: 2 enrolled
# photos per person, a quarter of the people never enrolled, probes at full size, 32 and 24 px),
# each point the best rank-1 while false identifications (FIR) stay at half the 1% allowance on
# average and under 2% in the worst split, at every size:
# sface+dlib 0.795/0.010: rank-1 97.6% full / 94.1% at 32 px / 80.0% at 24 px, FIR 0.44% /
#   0.36% / 0.30% (worst split 1.90%). Holding every split under 1% would take 0.795/0.040:
#   96.6% / 92.4% / 77.8%, FIR 0.30% / 0.23% / 0.14%.
# sface 0.40/0.02: rank-1 95.7% / 91.6% / 75.9%, FIR 0.50% / 0.50% / 0.31% (worst 1.68%).
# dlib 0.935/0.02: rank-1 90.5% / 81.8% / 59.4%, FIR 0.34% / 0.32% / 0.45%. Its normalised
#   descriptors crowd near 1 (its usual 0.90 named 13% of never-enrolled people).
DEFAULT_THRESHOLD = {"sface+dlib": 0.795, "sface": 0.40, "dlib": 0.935}
DEFAULT_MARGIN = {"sface+dlib": 0.010, "sface": 0.02, "dlib": 0.02}
# A single match this strong names a face at once (otherwise two agreeing samples are needed),
# and two unknown faces this alike are taken for one stranger. Just above the most similar pair
# of different people among the 970 photos (~470,000 pairs): sface 0.518, dlib 0.960,
# sface+dlib 0.833; 56% / 8% / 52% of same-person pairs clear them (bench/calibrate.py prints both).
STRONG_SIMILARITY = {"sface+dlib": 0.85, "sface": 0.55, "dlib": 0.97}
SAME_PERSON_COSINE = {"sface+dlib": 0.85, "sface": 0.5, "dlib": 0.95}
PRIOR_PAIRS = 1.0
MIN_NAMING_PX = {"sface+dlib": 0.0, "sface": 0.0, "dlib": 0.0}


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
    person's templates rises with their number (with 25 templates a stranger finds one that
    looks like them 5x more often than with 2), so a person is scored by their templates' mean
    instead: the probe's mean similarity to them, which strangers cannot raise by adding
    templates. It is put on the scale of the cosine to the mean direction of two templates
    (dividing by sqrt((1 + rho) / 2), rho the mean cosine between the person's templates, pulled
    towards ``same_person_cosine`` when they are few), so one threshold serves 1 to 25 templates;
    for exactly two templates it is the cosine to their mean direction. A person with one
    template is scored as if their second template were typical (rho = same_person_cosine).

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
        same_person_cosine: float | None = None,
        prior_pairs: float = PRIOR_PAIRS,
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
        self.same_person_cosine = same_person_cosine
        self.prior_pairs = prior_pairs
        self.people = person_vectors(
            self.templates, self.person_index, len(self.names), same_person_cosine, prior_pairs
        )

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


def person_vectors(
    templates: np.ndarray,
    owner: np.ndarray,
    people: int,
    same_person_cosine: float | None = None,
    prior_pairs: float = PRIOR_PAIRS,
) -> np.ndarray:
    """(P, D): each person's mean template divided by sqrt((1 + rho) / 2), so that a probe's
    dot product with it is its mean similarity to the person on a 2-template centroid's scale.

    rho is the mean cosine between the person's templates, (|sum|^2 - n) / (n (n - 1)), shrunk
    towards same_person_cosine as if prior_pairs more pairs had that cosine: one pair of photos
    says little about how alike a person's photos are, and one template says nothing.
    Without same_person_cosine there is no prior: one template is scored by its own cosine."""
    if same_person_cosine is None:
        same_person_cosine, prior_pairs = 1.0, 0.0
    dim = templates.shape[1] if templates.ndim == 2 else 0
    sums = np.zeros((people, dim), np.float64)
    if len(owner):
        np.add.at(sums, owner, templates)
    n = np.bincount(owner, minlength=people).astype(np.float64)
    pairs = n * (n - 1) / 2
    squared = np.einsum("ij,ij->i", sums, sums)
    # Sum over pairs of cosines = (|sum|^2 - n) / 2 for unit templates.
    pair_sum = np.maximum(squared - n, -2 * pairs) / 2
    rho = (prior_pairs * same_person_cosine + pair_sum) / np.maximum(prior_pairs + pairs, 1e-12)
    rho = np.clip(np.where(prior_pairs + pairs > 0, rho, 1.0), -1.0, 1.0)
    scale = np.sqrt((1.0 + rho) / 2.0)
    mean = sums / np.maximum(n, 1)[:, None]
    return (mean / np.maximum(scale, 1e-6)[:, None]).astype(np.float32)
