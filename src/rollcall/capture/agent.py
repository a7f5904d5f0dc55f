"""The capture agent: where the video is, it takes the session's samples and uploads them.

It creates (or joins) the session on the server, learns from the server when samples are due,
grabs a frame at each time (live sources) or reads the frame at that time (a recording, as fast
as the server takes them), and uploads it as a JPEG with its time. Every frame goes to a spool
folder first and leaves it only once the server has acknowledged it, so a server that is away
or restarting loses nothing: the agent keeps capturing on the times it already knows and sends
the backlog, oldest first, when the server is back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import cv2
import numpy as np
import requests

from rollcall.analysis.entrance import DEFAULT_FPS
from rollcall.capture.stream import LATE_SKIP_S
from rollcall.errors import RollcallError, SourceError
from rollcall.vision.sources import FrameSource

log = logging.getLogger(__name__)
JPEG_QUALITY = 85
TIMEOUT = 30.0  # seconds for one request
MAX_BACKOFF = 30.0
BACKFILL_AHEAD = 20  # frames of a recording read ahead of the server's acknowledgements
# Sampling times the agent holds ahead: asked for again when fewer are left, so a network
# outage of an hour or more still finds every sample it must take on disk (the server hands
# out at most 100 at a time).
KNOWN_AHEAD, REFILL_BELOW, REFILL_EVERY = 100, 40, 30.0
REFILL_TIMEOUT = 5.0
# A live source's uploads stop before its next capture is due: one is started only while
# MIN_UPLOAD_TIME is left (the first of a flush always is: its budget is at least that long).
# An entrance camera's flush may start uploads for a quarter of a second per frame read, so a
# backlog drains while the camera still keeps a few frames a second. (Its budget was exactly
# MIN_UPLOAD_TIME, always a little short of it by the check: a live entrance sent nothing
# until it was stopped.)
MIN_UPLOAD_TIME = 2.0
ENTRANCE_UPLOAD_BUDGET = MIN_UPLOAD_TIME + 0.25
STOP_UPLOAD_BUDGET = 5.0
# A source gone for good (not back within --reconnect-timeout): the backlog is sent for this
# long before the agent ends.
SOURCE_LOST_BUDGET = 60.0


class AgentRefused(RollcallError):
    """The server refused for good (bad token, no right to this session, session closed)."""


class FrameRefused(RollcallError):
    """The server refused this one frame (its picture, its time): sending it again cannot
    help, and the frames behind it must not wait for it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"refused ({status}): {reason}" if status else f"not sendable: {reason}")
        self.status, self.reason = status, reason


# What the server answers about the frame itself (web.agent_api.upload_frame: a bad field or
# time, a picture too large, not a JPEG, undecodable or not due yet), not about the agent.
FRAME_REFUSALS = (400, 413, 415, 422)


