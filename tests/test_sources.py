"""rollcall.vision.sources against real files, a real HTTP server and a real X display."""

from __future__ import annotations

import contextlib
import functools
import http.server
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from rollcall.errors import SourceError
from rollcall.vision.sources import (
    FrameSource,
    ImageFolderSource,
    StreamSource,
    VideoFileSource,
    open_source,
)
from rollcall.vision.types import Frame
from xdisplay import virtual_display

SIZE = (160, 96)  # width, height of the generated test videos
BITS = 10  # frames carry their number as 10 black/white stripes: robust to H.264 loss


# ---------------------------------------------------------------- generated media


def stamp(number: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A BGR picture whose stripes spell `number` in binary (stripe k white = bit k set).

    The bottom third is noise, so frames weigh kilobytes like real video, not a few bytes.
    """
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    stripe = w // BITS
    for bit in range(BITS):
        if number >> bit & 1:
            image[:, bit * stripe : (bit + 1) * stripe] = 255
    noise = np.random.default_rng(number).integers(0, 256, (h // 3, w, 3), dtype=np.uint8)
    image[h - h // 3 :] = noise
    return image


def number_of(frame: Frame) -> int:
    """The frame number a stamp() picture carries, read back after compression."""
    h, w = frame.image.shape[:2]
    stripe = w // BITS
    top = frame.image[: h // 2]
    means = [top[:, k * stripe : (k + 1) * stripe].mean() for k in range(BITS)]
    return sum(1 << k for k, m in enumerate(means) if m > 128)


def packet_offsets(path: Path) -> list[int]:
    """Where each video packet starts in the file, to cut or damage it between frames."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [p.pos for p in container.demux(stream) if p.pos is not None]


def write_video(path: Path, pts_ms: list[int], *, gop: int = 10, faststart: bool = False) -> Path:
    """An H.264 MP4 whose frame i is stamp(i) shown at pts_ms[i] milliseconds (VFR allowed)."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"g": str(gop), "keyint_min": str(gop), "preset": "ultrafast"}
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(stamp(i), format="bgr24")
            frame.pts = pts
            frame.time_base = Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def read_all(source: FrameSource, limit: int = 10_000) -> list[Frame]:
    frames = []
    while (frame := source.read()) is not None and len(frames) < limit:
        frames.append(frame)
    return frames


CFR_MS = [i * 100 for i in range(120)]  # 12 s at 10 fps
VFR_MS = list(np.cumsum([0] + [40, 90, 250, 600, 1500, 33, 70] * 9).tolist())  # ~23 s


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    return {
        "cfr": write_video(root / "cfr.mp4", CFR_MS),
        "vfr": write_video(root / "vfr.mp4", VFR_MS, gop=6),
        "stream": write_video(root / "stream.mp4", CFR_MS[:30], faststart=True),
    }


# ---------------------------------------------------------------- video file


@pytest.mark.parametrize(("name", "pts_ms"), [("cfr", CFR_MS), ("vfr", VFR_MS)])
def test_video_frames_carry_container_times_and_their_own_pictures(
    media: dict[str, Path], name: str, pts_ms: list[int]
) -> None:
    with open_source(str(media[name])) as source:
        assert isinstance(source, VideoFileSource)
        assert source.live is False
        assert source.duration == pytest.approx(pts_ms[-1] / 1000, abs=1.6)
        frames = read_all(source)
        assert source.read() is None  # stays ended
    assert [number_of(f) for f in frames] == list(range(len(pts_ms)))
    assert [f.t for f in frames] == pytest.approx([p / 1000 for p in pts_ms], abs=1e-6)
    assert all(f.image.shape == (SIZE[1], SIZE[0], 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.index for f in frames] == list(range(len(pts_ms)))


@pytest.mark.parametrize(("name", "pts_ms"), [("cfr", CFR_MS), ("vfr", VFR_MS)])
def test_video_read_not_before_returns_first_frame_at_or_after(
    media: dict[str, Path], name: str, pts_ms: list[int]
) -> None:
    times = [p / 1000 for p in pts_ms]
    end = times[-1]
    # Small forward skips (decode and discard), long jumps (seek), exact frame times,
    # and a request earlier than the current position (nothing to skip).
    targets = [0.0, 0.05, 0.3, 0.31, times[7], 4.5, 4.6, 9.95, end * 0.6, end * 0.6, end - 0.01]
    with VideoFileSource(media[name]) as source:
        previous = -1
        for target in targets:
            expected = next(i for i, t in enumerate(times) if t >= target - 1e-9)
            if expected <= previous:
                expected = previous + 1  # a frame is handed out once; reads only go forward
            frame = source.read(target)
            assert frame is not None, target
            assert number_of(frame) == expected, target
            assert frame.t == pytest.approx(times[expected], abs=1e-6)
            previous = expected
        assert source.read(end + 5.0) is None


def test_video_resuming_at_a_time_is_a_single_read(media: dict[str, Path]) -> None:
    with VideoFileSource(media["vfr"]) as source:
        frame = source.read(15.0)
    times = [p / 1000 for p in VFR_MS]
    expected = next(i for i, t in enumerate(times) if t >= 15.0)
    assert frame is not None and number_of(frame) == expected


def test_random_bytes_are_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="junk.mp4"):
        open_source(str(junk))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(SourceError):
        open_source(str(empty))


def test_truncated_recording_fails_on_open_or_ends_cleanly(
    media: dict[str, Path], tmp_path: Path
) -> None:
    # Index at the end (the default): cut off, the file cannot be understood at all.
    data = media["cfr"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError):
        open_source(str(cut))
    # Index in front: the frames that survive are delivered, then the recording ends.
    data = media["stream"].read_bytes()
    cut.write_bytes(data[: packet_offsets(media["stream"])[15] + 100])
    with open_source(str(cut)) as source:
        frames = read_all(source)
    numbers = [number_of(f) for f in frames]
    assert 10 <= len(frames) <= 16
    assert numbers == list(range(len(frames)))


def test_damage_inside_a_recording_is_survived(
    media: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(media["stream"].read_bytes())
    offsets = packet_offsets(media["stream"])
    start, stop = offsets[12] + 20, offsets[16]  # garbage in place of frames 12 to 15
    data[start:stop] = np.random.default_rng(7).integers(0, 256, stop - start, np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), open_source(str(damaged)) as source:
        frames = read_all(source)
    assert len(frames) >= 20
    assert all(f.image.shape == (SIZE[1], SIZE[0], 3) for f in frames)


# ---------------------------------------------------------------- image folder


def test_folder_natural_order_steps_and_unreadable_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # name -> the frame number its picture carries (its place in natural order)
    files = {"snap1.png": 0, "snap2.jpg": 1, "snap10.PNG": 3, "snap11.webp": 4, "Snap20.bmp": 5}
    for name, number in files.items():
        big = cv2.resize(stamp(number), (320, 192), interpolation=cv2.INTER_NEAREST)
        ok, encoded = cv2.imencode(Path(name).suffix.lower(), big)
        assert ok
        (tmp_path / name).write_bytes(encoded.tobytes())
    (tmp_path / "snap3.jpg").write_bytes(b"not a jpeg at all")  # place 2, unreadable
    (tmp_path / "notes.txt").write_text("ignored: not an image")
    gif = stamp(6).repeat(2, axis=0).repeat(2, axis=1)
    Image.fromarray(gif[:, :, ::-1]).save(tmp_path / "snap21.gif")

    with caplog.at_level(logging.WARNING), open_source(str(tmp_path), folder_step=30) as source:
        assert isinstance(source, ImageFolderSource)
        assert source.live is False
        assert source.duration == 7 * 30
        frames = read_all(source)
    assert [number_of(f) for f in frames] == [0, 1, 3, 4, 5, 6]
    assert [f.t for f in frames] == [0, 30, 90, 120, 150, 180]
    assert [f.index for f in frames] == [0, 1, 3, 4, 5, 6]
    assert "snap3.jpg" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING), ImageFolderSource(tmp_path, step=30) as source:
        first = source.read(70)  # skips snap1, snap2 and the broken snap3 unopened
        later = source.read(125)
        assert source.read(1000) is None
    assert first is not None and (first.t, number_of(first)) == (90, 3)
    assert later is not None and (later.t, number_of(later)) == (150, 5)
    assert "snap3.jpg" not in caplog.text


def test_folder_without_images_is_refused(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no pictures here")
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))


# ---------------------------------------------------------------- specs


@pytest.mark.parametrize(
    "spec", ["", "no/such/recording.mp4", "screen:abc", "screen:1,2,3", "camera:x"]
)
def test_bad_specs_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(SourceError) as info:
        open_source(spec)
    assert str(info.value)


def test_missing_camera_is_a_clear_error() -> None:
    started = time.monotonic()
    with pytest.raises(SourceError, match="camera 7"):
        open_source("camera:7", reconnect_timeout=1)
    assert time.monotonic() - started < 10


# ---------------------------------------------------------------- stream over HTTP


class MediaServer:
    """Serves one folder on 127.0.0.1.

    `cut_first` breaks the first response part-way; with `then_stop` the server also goes away.
    """

    def __init__(
        self, root: Path, *, cut_first: float | None = None, then_stop: bool = False
    ) -> None:
        outer = self
        self.requests = 0

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:  # type: ignore[override]
                outer.requests += 1
                if cut_first is None or outer.requests > 1:
                    return super().copyfile(source, outputfile)
                data = source.read()
                outputfile.write(data[: int(len(data) * cut_first)])
                outputfile.flush()
                self.close_connection = True  # the connection breaks before the end
                if then_stop:
                    threading.Thread(target=outer.stop, daemon=True).start()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve(media: dict[str, Path]) -> Iterator[Callable[..., MediaServer]]:
    servers: list[MediaServer] = []

    def start(*, cut_first: float | None = None, then_stop: bool = False) -> MediaServer:
        servers.append(
            MediaServer(media["stream"].parent, cut_first=cut_first, then_stop=then_stop)
        )
        return servers[-1]

    yield start
    for server in servers:
        with contextlib.suppress(OSError):
            server.stop()


def test_http_recording_plays_in_real_time_and_ends(serve: Callable[..., MediaServer]) -> None:
    server = serve()
    started = time.monotonic()
    with open_source(server.url("stream.mp4"), reconnect_timeout=2) as source:
        assert isinstance(source, StreamSource)
        assert source.live is True
        assert source.duration == pytest.approx(3.0, abs=0.5)
        frames = read_all(source)
        assert source.read() is None
    elapsed = time.monotonic() - started
    numbers = [number_of(f) for f in frames]
    assert len(frames) >= 10
    assert numbers == sorted(set(numbers)) and numbers[-1] == 29  # in order, through the end
    assert 2.0 < elapsed < 8.0  # paced by its timestamps, not decoded as fast as possible
    assert frames[-1].t == pytest.approx(2.9, abs=1.0)


def test_http_stream_reconnects_after_a_broken_connection(
    serve: Callable[..., MediaServer],
) -> None:
    server = serve(cut_first=0.5)
    with open_source(server.url("stream.mp4"), reconnect_timeout=5) as source:
        frames = read_all(source)
        gaps = list(source.gaps)
    numbers = [number_of(f) for f in frames]
    assert numbers == sorted(set(numbers))  # nothing replayed after reconnecting
    assert numbers[0] < 10 and numbers[-1] == 29
    assert server.requests >= 2
    assert len(gaps) == 1 and gaps[0][0] <= gaps[0][1]


def test_http_stream_that_stops_for_good_raises(serve: Callable[..., MediaServer]) -> None:
    server = serve(cut_first=0.5, then_stop=True)
    started = time.monotonic()
    with open_source(server.url("stream.mp4"), reconnect_timeout=1) as source:
        with pytest.raises(SourceError, match="stopped delivering frames"):
            read_all(source)
    assert time.monotonic() - started < 10


def test_unreachable_stream_fails_on_open(serve: Callable[..., MediaServer]) -> None:
    server = serve()
    server.stop()
    with pytest.raises(SourceError, match="cannot be opened"):
        open_source(server.url("stream.mp4"))


# ---------------------------------------------------------------- screen on Xvfb

SCREEN = (1280, 720)


def screen_pattern() -> np.ndarray:
    w, h = SCREEN
    image = np.zeros((h, w, 3), np.uint8)
    image[: h // 2, : w // 2] = (0, 0, 255)
    image[: h // 2, w // 2 :] = (0, 255, 0)
    image[h // 2 :, : w // 2] = (255, 0, 0)
    image[h // 2 :, w // 2 :] = (40, 200, 220)
    image[300:420, 560:720] = np.linspace(0, 255, 160, dtype=np.uint8)[None, :, None]
    return image


@pytest.fixture(scope="module")
def x_screen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[np.ndarray]:
    """A virtual X display showing screen_pattern() full-screen through mpv."""
    picture = tmp_path_factory.mktemp("screen") / "pattern.png"
    pattern = screen_pattern()
    cv2.imwrite(str(picture), pattern)
    saved = os.environ.get("DISPLAY")
    try:
        with virtual_display(picture, SCREEN, still=True, black=False) as (display, _xvfb):
            os.environ["DISPLAY"] = display
            deadline = time.monotonic() + 15
            with ScreenSourceProbe() as probe:
                while not np.array_equal(probe.corner(), pattern[100, 100]):
                    if time.monotonic() > deadline:
                        pytest.fail("mpv did not show the test pattern on Xvfb within 15 s")
                    time.sleep(0.1)
            yield pattern
    finally:
        if saved is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = saved


class ScreenSourceProbe:
    """Polls one screen pixel while waiting for the player to draw."""

    def __enter__(self) -> ScreenSourceProbe:
        self.source = open_source("screen:100,100,1,1")
        return self

    def corner(self) -> np.ndarray:
        frame = self.source.read()
        assert frame is not None
        return frame.image[0, 0]

    def __exit__(self, *exc: object) -> None:
        self.source.close()


@pytest.mark.parametrize("spec", ["screen", "screen:0", "screen:1"])
def test_screen_captures_what_is_shown(x_screen: np.ndarray, spec: str) -> None:
    with open_source(spec) as source:
        assert source.live is True and source.duration is None
        frame = source.read()
        later = source.read(0.3)
    assert frame is not None and later is not None
    assert frame.size == SCREEN
    assert frame.image.dtype == np.uint8 and frame.image.flags.c_contiguous
    assert np.abs(frame.image.astype(int) - x_screen).mean() < 2.0
    assert later.t >= 0.3 and later.t > frame.t


def test_screen_region(x_screen: np.ndarray) -> None:
    with open_source("screen:600,300,200,150") as source:
        frame = source.read()
    assert frame is not None and frame.size == (200, 150)
    assert np.abs(frame.image.astype(int) - x_screen[300:450, 600:800]).mean() < 2.0


@pytest.mark.parametrize("spec", ["screen:9", "screen:1200,700,200,100", "screen:0,0,0,10"])
def test_screen_outside_the_display_is_refused(x_screen: np.ndarray, spec: str) -> None:
    with pytest.raises(SourceError):
        open_source(spec)


def _faststart_mp4(path: Path, seconds: float, fps: int = 4) -> None:
    """An H.264 MP4 with its index first (as phones and most recorders write it), so a copy
    cut in half still opens and claims the whole duration."""
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(int(seconds * fps)):
            image = rng.integers(0, 255, (120, 160, 3), np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, "rgb24")))
        out.mux(stream.encode())


def test_a_recording_cut_short_ends_where_its_frames_do(tmp_path: Path) -> None:
    """A camera's disk filled up or the recorder crashed: the header still says 60 s. The
    source must end at its last frame and say so, or everyone seen until the cut would be
    judged to have left early (found by a classroom review)."""
    whole = tmp_path / "whole.mp4"
    _faststart_mp4(whole, 60)
    cut = tmp_path / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    source = VideoFileSource(whole)
    while source.read(0) is not None:
        pass
    assert source.cut_short is None and source.duration == pytest.approx(60, abs=0.5)

    source = VideoFileSource(cut)
    assert source.duration == pytest.approx(60, abs=0.5)  # what the header claims
    last = None
    while (frame := source.read(0)) is not None:
        last = frame.t
    assert last is not None and 20 < last < 40
    assert source.cut_short is not None
    header, ended = source.cut_short
    assert header == pytest.approx(60, abs=0.5) and ended == pytest.approx(last)
    assert source.duration == pytest.approx(last + 0.25)


@pytest.mark.parametrize(("rotation", "corner"), [(90, (-1, 0)), (-90, (0, -1)), (180, (-1, -1))])
def test_a_phone_video_comes_out_as_players_show_it(tmp_path: Path, rotation, corner) -> None:
    """A phone filming upright stores landscape pixels and a display matrix; read as stored,
    every face lies on its side and the class is absent (found by a classroom review)."""
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.set_display_rotation(rotation)
        image = np.zeros((96, 160, 3), np.uint8)
        image[:24, :24] = 255  # a white top-left corner, as stored
        for _ in range(4):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, "rgb24")))
        out.mux(stream.encode())
    source = VideoFileSource(path)
    frame = source.read(0)
    source.close()
    assert frame is not None
    assert frame.image.shape[:2] == ((160, 96) if rotation % 180 else (96, 160))
    # Where ffmpeg's player puts the stored top-left corner (-1: the far side).
    y, x = (4 if c == 0 else -5 for c in corner)
    assert frame.image[y, x].mean() > 200, f"the stored corner is not at {corner}"
    assert frame.image[frame.image.shape[0] // 2, frame.image.shape[1] // 2].mean() < 50


def _ts_piece(path: Path, first: int, count: int) -> Path:
    """An MPEG-TS piece whose frames stamp(first..) start at time 0, as a recorder's segments
    (or each of two recordings joined with `cat a.ts b.ts`) do."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": "10", "preset": "ultrafast"}
        for i in range(count):
            frame = av.VideoFrame.from_ndarray(stamp(first + i), format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_recordings_joined_end_to_end_are_read_whole(tmp_path: Path) -> None:
    """An IT technician's review: `cat a.ts a.ts` (timestamps starting again at 0 halfway)
    was read to 50 s of its 120 and called "cut short", and whoever appeared later was missed.
    The timeline goes on across the jump; every frame is read once, in order."""
    joined = tmp_path / "joined.ts"
    first = _ts_piece(tmp_path / "a.ts", 0, 60).read_bytes()
    joined.write_bytes(first + _ts_piece(tmp_path / "b.ts", 60, 60).read_bytes())
    source = VideoFileSource(joined)
    seen = []
    t = 0.0
    while (frame := source.read(not_before=t)) is not None:
        seen.append((round(frame.t, 1), number_of(frame)))
        t = frame.t + 1.5  # the sampling times' kind of jumps
    assert seen[-1][0] >= 10.5 and seen[-1][1] >= 105, seen
    assert [n for _, n in seen] == sorted(n for _, n in seen)
    assert all(abs(t - n / 10) < 0.15 for t, n in seen), seen
    assert source.cut_short is None and source.went_back is None
    # A TS in one piece is read as any file, seeking (decoding a 2-hour TS whole to take a
    # sample a minute was 46 times as slow: the second review).
    assert VideoFileSource(tmp_path / "a.ts").seek_threshold != math.inf
    assert source.seek_threshold == math.inf
