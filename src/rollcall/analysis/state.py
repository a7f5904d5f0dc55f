"""A monitor's memory between samples, as bytes: what lets any process take the next sample.

Everything the monitor remembers (its face tracks with their looks, votes and names, who is
marked, open presence intervals, the strangers already queued for review, the last head count)
is turned into a compact document and back. Names, not gallery indices, are stored: people
enrolled or removed between two samples shift the indices. Looks and embeddings are kept as
float16 (their cosines move by under 1e-3). The document holds face embeddings, so it is
biometric data: the caller seals it (storage.templates.TemplateCipher.seal_bytes) before
storing it. No pickle: a document read from a database must never be able to run code.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

import numpy as np

from rollcall.attendance.monitor import AttendanceMonitor, OpenInterval, PendingPlace
from rollcall.vision.frozen import GLITCHES, Look
from rollcall.vision.still import PATCH, Remembered
from rollcall.vision.track import FaceTracker, Track, Vote

FORMAT = 1


def _pack(array: np.ndarray | None, dtype: str = "<f2") -> str | None:
    if array is None:
        return None
    return base64.b64encode(np.asarray(array, dtype=dtype).tobytes()).decode()


def _unpack(text: str | None, dtype: str = "<f2") -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(np.float32)


def snapshot(monitor: AttendanceMonitor) -> bytes:
    """The monitor's state as compressed JSON (seal it before storing)."""
    names = monitor.gallery.names

    def name(index: int | None) -> str | None:
        return None if index is None or index < 0 or index >= len(names) else names[index]

    tracks = [
        {
            "id": tr.id,
            "box": _pack(tr.box, "<f4"),
            "look": _pack(tr.look),
            "tile": _pack(tr.tile, "<f4"),
            "first_t": tr.first_t,
            "last_t": tr.last_t,
            "seen_since": tr.seen_since,
            "embedding": _pack(tr.embedding),
            "votes": [[name(v.person), v.similarity, v.accepted, v.t] for v in tr.votes],
            "identity": name(tr.identity),
            "disputed": tr.disputed,
            "missed": tr.missed,
            "reported_unknown": tr.reported_unknown,
            "label": tr.label,
        }
        for tr in monitor.tracker.tracks.values()
    ]
    doc: dict[str, Any] = {
        "format": FORMAT,
        "marked": monitor.marked,
        "open": {p: [iv.start, iv.last_seen] for p, iv in monitor.open.items()},
        "last_seen": monitor.last_seen,
        "gone": sorted(monitor.gone),
        "visitors": sorted(monitor.visitors),
        "queued_unknowns": [_pack(q) for q in monitor.queued_unknowns],
        "last_count": monitor.last_count,
        "last_verified": monitor.last_verified,
        "last_full": monitor.last_full,
        "last_shared": monitor.last_shared,
        "observed_from": monitor.observed_from,
        "next_track": monitor.tracker.next_id,
        "tracks": tracks,
        "still": [
            _remembered(r, k == len(monitor.still.samples) - 1)
            for k, r in enumerate(monitor.still.samples)
        ],
        "frozen": {p: _look(look) for p, look in monitor.frozen.looks.items()},
        "pictured": sorted(monitor.pictured),
        "live_from": monitor.live_from,
        "watched": sorted(monitor.watched),
        "pending_places": [
            [_pack(p.box, "<f4"), p.person, p.t, p.similarity, _pack(p.embedding), p.track]
            for p in monitor.pending_places
        ],
    }
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def _remembered(r: Remembered, latest: bool) -> dict[str, Any]:
    # A patch is unit-norm over 256 values (a few hundredths each): int8 steps of 1/256 keep its
    # correlations within about 1e-3 of the float ones, at a quarter of their size.
    return {
        "t": r.t,
        "boxes": _pack(r.boxes, "<f4"),
        "patches": _pack(np.clip(np.round(r.patches * 256), -127, 127), "i1"),
        # Each place's latest comparisons as a string: "s" unmoved, "m" moved, oldest first.
        "history": ["".join("s" if v else "m" for v in h) for h in r.history],
        "matched": r.matched,
        # Only the latest sample's places go on to the next one: only theirs are kept.
        "embeddings": [_pack(e) for e in r.embeddings] if latest else [],
        "counted": r.counted if latest else [],
        "seq": r.seq,
    }


