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
    """Every template of every enrolled person, matched by cosine similarity.

    A person's score is their best template's score, so several templates per person
    (different light, angle, glasses) all help. A person with two or more templates also gets
    their mean direction as one more: it sits nearer their unseen photos than any single
    enrollment photo does (calibration: rank-1 +1.2 points full size, +1.9 at 32 px, +5.3 at
    24 px at the same false-identification rate). A probe is named only when the score clears
    ``threshold`` and beats every other person by ``margin``; otherwise it stays unknown,
    because a false "present" is worse than a missed one.
    """

    def __init__(
        self,
        names: list[str],
        person_index: np.ndarray,
        templates: np.ndarray,
        threshold: float,
        margin: float,
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
        self._matrix, self._owner = _with_centroids(self.templates, self.person_index)

    @classmethod
    def empty(cls, threshold: float = 0.4, margin: float = 0.05) -> Gallery:
        return cls([], np.zeros(0, np.int64), np.zeros((0, 0), np.float32), threshold, margin)

    def __len__(self) -> int:
        return len(self.names)

    def _probes(self, embeddings: np.ndarray) -> np.ndarray:
        """Probe rows, one per face. A gallery without templates takes any embedding width
        (nobody enrolled for this embedder yet: every face is unknown); otherwise the width
        must be the templates'."""
        probes = np.asarray(embeddings, np.float32)
        if probes.ndim == 1:
            probes = probes[None] if probes.size else probes.reshape(0, 0)
        if len(self.templates) and len(probes) and probes.shape[1] != self.templates.shape[1]:
            raise ValueError(
                f"probe embeddings are {probes.shape[1]}-D but the gallery's templates are "
                f"{self.templates.shape[1]}-D (made by another embedder?)"
            )
        return probes

    def person_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, P) best-template cosine similarity of each probe to each person."""
        probes = self._probes(embeddings)
        scores = np.full((len(probes), len(self.names)), -1.0, np.float32)
        if not len(self._owner) or not len(probes):
            return scores
        sims = probes @ self._matrix.T  # (N, T)
        # Max over each person's templates without a Python loop over people.
        np.maximum.at(scores.T, self._owner, sims.T)
        return scores

    def match(self, embeddings: np.ndarray, face_px: np.ndarray | None = None) -> Matches:
        """Each probe's decision; ``face_px`` (each face's shorter side) is accepted for callers
        that know it (faces too small to name are refused once the naming size is measured)."""
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
        return Matches(
            person=np.where(accepted, best, -1),
            similarity=best_sim.astype(np.float32),
            second=np.asarray(second_sim, np.float32),
            candidate=best,
        )

    def name_of(self, index: int) -> str | None:
        return None if index < 0 else self.names[index]


def _with_centroids(templates: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The templates plus, for each person with two or more, their normalised mean."""
    people, counts = np.unique(owner, return_counts=True)
    several = people[counts >= 2]
    if not len(several):
        return templates, owner
    sums = np.zeros((len(several), templates.shape[1]), np.float64)
    rows = np.searchsorted(several, owner)
    mine = np.isin(owner, several)
    np.add.at(sums, rows[mine], templates[mine])
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    centroids = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
    return np.vstack([templates, centroids]), np.concatenate([owner, several])
