"""The staff portal: create_app(settings) builds the Flask app, one blueprint per feature."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from rollcall.config import Settings

# Photos for enrollment: a handful of phone pictures fit easily; anything larger is refused early.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class RowId(IntegerConverter):
    """<int:...> in the portal's addresses is a row's id: at most the database's INTEGER
    (an id of 10**23 was an OverflowError from SQLite, a 500 instead of a 404)."""

    def __init__(self, url_map, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """The portal for `settings` (default: from the environment); `config` overrides Flask's."""
    from rollcall.web import (
        admin,
        agent_api,
        agents,
        alerts,
        api,
        auth,
        courses,
        dashboard,
        errors,
        forms,
        history,
        hooks,
        kiosk,
        kiosk_tokens,
        meetings,
        people,
        reports,
        security,
        sessions,
        unknowns,
    )
    from rollcall.web.context import Portal

    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.url_map.converters["int"] = RowId
    app.config.update(
        SECRET_KEY=security.load_secret_key(settings),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # also Secure whenever the request came over HTTPS
        SESSION_COOKIE_NAME="rollcall_session",
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        WTF_CSRF_TIME_LIMIT=8 * 3600,
        LOGIN_ATTEMPTS=5,  # per client address and per user name ...
        LOGIN_WINDOW_S=60,  # ... in this many seconds
    )
    app.config.update(config)
    Portal.init_app(app, settings)
    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    forms.init_app(app)
    pages = (auth, dashboard, sessions, people, history, unknowns, courses, reports, alerts, agents)
    pages = (*pages, admin)
    for module in (*pages, meetings, kiosk_tokens, api, agent_api, hooks):
        app.register_blueprint(module.bp)
    kiosk.init_app(app)  # the screens at the door: kiosk tokens, no staff login
    return app
