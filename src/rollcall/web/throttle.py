"""Login throttling: a sliding window of attempts per client address and per user name."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginThrottle:
    """At most `attempts` logins per `window` seconds for each key; thread-safe, in memory.

    waitress serves from one process, so memory is the right store; a multi-process deployment
    would need a shared one.
    """

    def __init__(
        self, attempts: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

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
            for key in keys:
                self._prune(key, now).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
