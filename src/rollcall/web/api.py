"""The JSON API under /api/v1: bearer tokens, the same shapes as `rollcall report --json`."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import select

from rollcall.attendance.report import as_utc, build_report
from rollcall.storage import accounts
from rollcall.storage.models import CourseMember, Person
from rollcall.storage.people import list_people
from rollcall.storage.sessions import get_session
from rollcall.web.auth import csrf
from rollcall.web.context import db_session, portal
from rollcall.web.openapi import (
    MAX_OFFSET,
    SESSIONS_PAGE,
    SESSIONS_PAGE_MAX,
    SESSIONS_QUERY,
    document,
)
from rollcall.web.params import number

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies here: a bearer token cannot be sent by another site's form
PUBLIC = {"api.openapi"}


@bp.before_request
def _authenticate() -> None:
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            description="Send an API token: Authorization: Bearer TOKEN "
            "(create one with `rollcall token create USER`).",
        )
    with db_session() as s:
        user = accounts.user_for_token(s, token.strip())
        if user is None:
            abort(401, description="The API token is not valid.")
        g.api_user = (user.id, user.role)


def _user(s):  # noqa: ANN001, ANN202
    from rollcall.storage.staff import User

    return s.get(User, g.api_user[0])


def _session_or_abort(s, name: str):  # noqa: ANN001, ANN202
    row = get_session(s, name)
    if row is None:
        abort(404, description=f"no session named {name!r}")
    if not accounts.can_see_session(s, _user(s), row):
        abort(403, description="this token's user may not see that session")
    return row


@bp.get("/openapi.json")
def openapi():  # noqa: ANN201
    return jsonify(document(request.host_url.rstrip("/")))


@bp.get("/sessions")
def sessions():  # noqa: ANN201
    """Newest first, a page at a time (?limit=, ?offset=, ?q= over session and course names).
    The body stays a plain list; X-Total-Count gives the number of matches, and a Link header
    with rel="next" the next page while there is one."""
    known = [p["name"] for p in SESSIONS_QUERY]
    unknown = sorted(set(request.args) - set(known))
    if unknown:  # a misspelt "?limt=" would otherwise quietly return the first page
        abort(400, description=f"unknown query parameter {unknown[0]!r} ({', '.join(known)})")
    args = request.args
    limit = int(number("limit", args.get("limit", SESSIONS_PAGE), int, 1, SESSIONS_PAGE_MAX))
    offset = int(number("offset", args.get("offset", 0), int, 0, MAX_OFFSET))
    search = (args.get("q") or "").strip() or None
    with db_session() as s:
        user = _user(s)
        rows = accounts.visible_sessions(s, user, limit=limit, offset=offset, search=search)
        total = accounts.count_visible_sessions(s, user, search)
        response = jsonify(
            [
                {
                    "session": r.name,
                    "course": r.course.name if r.course else None,
                    "started_at": as_utc(r.started_at).isoformat(),
                    "state": r.state,
                    "duration": r.duration,
                }
                for r in rows
            ]
        )
    response.headers["X-Total-Count"] = str(total)
    if offset + limit < total:
        query = {"limit": limit, "offset": offset + limit, **({"q": search} if search else {})}
        response.headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return response


@bp.get("/sessions/<name>/attendance")
def attendance(name: str):  # noqa: ANN201
    with db_session() as s:
        return jsonify(
            build_report(s, _session_or_abort(s, name), portal().settings.timezone).to_json()
        )


@bp.get("/sessions/<name>/head-counts")
def head_counts(name: str):  # noqa: ANN201
    with db_session() as s:
        report = build_report(s, _session_or_abort(s, name), portal().settings.timezone)
        return jsonify(session=report.session, head_counts=report.to_json()["head_counts"])


@bp.get("/people")
def people():  # noqa: ANN201
    with db_session() as s:
        user = _user(s)
        rows = list_people(s)
        if user.role != "admin":
            courses = accounts.owned_course_ids(s, user.id)
            allowed = set(
                s.scalars(
                    select(Person.name)
                    .join(CourseMember, CourseMember.person_id == Person.id)
                    .where(CourseMember.course_id.in_(courses))
                )
            )
            rows = [r for r in rows if r.name in allowed]
        return jsonify(
            [
                {
                    "name": r.name,
                    "templates": r.templates,
                    "created_at": as_utc(r.created_at).isoformat(),
                }
                for r in rows
            ]
        )
