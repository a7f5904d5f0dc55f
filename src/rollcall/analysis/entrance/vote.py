"""Naming a track from its best shots, with the meeting monitor's open-set rules.

Each best shot is matched on its own (Gallery.match: the calibrated threshold, margin and
naming size). A track is named P when at least ``confirm_votes`` shots name P, or one shot
names P with a similarity of at least ``strong_similarity`` (the same two rules and values as
attendance.monitor.MonitorConfig, calibrated in vision.gallery), and no shot names anyone else.
A track whose shots all stay unknown after ``unknown_after`` embeddings is a stranger.
No new threshold is introduced here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rollcall.analysis.entrance.best_shots import Shot
from rollcall.vision.gallery import Gallery
from rollcall.vision.types import Faces

EmbedCrop = Callable[[np.ndarray, Faces], np.ndarray]


@dataclass(frozen=True)
class VoteRules:
    confirm_votes: int = 2
    strong_similarity: float = 0.86  # vision.gallery.STRONG_SIMILARITY["sface+dlib"]
    unknown_after: int = 3


@dataclass
class Verdict:
    person: str | None = None
    similarity: float = 0.0
    shot: Shot | None = None  # the best shot naming them (evidence)
    disputed: bool = False  # shots named two different people
    stranger: bool = False
    best_candidate: str | None = None
    best_similarity: float = -1.0
    embedding: np.ndarray | None = None  # of the best shot, for a stranger's review entry
    named_any: bool = False  # some shot named someone (one person or several)


@dataclass
class TrackVote:
    """The recognitions of one track's shots so far."""

    rules: VoteRules
    results: dict[int, tuple[Shot, int, float, int, np.ndarray]] = field(default_factory=dict)

    def add(self, shot: Shot, gallery: Gallery, embed_crop: EmbedCrop) -> None:
        if id(shot) in self.results:
            return
        vector = embed_crop(shot.crop, shot.faces)
        m = gallery.match(vector, np.float32([shot.face_px]))
        self.results[id(shot)] = (
            shot,
            int(m.person[0]),
            float(m.similarity[0]),
            int(m.candidate[0]),
            vector[0],
        )

    @property
    def embedded(self) -> int:
        return len(self.results)

    def verdict(self, gallery: Gallery) -> Verdict:
        named = [(p, s, shot) for shot, p, s, _, _ in self.results.values() if p >= 0]
        people = Counter(p for p, _, _ in named)
        best = max(self.results.values(), key=lambda r: r[2], default=None)
        out = Verdict()
        if best is not None:
            out.best_candidate = gallery.name_of(best[3])
            out.best_similarity = best[2]
            out.embedding = best[4]
        out.named_any = bool(people)
        if len(people) > 1:
            out.disputed = True
            return out
        if people:
            ((p, votes),) = people.items()
            top = max((r for r in named if r[0] == p), key=lambda r: r[1])
            if votes >= self.rules.confirm_votes or top[1] >= self.rules.strong_similarity:
                out.person, out.similarity, out.shot = gallery.name_of(p), top[1], top[2]
            return out
        out.stranger = self.embedded >= self.rules.unknown_after
        return out