def _look(look: Look) -> dict[str, Any]:
    return {
        "t": look.t,
        "box": _pack(look.box, "<f4"),
        "tile": _pack(look.tile, "<f4"),
        "patch": _pack(np.clip(np.round(look.patch * 256), -127, 127), "i1"),
        "history": "".join("s" if v else "m" for v in look.history),
        "still_since": look.still_since,
        "moves": look.moves,
    }


def _looked(row: dict[str, Any]) -> Look:
    box, face = _unpack(row["box"], "<f4"), _unpack(row["patch"], "i1")
    assert box is not None and face is not None  # nosec B101 - always written
    return Look(float(row["t"]), box, _unpack(row["tile"], "<f4"), face / 256,
                [c == "s" for c in row["history"]], row.get("still_since"),
                _moves(row))  # fmt: skip


def _moves(row: dict[str, Any]) -> int:
    """A look's count of moved comparisons; a look saved before it was kept (with whether it
    had been judged live instead) counts its history's, and live as more than a glitch's."""
    if "moves" in row:
        return int(row["moves"])
    return max(row["history"].count("m"), GLITCHES + 1 if row.get("ever_live") else 0)


def _recalled(row: dict[str, Any]) -> Remembered:
    boxes = _unpack(row["boxes"], "<f4")
    patches = _unpack(row["patches"], "i1")
    assert boxes is not None and patches is not None  # nosec B101 - always written
    return Remembered(
        float(row["t"]),
        boxes.reshape(-1, 4),
        patches.reshape(-1, PATCH * PATCH) / 256,
        [[c == "s" for c in h] for h in row["history"]],
        [{p: [float(v) for v in times] for p, times in m.items()} for m in row["matched"]],
        embeddings=[_unpack(e) for e in row.get("embeddings", [])],
        counted=[[int(q) for q in seqs] for seqs in row.get("counted", [])],
        seq=int(row.get("seq", -1)),
    )


def forget_person(blob: bytes, name: str) -> bytes | None:
    """The snapshot without a person who was erased (None: it held nothing of theirs). Their
    name goes from every list, and the tracks that were their face go entirely (a track keeps
    the face's embedding and look); a vote for them in another track is kept as a vote for
    no one."""
    doc = json.loads(zlib.decompress(blob))
    before = json.dumps(doc, sort_keys=True)
    for key in ("marked", "open", "last_seen"):
        doc[key].pop(name, None)
    for key in ("gone", "visitors", "pictured", "watched"):
        if key in doc:
            doc[key] = [p for p in doc[key] if p != name]
    doc.get("frozen", {}).pop(name, None)
    doc.get("live_from", {}).pop(name, None)
    if "pending_places" in doc:
        doc["pending_places"] = [row for row in doc["pending_places"] if row[1] != name]
    theirs = [tr for tr in doc["tracks"] if tr["identity"] == name]
    doc["tracks"] = [tr for tr in doc["tracks"] if tr["identity"] != name]
    for row in doc.get("still", []):
        _forget_places(row, name, [_unpack(tr["box"], "<f4") for tr in theirs])
    for tr in doc["tracks"]:
        tr["votes"] = [[None if who == name else who, s, a and who != name, t]
                       for who, s, a, t in tr["votes"]]  # fmt: skip
    if json.dumps(doc, sort_keys=True) == before:
        return None
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def _forget_places(row: dict[str, Any], name: str, boxes: list[np.ndarray | None]) -> None:
    """A room camera's remembered sample without an erased person's places (those that
    matched them, or where their tracks are): patch, comparisons, matches and embedding."""
    from rollcall.vision.still import same_places

    places = _unpack(row["boxes"], "<f4")
    assert places is not None  # nosec B101 - always written
    places = places.reshape(-1, 4)
    theirs = np.array([name in m for m in row["matched"]], bool)
    known = np.array([b for b in boxes if b is not None], np.float32).reshape(-1, 4)
    if len(known) and len(places):
        theirs |= same_places(places, known).any(axis=1)
    if not theirs.any():
        return
    patches = _unpack(row["patches"], "i1")
    assert patches is not None  # nosec B101 - always written
    patches = patches.reshape(len(places), -1)
    patches[theirs] = 0
    row["patches"] = _pack(patches, "i1")
    for i in np.flatnonzero(theirs):
        row["history"][i], row["matched"][i] = "", {}
        if row.get("embeddings"):
            row["embeddings"][i] = None
        if row.get("counted"):
            row["counted"][i] = []