class SlowDown(requests.RequestException):
    """The server asked for fewer uploads a second (429): wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"the server asked to slow down for {retry_after:g} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class AgentOptions:
    server: str
    token: str
    session: str
    source: str
    course: str | None = None
    seed: int | None = None
    min_interval: float | None = None
    max_interval: float | None = None
    verify_every: float | None = None
    leave_after: float | None = None
    started_at: datetime | None = None
    duration: float | None = None
    spool: Path | None = None  # default: ROLLCALL_HOME/agent-spool/<session>
    max_spooled: int = 2000  # frames kept on disk while the server is away (~1 day at 45 s)
    # An entrance (every frame at ``fps``, people counted across ``line``), when creating the
    # session; None: a meeting, or whatever the joined session is.
    mode: str | None = None
    fps: float | None = None
    line: str | None = None
    take_over: bool = False  # record it even if another agent did lately (its computer died)


@dataclass
class AgentStatus:
    connected: bool = False
    last_upload_seq: int | None = None
    last_upload_at: datetime | None = None
    queued: int = 0
    sent: int = 0
    duplicates: int = 0
    dropped: int = 0
    missed: int = 0  # sampling times already past when their turn came (live sources)
    notes: list[str] = field(default_factory=list)
    unit: str = "sample"  # what is sent: a sample, or an entrance's every frame

    # Why the server is not taking frames: its machine does not answer, or it answers with an
    # error (its database down: the operator looks at the server, not the network).
    problem: str = "server unreachable"

    def offline(self, exc: BaseException) -> None:
        self.connected = False
        response = getattr(exc, "response", None)
        if isinstance(exc, NotTheApi):
            self.problem = "the server's address answers, but not as rollcall"
        elif response is not None and response.status_code >= 500:
            self.problem = f"server error (HTTP {response.status_code}): retrying"
        else:
            self.problem = "server unreachable"

    def line(self, session: str) -> str:
        state = "connected" if self.connected else self.problem
        last = "nothing sent yet"
        if self.last_upload_at is not None:
            last = f"{self.unit} {self.last_upload_seq} sent {self.last_upload_at:%H:%M:%S}"
        return f"{session}: {state} · {last} · {self.queued} queued"


class Spool:
    """Frames waiting for the server's acknowledgement, one JPEG and one JSON file each."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder = folder
        self.limit = limit
        self._lock_fd: int | None = None  # held while an agent runs on the folder (lock())
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RollcallError(f"the spool folder {folder} cannot be made: {exc}") from None

    def add(self, seq: int, t: float, captured_at: datetime, jpeg: bytes) -> bool:
        """Keep a frame; False (and nothing kept) once ``limit`` frames are waiting. OSError
        (a full disk, a folder gone read-only) leaves nothing of the frame behind."""
        if len(self) >= self.limit:
            return False
        stem = self.folder / f"{seq:09d}"
        try:
            _write_synced(stem.with_suffix(".jpg"), jpeg)
            meta = {"seq": seq, "t": t, "captured_at": captured_at.isoformat()}
            # Renamed into place like the picture: a kill mid-write must not leave half a file
            # that stops every later start (waiting() reads them all).
            _write_synced(stem.with_suffix(".json"), json.dumps(meta).encode())
        except OSError:
            for name in (".jpg.tmp", ".jpg", ".json.tmp"):
                with contextlib.suppress(OSError):
                    stem.with_suffix(name).unlink(missing_ok=True)
            raise
        return True

    def lock(self) -> None:
        """Hold the folder for this agent's lifetime. A second agent on it (a copy left
        running, an autostart and a manual start) shared its agent id, so the server took
        both for one, and they wrote and deleted each other's frames: refused at once."""
        path = self.folder / "lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise RollcallError(f"the spool folder {self.folder} cannot be used: {exc}") from None
        try:
            _lock_file(fd)
        except OSError:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            except OSError:  # (Windows: the holder's locked byte cannot be read)
                holder = "?"
            os.close(fd)
            raise RollcallError(
                f"another agent (pid {holder}) uses the spool folder {self.folder}: stop it "
                "first (one agent per session on a computer)"
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)  # (the lock goes with it; the file stays, for the next agent)

    def tidy(self) -> int:
        """Remove what a kill or power loss left (how many files): temporary files, a picture
        without its time (killed between its two renames, or a sent frame's two deletions), a
        time without its picture, a time set aside unreadable. None of them can be sent, and
        they stayed for ever outside ``limit``. Only while no agent writes here."""
        doomed = list(self.folder.glob("*.tmp")) + list(self.folder.glob("*.json.unreadable"))
        for image in self.folder.glob("*.jpg"):
            if not image.with_suffix(".json").is_file():
                doomed.append(image)
        for meta in self.folder.glob("*.json"):
            if not meta.with_suffix(".jpg").is_file():
                doomed.append(meta)
        removed = 0
        for path in doomed:
            try:
                path.unlink(missing_ok=True)
                removed += 1
            except OSError as exc:
                log.warning("%s could not be removed from the spool: %s", path.name, exc)
        if removed:
            log.warning("removed %s file(s) a kill or power loss left in %s", removed, self.folder)
        return removed

    @property
    def instance(self) -> str:
        """This agent's id for the server (web.agent_api._hold), kept in the spool folder:
        an agent restarted on it is the same agent and goes on at once, while another agent
        is refused the session as long as this one is heard from."""
        path = self.folder / "agent-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        tmp = path.with_suffix(".tmp")
        tmp.write_text(uuid.uuid4().hex)
        tmp.replace(path)
        return path.read_text().strip()

    def waiting(self) -> list[dict]:
        out = []
        for meta_path in sorted(self.folder.glob("*.json")):
            image = meta_path.with_suffix(".jpg")
            if not image.is_file():
                continue
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                # Written by an agent before stop 33 and cut short by a kill or a power loss:
                # its time is lost with it, so the frame cannot be sent. Put aside, not fatal.
                log.warning("spooled frame %s unreadable: set aside, not sent", meta_path.name)
                with contextlib.suppress(OSError):
                    meta_path.rename(meta_path.with_suffix(".json.unreadable"))
                continue
            out.append({**meta, "path": image})
        return out

    def remove(self, seq: int) -> None:
        stem = self.folder / f"{seq:09d}"
        try:
            stem.with_suffix(".json").unlink(missing_ok=True)
            stem.with_suffix(".jpg").unlink(missing_ok=True)
        except OSError as exc:
            # (A folder gone read-only.) Sent again later, the server counts it a duplicate.
            log.warning("spooled frame %s could not be removed: %s", seq, exc)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json"))


