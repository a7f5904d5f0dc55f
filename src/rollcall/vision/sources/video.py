"""Frames from a recorded video file, timed by the container's own timestamps (VFR-safe)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import av.container
import av.video
import cv2
import numpy as np

from rollcall.errors import SourceError
from rollcall.vision.sources.base import SourceBase
from rollcall.vision.types import Frame

log = logging.getLogger(__name__)

# Below this distance decoding forward is cheaper than a seek back to the previous keyframe.
SEEK_THRESHOLD = 2.0
# A frame this much (seconds) before the one decoded before it: the timestamps went back.
BACK_SLACK = 1.0
AVFMT_TS_DISCONT = 0x0200  # FFmpeg's flag of formats whose timestamps may jump (MPEG-TS)
# Frames ending this much (seconds) before the header's duration: the file was cut short.
CUT_SHORT_SLACK = 2.0
# A few broken packets are tolerable (the decoder conceals them); a run of them means the rest
# of the file is garbage and the recording should end rather than spin.
MAX_BAD_PACKETS = 25
# FFmpeg renders text files as "video": its tty demuxer plays any .txt (and .nfo, .asc, ...)
# as ANSI art, and the binary-text formats likewise. Lecture notes passed as --source opened as
# a 640x400 recording without faces and everyone was marked absent. These decoders never carry
# camera or screen pictures.
TEXT_DECODERS = frozenset({"ansi", "bintext", "xbin", "idf"})
# A creation_time before this is an unset clock, not a recording's start (see _creation_time).
EARLIEST_CREATION = datetime(2001, 1, 1, tzinfo=UTC)


_TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def upright(image: np.ndarray, rotation: float) -> np.ndarray:
    """The frame as players show it. A phone filming upright stores the sensor's landscape
    pixels and a display matrix saying to turn them (rotation: degrees counter-clockwise);
    unturned, every face lies on its side and none is found."""
    turn = _TURNS.get(round(rotation) % 360)
    return image if turn is None else np.ascontiguousarray(cv2.rotate(image, turn))


class VideoFileSource(SourceBase):
    """A recording read as fast as possible; read(not_before) only moves forward."""

    live = False

    def __init__(self, path: str | Path, *, seek_threshold: float = SEEK_THRESHOLD) -> None:
        self.path = Path(path)
        self.name = f"video file {self.path}"
        self.seek_threshold = seek_threshold
        try:
            # Metadata is free text written by whatever made the file: undecodable bytes in a
            # title must not make the video unreadable.
            self._container = av.open(str(self.path), metadata_errors="replace")
        except av.InvalidDataError as exc:
            raise SourceError(
                f"{self.name} cannot be opened as a video: it is not one, or it is damaged or "
                "cut short (a recording whose recorder did not finish has no index to be read by)"
            ) from exc
        except av.FFmpegError as exc:
            reason = exc.strerror or str(exc)
            raise SourceError(f"{self.name} cannot be opened as a video: {reason}") from exc
        except (OSError, ValueError) as exc:
            raise SourceError(f"{self.name} cannot be opened as a video: {exc}") from exc
        try:
            if not self._container.streams.video:
                raise SourceError(
                    f"{self.name} has no video stream (not a video, or a recording cut short "
                    "before its recorder wrote where the video is)"
                )
            self._stream = self._container.streams.video[0]
            codec = self._stream.codec_context  # None for a codec FFmpeg does not know
            if codec is not None and codec.name in TEXT_DECODERS:
                raise SourceError(
                    f"{self.name} is a text file, not a video (FFmpeg would draw its text "
                    "as pictures); give a recording, a folder of snapshots, screen, camera:N "
                    "or a URL"
                )
            # Frame-level threads decode several frames at once; a big win for H.264 skipping.
            self._stream.thread_type = "AUTO"
            self._time_base: Fraction = self._stream.time_base or Fraction(1, 90000)
            rate = self._stream.average_rate or self._stream.guessed_rate
            self._frame_step = float(1 / rate) if rate else 1 / 25
            self.duration = self._find_duration()
            self.recorded_at, self.recorded_at_from = self._find_recorded_at()
            self._frames = self._decoded()
            # Decode one frame now so a file that is not really a video fails here, not later.
            first = self._next_frame()
            if first is None:
                raise SourceError(f"{self.name} contains no decodable video frames")
        except SourceError:
            self._container.close()
            raise
        start = self._stream.start_time
        self._origin = start if start is not None else (first.pts or 0)
        self._pending: av.VideoFrame | None = first
        self._position = -1.0  # t of the last frame decoded, the origin of forward skips
        self._index = -1
        self._last_key_t: float | None = None
        self._gop = 0.0  # longest keyframe interval seen: a seek shorter than it gains nothing
        self._ended = False
        # (header duration, where the frames really ended) when the file ends well before the
        # duration its header gives: a recording cut off by a full disk or a crash.
        self.cut_short: tuple[float, float] | None = None
        # (where the timestamps went back, to what) when they do: files joined end to end
        # (`cat a.ts b.ts`), each starting again at 0. The time after it cannot be told from
        # the time before, so the recording ends there, said (it was taken for cut short).
        self.went_back: tuple[float, float] | None = None
        # Formats whose timestamps may start again mid-file (MPEG-TS: a recorder's segments,
        # or files joined end to end): a file whose timestamps do is decoded forward (seeking
        # by time is ambiguous there), and a jump back continues the timeline where it was.
        # Only such a file: decoding a whole 2-hour TS to take 200 samples was 46 times as
        # slow as seeking (the second review). The packets' times tell without decoding.
        self._discontinuous = bool(
            self._container.format.flags & AVFMT_TS_DISCONT
        ) and _timestamps_go_back(self.path)
        if self._discontinuous:
            self.seek_threshold = math.inf
        self._shift = 0.0  # seconds added to the timestamps after each jump back

    def _find_duration(self) -> float | None:
        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is not None:
            return self._container.duration / av.time_base
        return None

    def _find_recorded_at(self) -> tuple[datetime | None, str]:
        """When the recording began on the wall clock, and how that is known.

        The container's creation time when it has a plausible one (screen recorders, cameras
        and FFmpeg write it when recording starts), else the file's modification time minus
        the duration (a recorder writes until the end), else unknown.
        """
        for metadata in (self._container.metadata, self._stream.metadata):
            created = _creation_time(metadata.get("creation_time"))
            if created is not None:
                return created, "the recording's creation time"
        if self.duration is None:
            return None, ""
        try:
            modified = datetime.fromtimestamp(self.path.stat().st_mtime, UTC)
        except OSError:
            return None, ""
        return (
            modified - timedelta(seconds=self.duration),
            "the file's modification time less its duration",
        )

    def _decoded(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; logs and stops on a broken file."""
        packets = self._container.demux(self._stream)
        bad = skipped = 0
        try:
            while True:
                try:
                    packet = next(packets)
                except StopIteration:
                    return
                except av.FFmpegError as exc:
                    log.warning(
                        "%s: stopped reading at a damaged part of the file: %s", self.name, exc
                    )
                    return
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:
                    bad += 1
                    skipped += 1
                    if skipped == 1:  # the first says why; the rest are counted at the end
                        log.warning("%s: skipped an undecodable packet: %s", self.name, exc)
                    if bad >= MAX_BAD_PACKETS:
                        log.warning("%s: too many damaged packets, treating as the end", self.name)
                        return
                    continue
                bad = 0
                yield from frames
        finally:
            if skipped > 1:
                log.warning("%s: %d undecodable packets skipped in all", self.name, skipped)

    def _next_frame(self) -> av.VideoFrame | None:
        try:
            return next(self._frames, None)
        except av.FFmpegError as exc:  # a decoder error surfacing outside _decoded's guard
            log.warning("%s: decoding failed, treating as the end: %s", self.name, exc)
            return None

    def _t(self, frame: av.VideoFrame) -> float:
        if frame.pts is None:
            # Without a timestamp the best guess is one nominal frame after the previous one.
            return self._position + self._frame_step
        return float((frame.pts - self._origin) * self._time_base) + self._shift

    def _seek(self, t: float) -> None:
        target = int(t / self._time_base) + self._origin
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except av.FFmpegError as exc:
            # Not fatal: decoding forward reaches the same frame, only slower.
            log.warning("%s: seek to %.1f s failed, decoding forward: %s", self.name, t, exc)
            return
        self._frames = self._decoded()
        self._pending = None
        self._last_key_t = None
        self._index = -1  # unknown until re-derived from the first frame's time

    def read(self, not_before: float = 0.0) -> Frame | None:
        if self._ended:
            return None
        before = self._position
        sought = not_before - before > max(self.seek_threshold, self._gop)
        if sought:
            self._seek(not_before)
        while True:
            frame = self._pending if self._pending is not None else self._next_frame()
            self._pending = None
            if frame is None:
                self._ended = True
                self._check_cut_short()
                return None
            t = self._t(frame)
            if self._discontinuous and self._position >= 0 and t < self._position - BACK_SLACK:
                log.info("%s: timestamps start again at %.1f s: the timeline goes on", self.name,
                         self._position)  # fmt: skip
                self._shift += self._position + self._frame_step - t
                t = self._position + self._frame_step
                self.duration = None  # the header's duration is the first piece's
            elif not sought and self._position >= 0 and t < self._position - BACK_SLACK:
                log.warning(
                    "%s: its timestamps go back from %.1f s to %.1f s (recordings joined end to "
                    "end?): only what comes before is analysed; rewrite it in one piece first "
                    "(ffmpeg -i IN -c copy -fflags +genpts OUT.mp4)",
                    self.name, self._position, t,
                )  # fmt: skip
                self.went_back = (self._position, t)
                self.duration = self._position + self._frame_step
                self._ended = True
                return None
            if sought:
                sought = False
                if t <= before:
                    # The seek landed on a keyframe at or behind where we already were: keyframes
                    # are at least this far apart, so seeking for jumps this short only repeats
                    # the decoding (long-GOP recordings would otherwise seek back every read).
                    self._gop = max(self._gop, not_before - t)
            self._position = t
            self._index = self._index + 1 if self._index >= 0 else round(t / self._frame_step)
            if frame.key_frame:
                if self._last_key_t is not None:
                    self._gop = max(self._gop, t - self._last_key_t)
                self._last_key_t = t
            if t >= not_before:
                # Converting to numpy is the expensive step, so only the frame handed out pays it.
                image = upright(frame.to_ndarray(format="bgr24"), frame.rotation)
                return Frame(image=image, t=t, index=self._index)

    def _check_cut_short(self) -> None:
        """At the end: did the frames stop well before the header's duration?"""
        if self.duration is None or self._position < 0:
            return
        if self.duration - self._position > CUT_SHORT_SLACK + self._frame_step:
            log.warning(
                "%s: the frames end at %.1f s, not at the %.1f s its header gives (cut short?)",
                self.name, self._position, self.duration,
            )  # fmt: skip
            self.cut_short = (self.duration, self._position)
            # The recording is as long as what it holds: statuses at its end are judged there.
            self.duration = self._position + self._frame_step

    def close(self) -> None:
        self._ended = True
        self._container.close()


def _timestamps_go_back(path: Path) -> bool:
    """Whether a local file's video packets' times ever go back by more than BACK_SLACK (read
    from the demuxer alone: no frame is decoded). Not a local file (a URL): no."""
    if not path.is_file():
        return False
    try:
        with av.open(str(path), metadata_errors="replace") as container:
            stream = container.streams.video[0]
            base = stream.time_base or Fraction(1, 90000)
            latest = None
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * base)
                if latest is not None and t < latest - BACK_SLACK:
                    return True
                latest = t if latest is None else max(latest, t)
    except (av.FFmpegError, OSError, IndexError):
        return False
    return False


def _creation_time(text: str | None) -> datetime | None:
    """A container's creation_time (FFmpeg writes UTC, e.g. 2024-05-06T07:00:00.000000Z).

    Unset MP4 times read as 1904 or 1970, and a camera whose clock was never set says 1980 or
    2000: times before 2001 or in the future are not believed.
    """
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST_CREATION <= value <= datetime.now(UTC) + timedelta(days=1):
        return None
    return value.astimezone(UTC)
