"""A source as it may be stored, shown and logged: without the camera's password.

Cameras are opened as `rtsp://user:password@host/stream` (or with `?password=` in the query);
the session's stored source is on every staff page and in logs, so the secret parts are hidden
there (storage, the portal, the sources' own names). The process that opens the source keeps
the full text it was given.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path, PurePath
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

HIDDEN = "***"
# Query keys that carry a secret in cameras' and streaming servers' URLs.
_SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key|auth|sig|credential", re.IGNORECASE)


def shown_source(source: str) -> str:
    """The source with a URL's password and secret query values replaced by HIDDEN."""
    if "://" not in source:
        return source  # a file, a folder, screen or camera:N: nothing secret
    try:
        parts = urlsplit(source)
    except ValueError:
        return source
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{host}" if ":" in userinfo else f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_KEYS.search(k) for k, _ in pairs):
            query = urlencode(
                [(k, HIDDEN if _SECRET_KEYS.search(k) else v) for k, v in pairs], safe="*"
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def hides_secrets(source: str) -> bool:
    """Whether a stored source had secrets taken out (it cannot be reopened as it is)."""
    return HIDDEN in source and shown_source(source) == source and "://" in source


def _recorded_path(source: str) -> str | None:
    """The path of a recorded source (a video, a folder of frames, a file:// URL) as given;
    None for a live one (screen, camera:N, a stream URL)."""
    spec = source.strip()
    if spec.lower().startswith("file://"):
        spec = spec[len("file://") :]
    kind = spec.partition(":")[0].lower()
    if kind in ("screen", "camera") or "://" in spec:
        return None
    return spec


def recording_print(source: str) -> str | None:
    """A recording file's fingerprint: its size and the sha256 of its first MiB (a moved or
    renamed copy keeps both; another recording, even of the same length, does not). None for
    anything else (a live source, a folder of frames, a file that cannot be read)."""
    spec = _recorded_path(source)
    if spec is None:
        return None
    path = Path(spec).expanduser()
    try:
        if not path.is_file():
            return None
        with path.open("rb") as stream:
            head = stream.read(1 << 20)
        size = path.stat().st_size
    except OSError:
        return None
    return f"{size}:{hashlib.sha256(head).hexdigest()[:32]}"


def recording_name(source: str) -> str | None:
    """The file or folder name of a recorded source; None for a live one (so a resume tells
    the two kinds apart; for a session made before fingerprints were kept it compares these)."""
    spec = _recorded_path(source)
    return None if spec is None else PurePath(spec.rstrip("/\\")).name or None


def shown_text(text: str) -> str:
    """A file or folder name as it can be printed on one line and stored: bytes that are not
    UTF-8 (kept by Python as lone surrogates) and control characters (a newline in a file
    name split its error in two) become U+FFFD."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text)
