"""Frames grabbed from the screen with mss: a video-conference gallery as it is shown."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import mss
import mss.exception
import numpy as np

from rollcall.errors import SourceError
from rollcall.vision.sources.base import SourceBase
from rollcall.vision.types import Frame

Region = tuple[int, int, int, int]  # x, y, width, height in screen pixels


def _new_mss() -> Any:
    # mss 10.2 deprecates the mss() factory in favour of the MSS class; older releases lack it.
    factory = getattr(mss, "MSS", None) or mss.mss
    return factory()


class ScreenSource(SourceBase):
    """A monitor (mss numbering: 0 = all monitors, 1 = primary, ...) or a region of the screen.

    Frames are grabbed on demand, so t is the moment of the grab (seconds since opening).
    """

    live = True
    duration = None

    def __init__(self, monitor: int = 0, region: Region | None = None) -> None:
        self.name = f"screen region {region}" if region else f"screen {monitor}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []
        self._closed = False
        shooter = self._shooter()
        monitors = shooter.monitors
        if region is None:
            if not 0 <= monitor < len(monitors):
                raise SourceError(
                    f"there is no monitor {monitor}: this display has "
                    f"{len(monitors) - 1} (use screen:1..{len(monitors) - 1}, or screen for all)"
                )
            self._box = dict(monitors[monitor])
        else:
            x, y, w, h = region
            whole = monitors[0]
            inside = (
                w > 0
                and h > 0
                and x >= whole["left"]
                and y >= whole["top"]
                and x + w <= whole["left"] + whole["width"]
                and y + h <= whole["top"] + whole["height"]
            )
            if not inside:
                raise SourceError(
                    f"region x={x} y={y} w={w} h={h} is not inside the screen "
                    f"({whole['width']}x{whole['height']} at {whole['left']},{whole['top']})"
                )
            self._box = {"left": x, "top": y, "width": w, "height": h}
        self._t0 = time.monotonic()
        self._grab()  # fail now, with a clear message, rather than at the first sample
        self._count = 0

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def _shooter(self) -> Any:
        """This thread's mss instance: X11 connections must not be shared between threads."""
        shooter = getattr(self._local, "mss", None)
        if shooter is None:
            try:
                shooter = _new_mss()
            except mss.exception.ScreenShotError as exc:
                raise SourceError(
                    f"cannot open the screen for capture ({exc}); is there a display "
                    "(DISPLAY set, X server running)?"
                ) from exc
            self._local.mss = shooter
            with self._lock:
                self._open.append(shooter)
        return shooter

    def _grab(self) -> np.ndarray:
        try:
            shot = self._shooter().grab(self._box)
        # mss's XCB backend fails an `assert` (not ScreenShotError) once the X server is gone;
        # whatever the failure, the session must see a lost source, not a crash.
        except Exception as exc:
            raise SourceError(
                f"{self.name} stopped delivering frames: {str(exc) or type(exc).__name__}"
            ) from exc
        # mss gives BGRA; dropping alpha leaves the BGR layout the rest of rollcall expects.
        return np.ascontiguousarray(np.asarray(shot)[:, :, :3])

    def read(self, not_before: float = 0.0) -> Frame | None:
        if self._closed:
            return None
        wait = not_before - (time.monotonic() - self._t0)
        if wait > 0:
            time.sleep(wait)
        t = max(time.monotonic() - self._t0, not_before)
        image = self._grab()
        frame = Frame(image=image, t=t, index=self._count)
        self._count += 1
        return frame

    def close(self) -> None:
        self._closed = True
        with self._lock:
            shooters, self._open = self._open, []
        for shooter in shooters:
            # Closing a connection to an X server that has died raises; there is nothing left
            # to release, and the session still has to be closed after this.
            with contextlib.suppress(Exception):
                shooter.close()
