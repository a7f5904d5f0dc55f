"""Login throttling: a sliding window of attempts per client address and per user name."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """At most `attempts` logins per `window` seconds for each key; thread-safe, in memory.

    waitress serves from one process, so memory is the right store; a multi-process deployment
    would need a shared one.

    Only keys with an attempt inside the window are kept: reading a key never creates it, a key
    whose attempts have all left the window goes, and once a window every idle key is swept.
    The keys name whatever a visitor typed, so keeping them all let anyone grow the process's
    memory without limit (about 1 KB a request, refused ones included), without logging in.
    """

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._swept = float("-inf")  # when idle keys were last swept
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        """The key's attempts inside the window; a key left with none is dropped."""
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def _sweep(self, now: float) -> None:
        # At most once a window, so that the keys held are those tried in the last two windows
        # (which the throttles themselves bound) at a cost of one pass per window.
        if now - self._swept < self.window:
            return
        self._swept = now
        for key, hits in list(self._hits.items()):
            if hits[-1] <= now - self.window:
                del self._hits[key]

    def retry_after(self, *keys: str) -> int:
        """Seconds until every key may try again (0: allowed now)."""
        now = self.clock()
        with self._lock:
            waits = [
                hits[0] + self.window - now
                for hits in (self._prune(k, now) for k in keys)
                if len(hits) >= self.attempts
            ]
        return int(max(waits) + 1) if waits else 0

    def hit(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            self._sweep(now)
            for key in keys:
                self._prune(key, now)
                self._hits.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
