"""Random head-count times: uniform gaps between a minimum and a maximum, reproducible by seed."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rollcall.errors import RollcallError


class SamplingSchedule:
    """The times, on the source's timeline, at which head counts are taken.

    Gaps are drawn uniformly from [min_interval, max_interval] so nobody can time their
    presence around the samples. The same seed always gives the same times, which is what
    lets a resumed session continue exactly where the interrupted one would have gone.
    """

    def __init__(self, min_interval: float, max_interval: float, seed: int, start: float = 0.0):
        if min_interval <= 0 or max_interval < min_interval:
            raise RollcallError(
                "sampling interval must satisfy 0 < min <= max "
                f"(got {min_interval}, {max_interval})"
            )
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.seed = seed
        self.start = start

    def __iter__(self) -> Iterator[tuple[int, float]]:
        """(sequence number, time) pairs, the first at `start`."""
        rng = np.random.default_rng(self.seed)
        t = self.start
        seq = 0
        while True:
            yield seq, t
            t += float(rng.uniform(self.min_interval, self.max_interval))
            seq += 1

    def after(self, t: float) -> Iterator[tuple[int, float]]:
        """The schedule's samples strictly after t (for resuming)."""
        return ((seq, ts) for seq, ts in self if ts > t)
