"""Real-time sources (camera, network stream) drained by a thread so reads get a current frame."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

import cv2
import numpy as np

from rollcall.errors import SourceError
from rollcall.vision.sources.base import SourceBase
from rollcall.vision.types import Frame

log = logging.getLogger(__name__)


class DeviceLost(Exception):
    """The device or stream stopped delivering; the drain thread will try to reconnect."""


class Device(Protocol):
    """One connection to a camera or stream; reconnecting means making a new one."""

    def next_raw(self) -> Any | None:
        """The next picture in the device's own form; None when a finite stream has ended."""
        ...

    def to_bgr(self, raw: Any) -> np.ndarray: ...

    def close(self) -> None: ...


class LiveSource(SourceBase):
    """Keeps only the newest frame of a device, timed by seconds since the source was opened.

    A device that stops delivering is reconnected for up to `reconnect_timeout` seconds; each
    outage survived is recorded in `gaps` as (t of the last frame before, t of the first after).
    """

    live = True
    duration = None

    def __init__(self, *, reconnect_timeout: float = 30.0) -> None:
        self.reconnect_timeout = reconnect_timeout
        self.gaps: list[tuple[float, float]] = []
        self._stop = threading.Event()
        device = self._connect()  # a source that never worked fails at once, without retries
        self._t0 = time.monotonic()
        self._cond = threading.Condition()
        self._latest: tuple[float, int, Any] | None = None  # (t, index, raw picture)
        self._served_t = float("-inf")
        self._count = 0
        self._ended = False
        self._error: SourceError | None = None
        self._thread = threading.Thread(
            target=self._drain, args=(device,), name=f"rollcall {self.name}", daemon=True
        )
        self._device: Device = device
        self._thread.start()

    def _connect(self) -> Device:
        """A new connection to the device; SourceError when it cannot be made."""
        raise NotImplementedError

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def elapsed(self) -> float:
        return self._now()

    def _publish(self, raw: Any) -> float:
        t = self._now()
        with self._cond:
            self._latest = (t, self._count, raw)
            self._count += 1
            self._cond.notify_all()
        return t

    def _finish(self, error: SourceError | None = None) -> None:
        with self._cond:
            self._ended = True
            self._error = error
            self._cond.notify_all()

    def _drain(self, first: Device) -> None:
        device: Device | None = first
        last_t = 0.0
        try:
            while device is not None and not self._stop.is_set():
                try:
                    raw = device.next_raw()
                except DeviceLost as exc:
                    device.close()
                    device = None
                    reconnected = self._reconnect(last_t, exc)
                    if reconnected is None:
                        return
                    device, last_t = reconnected
                    continue
                if raw is None:
                    break
                last_t = self._publish(raw)
            self._finish()
        # The thread is the only place that sees device failures; anything unexpected must
        # reach the reader as a SourceError instead of dying silently with the thread.
        except Exception as exc:
            log.exception("%s: capture thread failed", self.name)
            self._finish(SourceError(f"{self.name} failed: {exc}"))
        finally:
            if device is not None:
                device.close()

    def _reconnect(self, last_t: float, cause: Exception) -> tuple[Device, float] | None:
        log.warning("%s stopped delivering frames (%s); reconnecting", self.name, cause)
        deadline = time.monotonic() + self.reconnect_timeout
        pause = 0.2
        while not self._stop.is_set():
            if time.monotonic() >= deadline:
                self._finish(
                    SourceError(
                        f"{self.name} stopped delivering frames and did not come back within "
                        f"{self.reconnect_timeout:g} s (last error: {cause})"
                    )
                )
                return None
            device = None
            try:
                device = self._connect()
                raw = device.next_raw()
            except (SourceError, DeviceLost) as exc:
                if device is not None:
                    device.close()
                cause = exc
                self._stop.wait(min(pause, max(0.0, deadline - time.monotonic())))
                pause = min(pause * 2, 2.0)
                continue
            if raw is None:  # came back only to say it has ended
                device.close()
                self._finish()
                return None
            t = self._publish(raw)
            self.gaps.append((last_t, t))
            log.warning("%s is back after %.1f s without frames", self.name, t - last_t)
            self._device = device
            return device, t
        self._finish()
        return None

    def read(self, not_before: float = 0.0) -> Frame | None:
        wait = not_before - self._now()
        if wait > 0 and self._stop.wait(wait):
            return None
        with self._cond:
            while True:
                latest = self._latest
                if latest is not None and latest[0] >= not_before and latest[0] > self._served_t:
                    break
                if self._error is not None:
                    raise self._error
                if self._ended or self._stop.is_set():
                    return None
                self._cond.wait(0.5)
            self._served_t = latest[0]
        t, index, raw = latest
        # Only the frame handed out is converted; drained frames never pay for it.
        return Frame(image=self._device.to_bgr(raw), t=t, index=index)

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


class CameraDevice:
    """A local camera through OpenCV (V4L2 on Linux, Media Foundation / AVFoundation elsewhere)."""

    def __init__(self, index: int) -> None:
        self.index = index
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(
                f"camera {index} cannot be opened: no such camera, or another program is using it"
            )

    def next_raw(self) -> np.ndarray | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            raise DeviceLost(f"camera {self.index} returned no picture")
        return image

    def to_bgr(self, raw: np.ndarray) -> np.ndarray:
        return raw

    def close(self) -> None:
        self._cap.release()


class CameraSource(LiveSource):
    """camera:N, as numbered by the operating system (0 is usually the built-in one)."""

    def __init__(self, index: int, *, reconnect_timeout: float = 30.0) -> None:
        self.index = index
        self.name = f"camera {index}"
        super().__init__(reconnect_timeout=reconnect_timeout)

    def _connect(self) -> CameraDevice:
        return CameraDevice(self.index)
