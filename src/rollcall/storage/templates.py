"""Face templates at rest: float32 vectors sealed with AES-GCM, never stored in the clear.

A template is biometric data, so a database dump alone must reveal nothing. Each one is
encrypted with a key that lives outside the database (ROLLCALL_TEMPLATE_KEY, or a key file
created once in ROLLCALL_HOME), and authenticated together with its owner's id and embedder:
a template copied onto another person's row fails to open instead of letting one face stand
in for somebody else.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rollcall.errors import RollcallError

# Explicit little-endian float32 so a database moved between machines reads the same vectors.
_DTYPE = np.dtype("<f4")
_VERSION = b"\x01"
_NONCE = 12
KEY_ENV = "ROLLCALL_TEMPLATE_KEY"
KEY_FILE = Path("keys") / "template.key"


class TemplateKeyError(RollcallError):
    """The template key is missing, malformed, or not the one the templates were sealed with."""


def _context(person_id: int, embedder: str) -> bytes:
    return f"rollcall-template:v1:{person_id}:{embedder}".encode()


def _unknown_context(session_id: int, embedder: str) -> bytes:
    # A distinct context: an unknown face's blob can never be opened as someone's template.
    return f"rollcall-unknown:v1:{session_id}:{embedder}".encode()


class TemplateCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise TemplateKeyError("the template key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def generate_key(cls) -> str:
        return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()

    @classmethod
    def from_home(cls, home: Path, env: dict[str, str] | None = None) -> TemplateCipher:
        """The key from ROLLCALL_TEMPLATE_KEY, else from ROLLCALL_HOME/keys/template.key,
        which is created (mode 0600) the first time it is needed."""
        env = os.environ if env is None else env
        if env.get(KEY_ENV):
            return cls(_decode_key(env[KEY_ENV], KEY_ENV))
        path = home / KEY_FILE
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                # O_EXCL: when two processes start at once, exactly one writes the key.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(cls.generate_key() + "\n")
        return cls(_decode_key(path.read_text().strip(), str(path)))

    def seal(self, vector: np.ndarray, person_id: int, embedder: str) -> bytes:
        return self._seal(vector, _context(person_id, embedder))

    def seal_bytes(self, raw: bytes, context: str) -> bytes:
        """Any other biometric blob (a session's monitor state with its face embeddings),
        bound to ``context`` so it cannot be moved to another row."""
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, raw, f"rollcall:{context}".encode())

    @staticmethod
    def is_sealed(blob: bytes) -> bool:
        """Whether a stored blob is in the sealed format (an entrance's progress is plain)."""
        return blob.startswith(_VERSION) and len(blob) >= 1 + _NONCE + 16

    def open_bytes(self, blob: bytes, context: str) -> bytes:
        if not self.is_sealed(blob):
            raise TemplateKeyError("a stored blob is not in the sealed format")
        try:
            return self._aead.decrypt(
                blob[1 : 1 + _NONCE], blob[1 + _NONCE :], f"rollcall:{context}".encode()
            )
        except InvalidTag:
            raise TemplateKeyError(
                f"a sealed {context.split(':')[0]} cannot be opened: the template key differs "
                f"from the one it was sealed with (set {KEY_ENV} or restore "
                f"ROLLCALL_HOME/{KEY_FILE}), or the row was tampered with"
            ) from None

    def open(self, blob: bytes, dim: int, person_id: int, embedder: str) -> np.ndarray:
        return self._open(blob, dim, _context(person_id, embedder))

    def seal_unknown(self, vector: np.ndarray, session_id: int, embedder: str) -> bytes:
        """An unknown face's embedding, sealed like a template and bound to its session."""
        return self._seal(vector, _unknown_context(session_id, embedder))

    def open_unknown(self, blob: bytes, dim: int, session_id: int, embedder: str) -> np.ndarray:
        return self._open(blob, dim, _unknown_context(session_id, embedder))

    def _seal(self, vector: np.ndarray, context: bytes) -> bytes:
        raw = np.asarray(vector, dtype=_DTYPE).reshape(-1).tobytes()
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, raw, context)

    def _open(self, blob: bytes, dim: int, context: bytes) -> np.ndarray:
        if not blob.startswith(_VERSION) or len(blob) < 1 + _NONCE + 16:
            raise TemplateKeyError("a stored template is not in the sealed format")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            raw = self._aead.decrypt(nonce, sealed, context)
        except InvalidTag:
            raise TemplateKeyError(
                "a face template cannot be opened: the template key differs from the one it was "
                f"sealed with (set {KEY_ENV} or restore ROLLCALL_HOME/{KEY_FILE}), "
                "or the row was tampered with"
            ) from None
        vector = np.frombuffer(raw, dtype=_DTYPE)
        if vector.size != dim:
            raise ValueError(f"template holds {vector.size} values, expected {dim}")
        return vector.astype(np.float32)


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.encode())
    except (ValueError, TypeError):
        raise TemplateKeyError(f"{where} is not a base64 template key") from None
    if len(key) != 32:
        raise TemplateKeyError(f"{where} must hold a base64-encoded 32-byte key")
    return key
