"""The small typed objects handed between vision stages: a Frame in, a Faces batch out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture from a source, with its time on the source's own timeline (seconds)."""

    image: np.ndarray  # BGR uint8, H x W x 3
    t: float
    index: int = 0

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.image.shape[:2]
        return w, h


@dataclass(slots=True)
class Faces:
    """Every face found in one image, as parallel numpy arrays (no per-face objects).

    boxes are [x, y, w, h] in pixels of the original image; landmarks are the five
    YuNet points (right eye, left eye, nose tip, right mouth corner, left mouth corner).
    embeddings, when present, are L2-normalised rows.
    """

    boxes: np.ndarray  # (N, 4) float32
    scores: np.ndarray  # (N,) float32
    landmarks: np.ndarray  # (N, 5, 2) float32
    embeddings: np.ndarray | None = None  # (N, D) float32
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        n = len(self.boxes)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float32).reshape(n, 5, 2)
        if self.embeddings is not None:
            self.embeddings = np.asarray(self.embeddings, dtype=np.float32).reshape(n, -1)
        for key, value in self.data.items():
            if len(value) != n:
                raise ValueError(f"Faces.data[{key!r}] has {len(value)} rows, expected {n}")

    @classmethod
    def empty(cls) -> Faces:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> Faces:
        """Select faces by boolean mask, index array or slice, keeping every column aligned."""
        return Faces(
            boxes=self.boxes[index],
            scores=self.scores[index],
            landmarks=self.landmarks[index],
            embeddings=None if self.embeddings is None else self.embeddings[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    @property
    def min_side(self) -> np.ndarray:
        """The shorter side of each box, the size that decides whether a face is usable."""
        return np.minimum(self.boxes[:, 2], self.boxes[:, 3])

    @staticmethod
    def concat(parts: list[Faces]) -> Faces:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Faces.empty()
        has_emb = all(p.embeddings is not None for p in parts)
        keys = set.intersection(*(set(p.data) for p in parts))
        return Faces(
            boxes=np.concatenate([p.boxes for p in parts]),
            scores=np.concatenate([p.scores for p in parts]),
            landmarks=np.concatenate([p.landmarks for p in parts]),
            embeddings=np.concatenate([p.embeddings for p in parts]) if has_emb else None,
            data={k: np.concatenate([p.data[k] for p in parts]) for k in keys},
        )
