"""Frames read continuously at a steady rate, for modes that watch every moment (the entrance).

The meeting mode reads one frame per random sampling time; an entrance camera must be watched
all the time, because a person walks past it in two or three seconds. ``frames_at`` asks the
source for a frame every 1/fps seconds of its own timeline:

- a live source (camera, stream) is drained by its own thread and keeps only its newest frame
  (vision.sources.live), so when the analysis falls behind, the frames it had no time for are
  dropped and the newest one wins: the decision is late by one frame, never by a backlog;
- a recording is decoded on its own timestamps, one frame per 1/fps seconds of the file,
  as fast as the analysis goes (or at the file's pace with ``realtime``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from rollcall.vision.sources import FrameSource
from rollcall.vision.types import Frame

# A live source's sampling time this far in the past when its turn comes (an agent joined a
# running session or could not learn its times while offline; a run resumed after a while) is
# missed, not taken late: a frame of now stamped with a time long gone would be a sample that
# never was.
LATE_SKIP_S = 15.0


def frames_at(
    source: FrameSource, fps: float, start: float = 0.0, realtime: bool = False
) -> Iterator[Frame]:
    """Frames of ``source`` at most ``fps`` a second of its timeline, from ``start`` on."""
    if fps <= 0:
        raise ValueError("fps must be positive")
    step = 1.0 / fps
    wanted = start
    paced_from = time.monotonic() - start
    while True:
        if realtime and not source.live:
            time.sleep(max(0.0, paced_from + wanted - time.monotonic()))
        frame = source.read(not_before=wanted)
        if frame is None:
            return
        yield frame
        # One step on; a source that handed a frame later than that (a live source that was
        # waited for, a gap in a recording) is simply asked for its next one.
        wanted = max(wanted + step, frame.t)
