"""Screen, camera/stream, video file and image folder, all turned into timed frames.

`open_source(spec)` picks the source from a spec string:

- a path to a video file, or to a folder of snapshots (one every `folder_step` seconds);
- `screen` (all monitors), `screen:N` (monitor N, mss numbering), `screen:X,Y,W,H` (a region);
- `camera:N`;
- a stream URL: `rtsp://`, `http://`, `https://`, `udp://`, ...
"""

from __future__ import annotations

import re
from pathlib import Path

from rollcall.errors import SourceError
from rollcall.vision.sources.base import FrameSource, SourceBase
from rollcall.vision.sources.folder import ImageFolderSource
from rollcall.vision.sources.live import CameraSource, LiveSource
from rollcall.vision.sources.screen import ScreenSource
from rollcall.vision.sources.stream import StreamSource
from rollcall.vision.sources.video import VideoFileSource

__all__ = [
    "CameraSource",
    "FrameSource",
    "ImageFolderSource",
    "LiveSource",
    "ScreenSource",
    "SourceBase",
    "StreamSource",
    "VideoFileSource",
    "open_source",
]

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SCREEN_HELP = "use screen, screen:N (a monitor) or screen:X,Y,W,H (a region in pixels)"


def _screen(arg: str | None) -> ScreenSource:
    if arg is None or arg == "":
        return ScreenSource(0)
    try:
        numbers = [int(part) for part in arg.split(",")]
    except ValueError:
        raise SourceError(f"screen:{arg} is not understood; {_SCREEN_HELP}") from None
    if len(numbers) == 1:
        return ScreenSource(numbers[0])
    if len(numbers) == 4:
        x, y, w, h = numbers
        return ScreenSource(region=(x, y, w, h))
    raise SourceError(f"screen:{arg} is not understood; {_SCREEN_HELP}")


def _camera(arg: str | None, reconnect_timeout: float) -> CameraSource:
    try:
        index = int(arg) if arg else 0
    except ValueError:
        raise SourceError(f"camera:{arg} is not understood; use camera:N, e.g. camera:0") from None
    return CameraSource(index, reconnect_timeout=reconnect_timeout)


def open_source(
    spec: str, *, folder_step: float = 60.0, reconnect_timeout: float = 30.0
) -> FrameSource:
    """Open the source a spec names; SourceError says what is wrong with a bad one."""
    spec = spec.strip()
    kind, _, arg = spec.partition(":")
    if kind.lower() == "screen":
        return _screen(arg.strip() if arg else None)
    if kind.lower() == "camera":
        return _camera(arg.strip(), reconnect_timeout)
    if _URL.match(spec):
        if spec.lower().startswith("file://"):
            return open_source(spec[len("file://") :], folder_step=folder_step)
        return StreamSource(spec, reconnect_timeout=reconnect_timeout)
    if not spec:
        raise SourceError("no source given; name a video file, a folder, screen, camera:N or a URL")
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, step=folder_step)
    if path.is_file():
        return VideoFileSource(path)
    raise SourceError(
        f"{spec} is not an existing file or folder, nor screen, screen:N, camera:N or a URL"
    )
