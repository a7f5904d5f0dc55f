"""Capture agents in the portal: their tokens, the live sessions they record, the worker pool.

Every staff user sees the agents of the sessions they may see and the tokens they own (admins:
all), makes tokens for their own rooms or courses, and revokes their own. A new token is shown
once, on the page that made it; only its digest is stored.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.errors import RollcallError
from rollcall.storage import accounts, agents
from rollcall.storage.audit import AccountChanged, record
from rollcall.storage.models import AgentToken, Course
from rollcall.web.access import me
from rollcall.web.context import db_session, portal
from rollcall.workers.pool import agent_lines, pool_status

bp = Blueprint("agents", __name__, url_prefix="/agents")


def _page(s, user, new_token: str | None = None, new_name: str | None = None):  # noqa: ANN001, ANN202
    tokens = [
        (t, owner, course)
        for t, owner, course in agents.list_agent_tokens(s)
        if user.role == "admin" or t.user_id == user.id
    ]
    return render_template(
        "agents/index.html",
        lines=agent_lines(s, accounts.visible_sessions(s, user, open_only=True)),
        pool=pool_status(s, portal().settings.broker_url),
        tokens=tokens,
        courses=accounts.visible_courses(s, user),
        new_token=new_token,
        new_name=new_name,
    )


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        return _page(s, me(s))


@bp.post("/tokens")
def create():  # noqa: ANN201
    """A token for the current user's agent, for one of their courses or all they may see."""
    name = " ".join(request.form.get("name", "").split())
    course_name = request.form.get("course") or None
    with db_session() as s:
        user = me(s)
        course = None
        if course_name is not None:
            course = s.scalar(select(Course).where(Course.name == course_name))
            if course is None or not accounts.can_see_course(s, user, course.id):
                abort(400, description="Choose one of your courses.")
        try:
            row, value = agents.create_agent_token(s, user, name, course)
        except RollcallError as exc:
            flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("agents.index"))
        record(s, user.name, AccountChanged(user.name, f"agent token #{row.id} created"))
        return _page(s, user, new_token=value, new_name=row.name)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        row = s.get(AgentToken, token_id)
        if row is None:
            abort(404, description=f"There is no agent token #{token_id}.")
        if user.role != "admin" and row.user_id != user.id:
            abort(403)
        agents.revoke(s, token_id)
        record(s, user.name, AccountChanged(user.name, f"agent token #{token_id} revoked"))
    flash(f"Agent token #{token_id} revoked: that agent can no longer upload.", "success")
    return redirect(url_for("agents.index"))
