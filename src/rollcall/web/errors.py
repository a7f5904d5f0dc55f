"""Errors turned into pages (JSON under /api) at the edge, with a message saying what to do."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from rollcall.errors import NotFound, RollcallError

HINTS = {
    400: "The request could not be used.",
    401: "Log in first.",
    403: "Your account may not open this page. Ask an administrator if you need it.",
    404: "There is nothing here.",
    405: "This address does not accept that kind of request.",
    413: "The upload is too large: send fewer or smaller photos.",
    429: "Too many attempts: wait a minute and try again.",
}


def _render(code: int, message: str):  # noqa: ANN202
    if request.path.startswith("/api/"):
        response = jsonify(error=message, status=code)
        response.status_code = code
        if code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="rollcall"'
        return response
    return render_template("error.html", code=code, message=message), code


def _http_error(exc: HTTPException):  # noqa: ANN202
    code = exc.code or 500
    default = HINTS.get(code, exc.name)
    message = (
        exc.description if exc.description and exc.description != type(exc).description else default
    )
    response = _render(code, message)
    if code == 429 and isinstance(response, tuple):
        return response[0], code, {"Retry-After": "60"}
    return response


def _csrf_error(exc: CSRFError):  # noqa: ANN202
    return _render(
        400,
        "The form had expired or did not come from this site: reload the page "
        f"and try again ({exc.description}).",
    )


def _rollcall_error(exc: RollcallError):  # noqa: ANN202
    return _render(404 if isinstance(exc, NotFound) else 400, str(exc))


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RollcallError, _rollcall_error)
