"""Secret key, cookies and response headers: the parts of security every request shares."""

from __future__ import annotations

import os
import secrets

from flask import Flask, Response, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from rollcall.config import Settings
from rollcall.errors import RollcallError

SECRET_FILE = "secret_key"  # nosec B105 - the file name, not the key

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def load_secret_key(settings: Settings, env: dict[str, str] | None = None) -> str:
    """ROLLCALL_SECRET_KEY, or a random key generated once into ROLLCALL_HOME (mode 0600)."""
    env = os.environ if env is None else env
    if env.get("ROLLCALL_SECRET_KEY"):
        key = env["ROLLCALL_SECRET_KEY"]
        if len(key) < 32:
            raise RollcallError("ROLLCALL_SECRET_KEY must be at least 32 characters long")
        return key
    path = settings.ensure_home() / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
        if len(key) < 32:
            raise RollcallError(
                f"{path} holds no usable key: delete it to make a new one"
            ) from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS (or a proxy says so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = bool(app.config["SESSION_COOKIE_SECURE"])
        return configured or (has_request_context() and request.is_secure)


def _headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if not request.path.startswith("/static/"):
        # Attendance and faces are personal data: keep them out of shared caches and history.
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.session_interface = _SessionInterface()
    app.after_request(_headers)