def restore(monitor: AttendanceMonitor, blob: bytes) -> None:
    """Put a snapshot's state into a fresh monitor built with the session's gallery and config."""
    doc = json.loads(zlib.decompress(blob))
    if doc.get("format") != FORMAT:
        raise ValueError(f"unknown monitor state format {doc.get('format')!r}")
    index = {n: i for i, n in enumerate(monitor.gallery.names)}

    def person(name: str | None) -> int | None:
        return None if name is None else index.get(name)

    monitor.marked = {p: float(t) for p, t in doc["marked"].items()}
    monitor.open = {p: OpenInterval(float(a), float(b)) for p, (a, b) in doc["open"].items()}
    monitor.last_seen = {p: float(t) for p, t in doc["last_seen"].items()}
    monitor.gone = set(doc["gone"])
    monitor.visitors = set(doc["visitors"])
    monitor.queued_unknowns = [_unpack(q) for q in doc["queued_unknowns"]]
    monitor.last_count = doc["last_count"]
    monitor.last_verified = doc["last_verified"]
    monitor.last_full = doc["last_full"]
    monitor.last_shared = doc["last_shared"]
    monitor.observed_from = float(doc.get("observed_from", 0.0))
    # Snapshots from before room cameras had no pictures to remember.
    monitor.still.samples = [_recalled(row) for row in doc.get("still", [])]
    # Snapshots from before pictures in one's own tile were looked for: nobody's look yet.
    monitor.frozen.looks = {p: _looked(row) for p, row in doc.get("frozen", {}).items()}
    monitor.pictured = set(doc.get("pictured", []))
    monitor.live_from = {p: float(t) for p, t in doc.get("live_from", {}).items()}
    monitor.watched = set(doc.get("watched", []))
    monitor.pending_places = [
        PendingPlace(_unpack(box, "<f4"), who, float(t), float(sim), _unpack(emb), int(track))
        for box, who, t, sim, emb, track in (
            row for row in doc.get("pending_places", []) if len(row) == 6
        )
        if who in index
    ]
    tracker: FaceTracker = monitor.tracker
    tracker.tracks = {}
    for row in doc["tracks"]:
        votes = []
        for who, sim, accepted, t in row["votes"]:
            p = person(who)
            # A vote for someone no longer enrolled can no longer name anyone.
            votes.append(
                Vote(-1 if p is None else p, float(sim), bool(accepted and p is not None), t)
            )
        identity = person(row["identity"])
        track = Track(
            id=row["id"],
            box=_unpack(row["box"], "<f4"),
            look=_unpack(row["look"]),
            tile=_unpack(row["tile"], "<f4"),
            first_t=row["first_t"],
            last_t=row["last_t"],
            # Snapshots from before seen_since was kept: the track's start is its best guess.
            seen_since=row.get("seen_since", row["first_t"]),
            embedding=_unpack(row["embedding"]),
            votes=votes,
            identity=identity,
            disputed=row["disputed"],
            missed=row["missed"],
            reported_unknown=row["reported_unknown"],
            label=row.get("label"),  # snapshots from before labels were carried: unread
        )
        tracker.tracks[track.id] = track
    tracker.next_id = doc["next_track"]
