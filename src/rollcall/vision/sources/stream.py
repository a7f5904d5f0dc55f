"""Network streams (RTSP, HTTP, UDP, ...) decoded with PyAV and paced to their own clock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import av
import numpy as np

from rollcall.errors import SourceError
from rollcall.source_text import shown_source
from rollcall.vision.sources.live import DeviceLost, LiveSource

log = logging.getLogger(__name__)

# A finite stream (a file served over HTTP) that stops within this much of its announced
# duration has ended; stopping earlier means the connection broke.
END_TOLERANCE = 1.0
# Drift between the stream clock and the wall clock beyond this re-anchors the pacing
# instead of sleeping (or racing) to catch up.
RESYNC_AFTER = 2.0


def _without_password(exc: Exception, url: str) -> str:
    """FFmpeg's message for a stream: it repeats the URL it was given, password and all."""
    return str(exc).replace(url, shown_source(url))


class StreamDevice:
    """One connection to a stream URL.

    Frames are released at the pace of their timestamps, so a recording served over HTTP
    plays like a live broadcast instead of being consumed at decoding speed.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        resume_after: float | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = url
        self._stop = stop or threading.Event()
        options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
        try:
            self._container = av.open(
                url, timeout=(timeout, timeout), options=options, metadata_errors="replace"
            )
        except (av.FFmpegError, OSError, ValueError) as exc:
            why = _without_password(exc, url)
            raise SourceError(f"stream {shown_source(url)} cannot be opened: {why}") from None
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"stream {shown_source(url)} has no video")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        duration = self._container.duration
        self.duration = duration / av.time_base if duration is not None else None
        self._origin: int | None = self._stream.start_time  # else the first frame's pts
        self._frames: Iterator[av.VideoFrame] = self._container.decode(self._stream)
        # After a reconnect to a finite stream, frames already delivered are not repeated.
        self.resume_after = resume_after
        self.position: float | None = None  # stream time of the last frame delivered
        self._anchor: tuple[float, float] | None = None  # (stream time, monotonic)

    def _stream_time(self, frame: av.VideoFrame) -> float | None:
        if frame.pts is None or frame.time_base is None:
            return None
        if self._origin is None:
            self._origin = frame.pts
        return float((frame.pts - self._origin) * frame.time_base)

    def _pace(self, st: float) -> None:
        now = time.monotonic()
        if self._anchor is None:
            self._anchor = (st, now)
            return
        delay = self._anchor[1] + (st - self._anchor[0]) - now
        if delay > RESYNC_AFTER or delay < -RESYNC_AFTER:
            self._anchor = (st, now)
        elif delay > 0:
            self._stop.wait(delay)

    def next_raw(self) -> av.VideoFrame | None:
        while True:
            try:
                frame = next(self._frames)
            except StopIteration:
                if self._finished():
                    return None
                raise DeviceLost("the stream ended before its announced duration") from None
            except (av.FFmpegError, OSError) as exc:
                raise DeviceLost(_without_password(exc, self.url)) from None
            st = self._stream_time(frame)
            if st is None:
                return frame
            if self.resume_after is not None and st <= self.resume_after:
                continue
            self._pace(st)
            self.position = st
            return frame

    def _finished(self) -> bool:
        if self.duration is None:
            return False  # a live stream never ends by itself; EOF means the link broke
        last = self.position if self.position is not None else self.resume_after or 0.0
        return last >= self.duration - END_TOLERANCE

    def to_bgr(self, raw: av.VideoFrame) -> np.ndarray:
        return raw.to_ndarray(format="bgr24")

    def close(self) -> None:
        self._container.close()


class StreamSource(LiveSource):
    """A stream URL; a finite one (a recording served over HTTP) ends with None at its end."""

    def __init__(self, url: str, *, reconnect_timeout: float = 30.0, timeout: float = 10.0) -> None:
        self.url = url
        self.name = f"stream {shown_source(url)}"  # names go into logs and errors
        self.timeout = timeout
        self._current: StreamDevice | None = None
        super().__init__(reconnect_timeout=reconnect_timeout)
        assert self._current is not None  # nosec B101 - type narrowing of an invariant, not input validation
        self.duration = self._current.duration

    def _connect(self) -> StreamDevice:
        resume = None
        previous = self._current
        if previous is not None and previous.duration is not None:
            # Restarting a finite stream replays it from the start; skip what was seen.
            resume = previous.position if previous.position is not None else previous.resume_after
        device = StreamDevice(self.url, timeout=self.timeout, resume_after=resume, stop=self._stop)
        self._current = device
        return device
