"""Enrolled templates as one matrix, and open-set 1:N matching with a threshold and a margin."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Calibrated by bench/calibrate.py on 973 real photos of 52 people (20 seeded splits: 2 enrolled
# photos per person, a quarter of the people never enrolled, probes at full size, 32 and 24 px),
# each point the best rank-1 with false identifications <= 1% in every split at every size:
# sface+dlib 0.785/0.035: rank-1 93.3% full / 88.7% at 32 px / 73.3% at 24 px, false
#   identifications 0.26% / 0.19% / 0.18% (worst split 0.89%).
# sface 0.40/0.12: rank-1 91.8% / 86.5% / 71.4%, FIR 0.26% / 0.20% / 0.08%. (0.38 gained 0.7
#   points of rank-1 for twice the false identifications; a false "present" is the worst error.)
# dlib 0.935/0.02: rank-1 83.5% / 73.5% / 50.1%, FIR 0.19% / 0.13% / 0.17%. Its normalised
#   descriptors crowd near 1 (its usual 0.90 named 13% of never-enrolled people).
DEFAULT_THRESHOLD = {"sface+dlib": 0.785, "sface": 0.40, "dlib": 0.935}
DEFAULT_MARGIN = {"sface+dlib": 0.035, "sface": 0.12, "dlib": 0.02}
# A single match this strong names a face at once (otherwise two agreeing samples are needed),
# and two unknown faces this alike are taken for one stranger. Just above the most similar pair
# of different people among the 973 photos (~470,000 pairs): sface 0.518, dlib 0.960,
# sface+dlib 0.833; about half of same-person pairs clear them (bench/calibrate.py prints both).
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
    (different light, angle, glasses) all help. A probe is named only when that score clears
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

    @classmethod
    def empty(cls, threshold: float = 0.4, margin: float = 0.05) -> Gallery:
        return cls([], np.zeros(0, np.int64), np.zeros((0, 128), np.float32), threshold, margin)

    def __len__(self) -> int:
        return len(self.names)

    def person_scores(self, embeddings: np.ndarray) -> np.ndarray:
        """(N, P) best-template cosine similarity of each probe to each person."""
        probes = np.asarray(embeddings, np.float32).reshape(-1, self.templates.shape[1])
        scores = np.full((len(probes), len(self.names)), -1.0, np.float32)
        if not len(self.person_index) or not len(probes):
            return scores
        sims = probes @ self.templates.T  # (N, T)
        # Max over each person's templates without a Python loop over people.
        np.maximum.at(scores.T, self.person_index, sims.T)
        return scores

    def match(self, embeddings: np.ndarray) -> Matches:
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
