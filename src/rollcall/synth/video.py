"""Render an AttendanceScript as a meeting recording (MP4), at a constant or variable frame rate."""

from __future__ import annotations

import bisect
import random
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from rollcall.synth.gallery import (
    GalleryLayout,
    Size,
    Tile,
    TileTruth,
    compose_gallery,
    speaker_rects,
)
from rollcall.synth.labels import LabelStyle, Platform
from rollcall.synth.motion import MOVE_S, pose_at
from rollcall.synth.people import DEFAULT_FACE_FRACTION
from rollcall.synth.script import SPEAKER, SPEAKER_TURN_S, AttendanceScript, Screen

VFR_TIME_BASE = Fraction(1, 1000)
SPEAKER_COLOUR = (80, 200, 60)  # BGR green, the active-speaker frame of Zoom's gallery
# The speaker's big tile shows them sitting a little further back than a gallery tile does.
SPEAKER_FACE_FRACTION = 0.45


@dataclass(frozen=True, slots=True)
class Recording:
    """What was written: the file, its encoder, every frame's time, each person's photo, and
    every screen drawn (from the time of the first frame that showed it) with its tiles."""

    path: Path
    size: Size
    codec: str
    vfr: bool
    frame_times: list[float]
    photos: dict[str, Path]
    screens: list[tuple[float, list[TileTruth]]]

    @property
    def frame_count(self) -> int:
        return len(self.frame_times)

    def tiles_at(self, t: float) -> list[TileTruth]:
        """The tiles of the frame shown at ``t`` (a sample reads the frame at its time)."""
        starts = [start for start, _ in self.screens]
        i = bisect.bisect_right(starts, t + 1e-6) - 1
        return self.screens[i][1] if i >= 0 else []

    def screens_json(self) -> list[dict[str, object]]:
        return [
            {"t": start, "tiles": [tile.to_dict() for tile in tiles]}
            for start, tiles in self.screens
        ]


def pick_encoder() -> str:
    """libx264 when the FFmpeg bundled with PyAV has it (the PyPI wheels do), else mpeg4."""
    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except (av.error.FFmpegError, ValueError):
            continue
        return name
    raise RuntimeError("PyAV's FFmpeg has neither libx264 nor mpeg4; reinstall av from PyPI")


