"""A form the server refused comes back with what was typed in it, and the reason on top.

The handler returns ``refused(NAME, reason, url)``: the reason is flashed, the values kept and
the browser sent back to the form's page, whose template reads ``kept.value(NAME, field,
saved)`` and ``kept.checked(NAME, field, value, saved)``: the typed values for that form once
(the next page shown), the saved ones otherwise. Values ride in the signed session cookie (a
browser keeps about 4 KB of it): a form too long to carry comes back as it was saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask import Flask, flash, g, redirect, request, session
from werkzeug.wrappers import Response

KEY = "kept_form"
MAX_KEPT = 2000  # characters of JSON (non-ASCII escaped: at most 2 KB)
MAX_REASON = 300


def keep_form(name: str) -> None:
    """Keep what was typed for form ``name`` (which names its object too, "term:Algebra":
    another course's page shows its own saved values)."""
    values = {key: request.form.getlist(key) for key in request.form if key != "csrf_token"}
    # What a browser keeps of a cookie ends at 4 KB: a form too long to carry comes back as it
    # was saved, never cut short (a cut list of holidays, saved again, would lose some).
    if len(json.dumps(values)) <= MAX_KEPT:
        session[KEY] = {"name": name, "values": values}
    else:
        session.pop(KEY, None)


def refused(form: str, reason: str, to: str) -> Response:
    """Back to the form's page ``to``: the reason on top, nothing saved, the typed values kept
    for ``form``. The reason rides in the same cookie as the values, so it is cut short."""
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    flash(f"Nothing was saved: {reason}.", "error")
    keep_form(form)
    return redirect(to)


@dataclass
class KeptForm:
    name: str | None = None
    values: dict[str, list[str]] = field(default_factory=dict)

    def value(self, form: str, key: str, saved: object = "") -> object:
        if form != self.name:
            return "" if saved is None else saved
        got = self.values.get(key)
        return got[0] if got else ""

    def checked(self, form: str, key: str, value: str, saved: bool) -> bool:
        return saved if form != self.name else value in self.values.get(key, [])


def _kept() -> dict[str, KeptForm]:
    if "kept_form" not in g:
        data = session.pop(KEY, None) or {}
        g.kept_form = KeptForm(data.get("name"), data.get("values") or {})
    return {"kept": g.kept_form}


def init_app(app: Flask) -> None:
    app.context_processor(_kept)