def _write_synced(path: Path, data: bytes) -> None:
    """``data`` under ``path``, written to a temporary file, on the disk, then renamed: a power
    loss right after a rename left an empty file under its final name (the data was still in
    the cache), refused by the server."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def _lock_file(fd: int) -> None:
    """An exclusive lock on an open file, held until it is closed; OSError if another holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class NotTheApi(requests.RequestException):
    """Something other than rollcall's API answered mid-run: retried like an outage."""


# Names the running agent on every request (web.agent_api.AGENT_HEADER).
AGENT_HEADER = "X-Rollcall-Agent"


class ServerClient:
    def __init__(self, server: str, token: str, instance: str | None = None) -> None:
        self.base = server.rstrip("/") + "/api/v1/agent"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        if instance:
            self.http.headers[AGENT_HEADER] = instance
        # The session's timeline is the server's clock: a computer whose clock was 90 s slow
        # took every sample 90 s late (people credited from before they joined), a fast one
        # missed the first ones. Each answer that gives the server's time is pinned to this
        # process's monotonic clock (which no clock correction moves); the answer with the
        # shortest round trip is kept (half of it is the uncertainty).
        self._anchor: tuple[datetime, float] | None = None
        self._best_round_trip: float | None = None

    def server_now(self) -> datetime:
        """Now on the server's clock (this computer's until the server has said its time)."""
        if self._anchor is None:
            return datetime.now(UTC)
        at, mono = self._anchor
        return at + timedelta(seconds=time.monotonic() - mono)

    @property
    def skew(self) -> timedelta:
        """The server's clock minus this computer's."""
        return self.server_now() - datetime.now(UTC)

    def _timed(self, send: Callable[[], requests.Response], first: bool = False) -> dict:
        sent = time.monotonic()
        response = send()
        received = time.monotonic()
        body = self._check(response, first=first)
        server_time = body.get("server_time") if isinstance(body, dict) else None
        if isinstance(server_time, str):
            try:
                server_now = datetime.fromisoformat(server_time)
            except ValueError:
                return body
            round_trip = received - sent
            if self._best_round_trip is None or round_trip < self._best_round_trip:
                self._best_round_trip = round_trip
                self._anchor = (server_now, sent + round_trip / 2)
        return body

    def _check(self, response: requests.Response, first: bool = False) -> dict:
        if response.status_code == 429:
            try:
                retry_after = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                retry_after = 1.0
            raise SlowDown(min(max(retry_after, 0.1), MAX_BACKOFF))
        if response.status_code in (405, 501):
            self._wrong(response, first, f"HTTP {response.status_code}")
        if response.status_code in (401, 403, 404, 409, 400):
            raise AgentRefused(f"the server refused ({response.status_code}): {_reason(response)}")
        response.raise_for_status()
        try:
            return response.json()
        except ValueError:
            # A page, not the API's JSON: the portal's login page at the end of a wrong
            # path's redirects, or another server altogether.
            self._wrong(response, first, "not its JSON")
            raise  # (not reached: _wrong raises)

    @staticmethod
    def _wrong(response: requests.Response, first: bool, what: str) -> None:
        """Not rollcall's API answering. At the first request the address is wrong, and
        asking again will not change that: refused at once. Later (a proxy's maintenance
        page, a sign-on redirect during the lecture) it is waited out like an outage."""
        if first:
            raise AgentRefused(
                f"{response.url} is not rollcall's agent API ({what}): check --server"
            )
        raise NotTheApi(f"{response.url} answered, but not as rollcall's API ({what})")

    def open(self, options: AgentOptions) -> dict:
        body: dict[str, object] = {"session": options.session, "source": options.source}
        keys = ("course", "seed", "min_interval", "max_interval", "verify_every", "leave_after")
        for key in (*keys, "mode", "fps", "line"):
            value = getattr(options, key)
            if value is not None:
                body[key] = value
        if options.started_at is not None:
            body["started_at"] = options.started_at.isoformat()
        if options.take_over:
            body["take_over"] = True
        url = f"{self.base}/sessions"
        return self._timed(lambda: self.http.post(url, json=body, timeout=TIMEOUT), first=True)

    def status(
        self, session: str, count: int = 100, timeout: float = TIMEOUT, after: int = -1
    ) -> dict:
        url = f"{self.base}/sessions/{requests.utils.quote(session, safe='')}"
        params = {"count": count, "after": after}
        return self._timed(lambda: self.http.get(url, params=params, timeout=timeout))

    def upload(self, session: str, frame: dict, backlog: int, timeout: float = TIMEOUT) -> str:
        """'queued', 'duplicate' or 'late'; raises on a network error or a 5xx/429, and
        FrameRefused when this frame can never be accepted."""
        url = f"{self.base}/sessions/{requests.utils.quote(session, safe='')}/frames"
        data = {
            "seq": str(frame["seq"]),
            "t": repr(float(frame["t"])),
            "captured_at": frame["captured_at"],
            "backlog": str(backlog),
        }
        try:
            image = Path(frame["path"]).read_bytes()
        except OSError as exc:
            raise FrameRefused(0, f"its spool file cannot be read ({exc.strerror})") from None
        files = {"image": ("frame.jpg", image, "image/jpeg")}
        response = self.http.post(url, data=data, files=files, timeout=timeout)
        if response.status_code in FRAME_REFUSALS:
            raise FrameRefused(response.status_code, _reason(response))
        return self._check(response)["status"]

    def missed(self, session: str, first: int, last: int, timeout: float = TIMEOUT) -> None:
        url = f"{self.base}/sessions/{requests.utils.quote(session, safe='')}/missed"
        self._check(self.http.post(url, json={"from": first, "to": last}, timeout=timeout))

    def finish(self, session: str, end_t: float) -> None:
        url = f"{self.base}/sessions/{requests.utils.quote(session, safe='')}/finish"
        self._check(self.http.post(url, json={"end_t": end_t}, timeout=TIMEOUT))


