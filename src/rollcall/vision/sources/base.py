"""What every frame source promises, and the context-manager plumbing they share."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from rollcall.vision.types import Frame


@runtime_checkable
class FrameSource(Protocol):
    """Anything that hands out timed frames: a recording, a folder, the screen, a camera."""

    name: str  # human-readable, for messages
    live: bool  # real time (screen/camera/stream) rather than processed as fast as possible
    duration: float | None  # seconds, when known (recordings, folders)
    # The wall-clock time of t = 0 when the source knows it (a recording), else None (now).
    recorded_at: datetime | None

    def read(self, not_before: float = 0.0) -> Frame | None:
        """The first frame with t >= not_before, skipping cheaply; None when the source ended."""
        ...

    def elapsed(self) -> float:
        """A live source's clock now (the t of a frame taken now); 0 for recordings."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class SourceBase:
    """Shared by the concrete sources so each can be used in a with-block."""

    name: str = "source"
    live: bool = False
    duration: float | None = None
    recorded_at: datetime | None = None
    recorded_at_from: str = ""

    def read(self, not_before: float = 0.0) -> Frame | None:
        raise NotImplementedError

    def elapsed(self) -> float:
        return 0.0

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
