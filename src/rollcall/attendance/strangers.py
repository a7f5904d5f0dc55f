"""The same stranger across sessions: unknown faces grouped by their embeddings.

Two faces are one stranger when their embeddings are at least as alike as the embedder's
STRONG_SIMILARITY, the cut-off above the most similar photos of two *different* people that
the monitor already uses to keep one review entry per stranger within a session; groups are
the connected faces (single linkage). Faces kept without an embedding stay on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rollcall.vision.gallery import STRONG_SIMILARITY


def group_faces(
    vectors: Mapping[int, tuple[str, np.ndarray] | None],
    threshold: Mapping[str, float] = STRONG_SIMILARITY,
) -> list[list[int]]:
    """Face ids grouped by stranger, each group and the groups in the order of `vectors`;
    `vectors` maps a face id to (embedder, embedding) or None."""
    ids = list(vectors)
    order = {face_id: k for k, face_id in enumerate(ids)}
    parent = {i: i for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_embedder: dict[str, list[int]] = {}
    for face_id, item in vectors.items():
        if item is not None:
            by_embedder.setdefault(item[0], []).append(face_id)
    for embedder, members in by_embedder.items():
        if len(members) < 2:
            continue
        matrix = np.vstack([vectors[m][1] for m in members]).astype(np.float32)  # type: ignore[index]
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        alike = matrix @ matrix.T >= threshold.get(embedder, 0.9)
        for a, b in zip(*np.nonzero(np.triu(alike, k=1)), strict=True):
            ra, rb = root(members[a]), root(members[b])
            if ra != rb:
                parent[max(ra, rb, key=order.get)] = min(ra, rb, key=order.get)
    groups: dict[int, list[int]] = {}
    for face_id in ids:
        groups.setdefault(root(face_id), []).append(face_id)
    return list(groups.values())