def _reason(response: requests.Response) -> str:
    """The server's one-line reason for a refusal."""
    try:
        body = response.json()
        message = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return " ".join(str(message or response.text or response.reason).split())[:300]


# What the server takes (web.agent_api.MAX_SIDE, MAX_FRAME_PIXELS), a little under.
UPLOAD_MAX_SIDE = 8192
UPLOAD_MAX_PIXELS = 39_000_000


def fit_for_upload(image: np.ndarray) -> np.ndarray:
    """A frame the server takes: a capture of several large monitors at once is scaled down
    (keeping its shape) rather than refused."""
    h, w = image.shape[:2]
    scale = min(1.0, UPLOAD_MAX_SIDE / max(h, w), (UPLOAD_MAX_PIXELS / (h * w)) ** 0.5)
    if scale >= 1.0:
        return image
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _due_in(upcoming: list[tuple[int, float]], started: datetime, now: datetime) -> float:
    """Seconds until the next sampling time held is due (negative: already past)."""
    return upcoming[0][1] - (now - started).total_seconds()


CLOCK_NOTE_S = 5.0  # a clock off the server's by more than this is said (and corrected)


def encode(image: np.ndarray) -> bytes:
    image = fit_for_upload(image)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise SourceError("a frame could not be encoded as JPEG")
    return data.tobytes()