def frame_times(duration_s: float, fps: float, vfr: bool = False, seed: int = 0) -> list[float]:
    """When frames are taken: every 1/fps, or (vfr) at irregular gaps around 1/fps.

    VFR gaps range from a fifth of a frame to three frames, like a screen recorder that only
    emits frames when something moves; times are whole milliseconds and strictly increasing.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    if not vfr:
        count = int(np.ceil(duration_s * fps - 1e-9))
        return [float(i / fps) for i in range(count)]
    rng = random.Random(seed)  # nosec B311 - seeded for reproducible synthetic data, not security
    times, t = [], 0.0
    while t < duration_s:
        times.append(t)
        gap = min(3.0, max(0.2, rng.lognormvariate(0.0, 0.6))) / fps
        t = round(t + max(gap, 0.001), 3)
    return times


def choose_photos(
    names: Sequence[str], photos: Mapping[str, Sequence[Path]], seed: int
) -> dict[str, Path]:
    """One photo per person for the whole recording; the caller keeps the rest for enrollment."""
    chosen: dict[str, Path] = {}
    for name in names:
        options = sorted(photos.get(name, ()))
        if not options:
            raise ValueError(f"no photo for {name}; pass at least one per participant")
        # Seed per name so adding a participant does not change everyone else's photo.
        rng = random.Random(f"{seed}:{name}")  # nosec B311 - seeded for reproducible synthetic data, not security
        chosen[name] = rng.choice(options)
    return chosen


def render_recording(
    script: AttendanceScript,
    photos: Mapping[str, Sequence[Path]],
    path: Path,
    size: Size = (1280, 720),
    fps: float = 4.0,
    *,
    vfr: bool = False,
    codec: str | None = None,
    crf: int = 23,
    bitrate: int | None = None,
    preset: str = "ultrafast",
    jitter: bool = True,
    speaker: bool = True,
    seed: int | None = None,
    platform: Platform = "zoom",
) -> Recording:
    """Write ``script`` as an MP4 gallery recording at ``path`` and say what was written.

    The canvas is only recomposed when the tiles change, so long recordings at a few frames per
    second take seconds. ``jitter`` nudges brightness and position by a pixel or two per frame so
    no two frames are identical; ``speaker`` moves a green active-speaker frame between tiles.
    The libx264 ``preset`` defaults to ultrafast: these files are throwaway test data, and it
    encodes about twice as fast as veryfast at some three times the size. Name labels are
    drawn as ``platform`` draws them; about a third of the participants are muted and one in
    eight has a hand raised (seeded per name).
    """
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"size {size} must be even for yuv420p video")
    seed = script.seed if seed is None else seed
    codec = codec or pick_encoder()
    shown = [script.accounts.get(n, n) for n in script.participants if script.presence[n]]
    shown += [who for spans in script.sit_ins.values() for _, _, who in spans]
    shown += list(script.posters.values())
    chosen = choose_photos(list(dict.fromkeys(shown)), photos, seed)
    times = frame_times(script.duration_s, fps, vfr, seed)
    rng = np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = _open_stream(container, codec, size, fps, vfr, crf, bitrate, preset)
        time_base = stream.codec_context.time_base
        last_screen: Screen | None = None
        last_epoch = -1
        canvas = np.zeros((height, width, 3), np.uint8)  # replaced by the first composition
        layout_rects: list[tuple[int, int, int, int]] = []
        screens: list[tuple[float, list[TileTruth]]] = []
        for index, t in enumerate(times):
            screen = script.screen_at(t)
            # Participants move between poses every MOVE_S (synth.motion): drawn again then.
            epoch = int(t // MOVE_S)
            if screen != last_screen or epoch != last_epoch:
                last_epoch = epoch
                canvas, truths = _compose(screen, chosen, size, platform, seed, t)
                layout_rects = [tr.rect for tr in truths if tr.kind == "face"]
                if screen.view == SPEAKER and layout_rects:
                    layout_rects = layout_rects[:1]  # the big tile is the one talking
                if screen != last_screen:
                    screens.append((t, truths))
                last_screen = screen
            image = _frame_image(canvas, layout_rects, t, rng, jitter, speaker, seed)
            # OpenCV's I420 is limited-range BT.601 like FFmpeg's, and 4x faster than reformat.
            yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = round(t / time_base) if vfr else index
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    recorded = (
        [round(t, 3) for t in times] if vfr else [i * float(time_base) for i in range(len(times))]
    )
    # Screens keyed by the times the file really carries (CFR rounds to the time base).
    by_index = {round(t, 9): i for i, t in enumerate(times)}
    screens = [(recorded[by_index[round(t, 9)]], truths) for t, truths in screens]
    return Recording(path, size, codec, vfr, recorded, chosen, screens)


def _open_stream(
    container: av.container.OutputContainer,
    codec: str,
    size: Size,
    fps: float,
    vfr: bool,
    crf: int,
    bitrate: int | None,
    preset: str,
) -> av.video.stream.VideoStream:
    rate = Fraction(fps).limit_denominator(1001)
    stream = container.add_stream(codec, rate=rate)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    # VFR needs a clock finer than any gap; CFR counts frames.
    time_base = VFR_TIME_BASE if vfr else 1 / rate
    stream.codec_context.time_base = time_base
    stream.time_base = time_base
    if bitrate is not None:
        stream.bit_rate = bitrate
    if codec == "libx264":
        options = {"preset": preset}
        if bitrate is None:
            options["crf"] = str(crf)
        stream.options = options
    elif bitrate is None:
        # mpeg4 has no CRF; a fixed quantiser gives the same "quality, not size" behaviour.
        stream.codec_context.qscale = max(2, min(31, crf // 5))
    return stream


def _compose(
    screen: Screen,
    photos: Mapping[str, Path],
    size: Size,
    platform: Platform = "zoom",
    seed: int = 0,
    t: float | None = None,
) -> tuple[np.ndarray, list[TileTruth]]:
    """The gallery of ``screen``, its participants posed as at ``t`` (None: as photographed);
    a picture used as a camera is drawn the same at every ``t``."""
    if not screen.tiles:
        layout = GalleryLayout.for_count(0, size)
        return compose_gallery([], size, layout=layout)
    drawn = []
    for i, st in enumerate(screen.tiles):
        big = screen.view == SPEAKER and i == 0
        face = st.face if st.face is not None else st.name
        style = LabelStyle(
            platform,
            muted=zlib.crc32(f"{seed}:muted:{st.name}".encode()) % 3 == 0,
            hand=zlib.crc32(f"{seed}:hand:{st.name}".encode()) % 8 == 0,
        )
        drawn.append(
            Tile(
                st.name,
                photos.get(face),
                label=st.label,
                style=style,
                camera_off=not st.camera_on,
                face=st.face,
                poster=photos.get(st.poster) if st.poster else None,
                poster_name=st.poster,
                face_fraction=SPEAKER_FACE_FRACTION if big else DEFAULT_FACE_FRACTION,
                pose=None if t is None or st.picture else pose_at(seed, face, t),
                picture=st.picture,
            )
        )
    rects = speaker_rects(len(drawn), size) if screen.view == SPEAKER else None
    return compose_gallery(drawn, size, rects=rects)


def _frame_image(
    canvas: np.ndarray,
    face_rects: list[tuple[int, int, int, int]],
    t: float,
    rng: np.random.Generator,
    jitter: bool,
    speaker: bool,
    seed: int,
) -> np.ndarray:
    if not face_rects or not (jitter or speaker):
        return canvas
    image = canvas.copy()
    turn = int(t // SPEAKER_TURN_S)
    talking = face_rects[zlib.crc32(f"{seed}:{turn}".encode()) % len(face_rects)]
    if jitter:
        # Only the speaker moves and one other camera flickers: whole-frame jitter would make
        # every frame expensive to encode, and most tiles of a real gallery are nearly still.
        dx, dy = (int(v) for v in rng.integers(-2, 3, size=2))
        _nudge(image, canvas, talking, dx, dy, int(rng.integers(-4, 5)))
        other = face_rects[int(rng.integers(len(face_rects)))]
        _nudge(image, canvas, other, 0, 0, int(rng.integers(-2, 3)))
    if speaker:
        # Drawn inside the tile, as the apps do: a line straddling the tile's edge would spill
        # into the gutter between tiles.
        x, y, w, h = talking
        thick = max(2, h // 60)
        inset = thick // 2
        cv2.rectangle(
            image,
            (x + inset, y + inset),
            (x + w - 1 - inset, y + h - 1 - inset),
            SPEAKER_COLOUR,
            thick,
        )
    return image


def _nudge(
    image: np.ndarray,
    canvas: np.ndarray,
    rect: tuple[int, int, int, int],
    dx: int,
    dy: int,
    brightness: int,
) -> None:
    """Redraw one tile of ``image`` from ``canvas`` shifted by (dx, dy) and brightened."""
    x, y, w, h = rect
    tile = canvas[y : y + h, x : x + w]
    if dx or dy:
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        tile = cv2.warpAffine(tile, shift, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if brightness > 0:
        tile = cv2.add(tile, (brightness, brightness, brightness, 0))
    elif brightness < 0:
        tile = cv2.subtract(tile, (-brightness, -brightness, -brightness, 0))
    image[y : y + h, x : x + w] = tile
