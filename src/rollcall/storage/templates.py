"""How a face template is turned into bytes for the database and back (no pickles)."""

from __future__ import annotations

import numpy as np

# Explicit little-endian float32 so a database moved between machines reads the same vectors.
_DTYPE = np.dtype("<f4")


def encode_template(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=_DTYPE).reshape(-1).tobytes()


def decode_template(blob: bytes, dim: int) -> np.ndarray:
    vector = np.frombuffer(blob, dtype=_DTYPE)
    if vector.size != dim:
        raise ValueError(f"template holds {vector.size} values, expected {dim}")
    return vector.astype(np.float32)