class Agent:
    def __init__(
        self,
        options: AgentOptions,
        source: FrameSource,
        spool: Spool,
        client: ServerClient | None = None,
        report: Callable[[AgentStatus], None] = lambda _s: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.options = options
        self.source = source
        self.spool = spool
        self.client = client or ServerClient(options.server, options.token, spool.instance)
        self.report = report
        self.should_stop = should_stop
        self.status = AgentStatus(queued=len(spool))
        self._backoff = 1.0
        self._retry_at = 0.0
        self._refusing = False
        self._dropping: str | None = None  # why the last frame was not kept
        self._missed_runs: list[list[int]] = []  # [first, last] sample numbers not yet reported
        self._missing = False  # the last sampling time was missed (its run may still grow)

    def run(self) -> AgentStatus:
        self.spool.lock()  # (before tidying: another agent's frames being written are not ours)
        try:
            if removed := self.spool.tidy():
                self.status.notes.append(
                    f"removed {removed} file(s) a kill or power loss left in the spool folder "
                    "(parts of frames that cannot be sent)"
                )
                self.status.queued = len(self.spool)
            return self._run()
        finally:
            self.spool.unlock()

    def _run(self) -> AgentStatus:
        info = self._connect_until_done(lambda: self.client.open(self.options))
        self.status.notes += settings_ignored(self.options, info)
        started = datetime.fromisoformat(info["started_at"])
        skew = self._skew().total_seconds()
        if abs(skew) > CLOCK_NOTE_S:
            self.status.notes.append(
                f"this computer's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'}"
                " the server's: the server's time is used"
            )
        # A live source's frame at t (on its own clock, which started when it was opened, maybe
        # a while ago while the server was unreachable) was taken at t + offset on the
        # session's; negative when the source was opened before the session started.
        offset = 0.0
        if self.source.live:
            since_start = (self._now() - started).total_seconds()
            offset = since_start - self.source.elapsed()
        if info.get("mode") == "entrance":
            return self._run_entrance(info, offset)
        # The last sample taken or missed. A restarted agent goes on after what its spool
        # holds: taking one of those again would replace a frame of then with one of now.
        done = max((f["seq"] for f in self.spool.waiting()), default=-1)
        upcoming = [(n["seq"], n["t"]) for n in info["next"] if n["seq"] > done]
        refill_at = 0.0
        end_t = 0.0
        ended = False
        while not ended and not self.should_stop():
            if len(upcoming) < REFILL_BELOW and time.monotonic() >= refill_at:
                refill_at = time.monotonic() + REFILL_EVERY
                upcoming = self._refilled(upcoming, done, started)
            if not upcoming:
                refill_at = 0.0
                self._flush()
                time.sleep(1.0)
                continue
            seq, t = upcoming.pop(0)
            done = seq
            if self.options.duration is not None and t > self.options.duration:
                end_t = self.options.duration
                break
            if self.source.live:
                now_t = (self._now() - started).total_seconds()
                if t < now_t - LATE_SKIP_S:
                    self._missed(seq, t)
                    continue
            try:
                frame = self.source.read(not_before=max(0.0, t - offset))
            except SourceError as exc:
                self._source_lost(exc, end_t)
            if frame is None:
                ended = True
                break
            ft = frame.t + offset
            end_t = max(end_t, ft)
            self._keep(seq, ft, encode(frame.image))
            until = None
            if self.source.live and upcoming:
                due_in = _due_in(upcoming, started, self._now())
                until = time.monotonic() + max(MIN_UPLOAD_TIME, due_in - 1.0)
            self._flush(until=until)
            self._missing = False
            if self._missed_runs and self.status.connected:
                self._report_missed()
            self.report(self.status)
        return self._end(end_t)

    def _keep(self, seq: int, t: float, jpeg: bytes) -> bool:
        """Spool a frame taken now; False when it cannot be kept (the spool is full, or its
        disk: that used to end the agent with a traceback), counted, with one note for each
        run of them (a camera offline for hours drops thousands)."""
        captured_at = self._now()  # when the agent took it, for the server's lag
        try:
            kept = self.spool.add(seq, t, captured_at, jpeg)
            why = "spool full"
        except OSError as exc:
            kept, why = False, f"spool folder unwritable ({exc.strerror or exc})"
        self.status.queued = len(self.spool)
        if kept:
            self._dropping = None
            return True
        self.status.dropped += 1
        if self._dropping != why:
            log.warning("%s: %s %s not kept", why, self.status.unit, seq)
            self.status.notes.append(f"{why}: {self.status.unit}s from {seq} on not kept")
        self._dropping = why
        return False

    def _skew(self) -> timedelta:
        return getattr(self.client, "skew", None) or timedelta(0)

    def _now(self) -> datetime:
        """Now on the server's clock (see ServerClient.server_now)."""
        clock = getattr(self.client, "server_now", None)
        return clock() if clock is not None else datetime.now(UTC) + self._skew()

    def _refilled(
        self, upcoming: list[tuple[int, float]], done: int, started: datetime
    ) -> list[tuple[int, float]]:
        """The sampling times held, with more from the server after the last held or taken.
        Asked in passing while times are still known: a server that does not answer soon must
        not hold up the next capture of a live source."""
        budget = TIMEOUT
        if upcoming:
            budget = REFILL_TIMEOUT
            if self.source.live:
                # (halved: requests waits that long to connect and again to read)
                due_in = _due_in(upcoming, started, self._now())
                budget = max(1.0, min(REFILL_TIMEOUT, due_in - 1.0)) / 2
        have = {seq for seq, _ in upcoming}
        more = self._more_times(budget, after=max(done, upcoming[-1][0] if upcoming else -1))
        return sorted(upcoming + [x for x in more if x[0] > done and x[0] not in have])

    def _missed(self, seq: int, t: float) -> None:
        """One note per run of missed sampling times, with how many so far."""
        self.status.missed += 1
        note = f"sampling times already past, not taken: {self.status.missed}"
        if self.status.notes and self.status.notes[-1].startswith("sampling times already past"):
            self.status.notes[-1] = note
        else:
            self.status.notes.append(note)
        log.info("sample %s (t=%.1f s) was due before it could be taken: missed", seq, t)
        if self._missed_runs and self._missed_runs[-1][1] == seq - 1:
            self._missed_runs[-1][1] = seq
        else:
            self._missed_runs.append([seq, seq])
        self._missing = True

    def _report_missed(self, everything: bool = False, timeout: float = REFILL_TIMEOUT) -> None:
        """Tell the server which runs of sampling times were missed (for the session's
        timeline), once it can be reached. A run is told once it is over (a sample was taken
        after it, or the source ended): one hole, one event."""
        ready = len(self._missed_runs) - (0 if everything or not self._missing else 1)
        while ready > 0 and time.monotonic() >= self._retry_at:
            first, last = self._missed_runs[0]
            try:
                self.client.missed(self.options.session, first, last, timeout)
            except (requests.RequestException, OSError, SlowDown):
                return
            self._missed_runs.pop(0)
            ready -= 1

    def _end(self, end_t: float) -> AgentStatus:
        if self.should_stop():
            # Interrupted: a last try, briefly (a stop must not wait on a silent network);
            # frames on disk stay for the next start of the agent.
            self._flush(until=time.monotonic() + STOP_UPLOAD_BUDGET)
            return self.status
        if self.source.duration is not None and self.options.duration is None:
            end_t = max(end_t, self.source.duration)
        # The source ended: every frame must be acknowledged before the session may close.
        while len(self.spool) and not self.should_stop():
            self._flush(wait=True)
        self._report_missed(everything=True, timeout=TIMEOUT)
        self._connect_until_done(lambda: self.client.finish(self.options.session, end_t))
        self.report(self.status)
        return self.status

    def _source_lost(self, exc: SourceError, end_t: float) -> NoReturn:
        """The source is gone for good: it ended the agent at once, with the backlog of an
        outage in the spool (the network back in seconds, a camera taking minutes to boot),
        the missed times untold and the session never told it ends. They are sent for a
        while; with every frame sent the session is finished at its last frame (as `rollcall
        run` closes one whose source is lost), and the agent ends with one line."""
        log.warning("%s", exc)
        deadline = time.monotonic() + SOURCE_LOST_BUDGET
        while len(self.spool) and not self.should_stop():
            now = time.monotonic()
            if deadline - max(now, self._retry_at) < MIN_UPLOAD_TIME:
                break
            if now < self._retry_at:
                time.sleep(min(1.0, self._retry_at - now))
                continue
            self._flush(until=deadline)
        self._report_missed(everything=True)
        self.report(self.status)
        if waiting := len(self.spool):
            raise SourceError(
                f"{exc}; {waiting} frame(s) not yet sent wait in {self.spool.folder}: the session "
                "stays open (run the agent again once the source is back, or close the session)"
            ) from None
        if not self.should_stop():
            try:
                self.client.finish(self.options.session, end_t)
            except (requests.RequestException, OSError):
                pass
            else:
                raise SourceError(
                    f"{exc}; every frame was sent and the session ends at {end_t:.0f} s"
                ) from None
        raise SourceError(
            f"{exc}; every frame was sent, and the session stays open (close it on its sheet, "
            "or run the agent again once the source is back)"
        ) from None

    def _run_entrance(self, info: dict, offset: float) -> AgentStatus:
        """Every frame at the session's fps (the newest wins on a live source), numbered on
        from what the server and the spool already have, so a restarted agent goes on."""
        from rollcall.capture.stream import frames_at

        self.status.unit = "frame"
        # The session's rate: its monitor counts in frames of it (how long a track may be lost).
        fps = float(info.get("fps") or self.options.fps or DEFAULT_FPS)
        if self.options.fps is not None and self.options.fps != fps:
            self.status.notes.append(
                f"session {self.options.session!r} watches at {fps:g} fps; --fps ignored"
            )
        spooled = self.spool.waiting()
        seq = max([int(info.get("received_through", -1)), *(f["seq"] for f in spooled)]) + 1
        # A recording read again (an agent restarted on it) goes on one step after the last
        # frame the server or the spool has.
        start = 0.0
        if not self.source.live:
            have = [info.get("received_t"), *(f["t"] for f in spooled)]
            known = [float(t) for t in have if t is not None]
            start = max(known) + 1.0 / fps if known else 0.0
        end_t = 0.0
        line = info.get("line") or self.options.line
        ahead = -(offset + self.source.elapsed()) if self.source.live else 0.0
        if ahead > 0:
            self.status.notes.append(
                f"session {self.options.session!r} starts in {ahead:.0f} s: frames before then "
                "are not kept"
            )
        frames = frames_at(self.source, fps, start=max(0.0, start))
        while True:
            try:
                frame = next(frames, None)
            except SourceError as exc:
                self._source_lost(exc, end_t)
            if frame is None or self.should_stop():
                break
            if line:
                # Told where the camera is (the server only logs it): given in another
                # resolution's pixels, or mistyped, the line can never be crossed.
                line_note(str(line), frame.image, self.status.notes)
                line = None
            ft = frame.t + offset
            if ft < 0:
                # Before the session's start (the camera set up early, or this computer's clock
                # a little ahead when it made the session): the server takes no frame of before
                # t = 0 (it refused each, and the agent ended on the first). Not read ahead to
                # the start either: a stop must be heard meanwhile.
                self._flush(until=time.monotonic() + ENTRANCE_UPLOAD_BUDGET)
                self.report(self.status)
                continue
            if self.options.duration is not None and ft > self.options.duration:
                end_t = self.options.duration
                break
            end_t = max(end_t, ft)
            self._keep(seq, ft, encode(frame.image))
            seq += 1
            # A recording is read as fast as the server takes its frames; a live camera never
            # waits for the server (its frames go to the spool).
            if self.source.live:
                self._flush(until=time.monotonic() + ENTRANCE_UPLOAD_BUDGET)
            else:
                self._flush(wait=len(self.spool) >= BACKFILL_AHEAD)
            self.report(self.status)
        return self._end(end_t)

    def _more_times(self, timeout: float = TIMEOUT, after: int = -1) -> list[tuple[int, float]]:
        try:
            info = self.client.status(self.options.session, KNOWN_AHEAD, timeout, after)
        except (requests.RequestException, OSError) as exc:
            self.status.offline(exc)
            return []
        self.status.connected = True
        sent = {f["seq"] for f in self.spool.waiting()}
        return [(n["seq"], n["t"]) for n in info["next"] if n["seq"] not in sent]

    def _flush(self, wait: bool = False, until: float | None = None) -> None:
        """Send waiting frames, oldest first, until one fails (then wait a growing while).

        ``until`` (time.monotonic()): a live source's next capture is due then, and no upload
        may hold it up, however the network behaves (a silent drop used to block for the
        whole request timeout); what is not sent by then waits in the spool."""
        if not wait and time.monotonic() < self._retry_at:
            return
        if wait:
            time.sleep(max(0.0, self._retry_at - time.monotonic()))
        waiting = self.spool.waiting()
        for i, frame in enumerate(waiting):
            timeout = TIMEOUT
            if until is not None:
                # (The first always goes: time has passed since ``until`` was set, so a budget
                # of MIN_UPLOAD_TIME is already a little under it here.)
                left = until - time.monotonic()
                if i > 0 and left < MIN_UPLOAD_TIME:
                    return
                timeout = min(TIMEOUT, max(left, MIN_UPLOAD_TIME / 2))
            try:
                result = self.client.upload(
                    self.options.session, frame, len(waiting) - i - 1, timeout
                )
            except AgentRefused:
                raise
            except FrameRefused as refused:
                # That frame only (a picture a power loss emptied, one too large, a time out of
                # range): dropped, and the frames behind it go on. One note for a run of
                # refusals (an entrance sends 8 frames a second).
                self.status.connected = True
                self._backoff = 1.0
                log.warning("%s %s %s: dropped", self.status.unit, frame["seq"], refused)
                if not self._refusing:
                    self.status.notes.append(
                        f"{self.status.unit} {frame['seq']} {refused}; dropped from the spool"
                    )
                self._refusing = True
                self.status.dropped += 1
                self.spool.remove(frame["seq"])
                self.status.queued = len(self.spool)
                self.report(self.status)
                continue
            except SlowDown as slow:
                # Reachable and busy: no growing backoff, just the pause it asked for.
                self._retry_at = time.monotonic() + slow.retry_after
                return
            except (requests.RequestException, OSError) as exc:
                self.status.offline(exc)
                self._retry_at = time.monotonic() + self._backoff
                self._backoff = min(MAX_BACKOFF, self._backoff * 2)
                self.report(self.status)
                return
            self.status.connected = True
            self._backoff = 1.0
            if result == "duplicate":
                self._refusing = False
                self.status.duplicates += 1
            else:
                self._refusing = False
                self.status.sent += 1
                self.status.last_upload_seq = frame["seq"]
                self.status.last_upload_at = datetime.now()
            self.spool.remove(frame["seq"])
            self.status.queued = len(self.spool)
            self.report(self.status)

    def _connect_until_done(self, call: Callable[[], dict | None]) -> dict:
        while True:
            try:
                result = call()
            except AgentRefused:
                raise
            except (requests.RequestException, OSError) as exc:
                self.status.offline(exc)
                self.report(self.status)
                log.warning("%s (%s); retrying in %.0f s", self.status.problem, exc, self._backoff)
                if self.should_stop():
                    raise RollcallError("stopped before the server could be reached") from None
                time.sleep(self._backoff)
                self._backoff = min(MAX_BACKOFF, self._backoff * 2)
                continue
            self.status.connected = True
            self._backoff = 1.0
            return result or {}


def line_note(line: str, image: np.ndarray, notes: list[str]) -> None:
    """A note when the counting line lies outside the camera's picture."""
    from rollcall.analysis.entrance.occupancy import line_in_picture, parse_line

    height, width = image.shape[:2]
    try:
        outside = not line_in_picture(parse_line(line), width, height)
    except RollcallError:
        return  # the server refuses a line it cannot read
    if outside:
        notes.append(
            f"the counting line {line} lies outside the {width}x{height} picture: nobody can "
            "cross it"
        )


def settings_ignored(options: AgentOptions, info: dict) -> list[str]:
    """A note for each session option given that the session (joined, not created) does
    not have: they apply only when the agent creates it, and were dropped without a word."""
    ignored = []
    for key in ("seed", "min_interval", "max_interval", "verify_every", "leave_after"):
        given, own = getattr(options, key), info.get(key)
        if given is not None and own is not None and float(given) != float(own):
            ignored.append(f"--{key.replace('_', '-')} {given:g} (the session's: {own:g})")
    if not ignored:
        return []
    return [f"session {options.session!r} keeps its own settings; ignored: {', '.join(ignored)}"]
