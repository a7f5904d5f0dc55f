"""Role checks shared by the blueprints: admins see everything, instructors their own courses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from rollcall.storage import accounts
from rollcall.storage.models import AttendanceSession, Course
from rollcall.storage.sessions import get_session
from rollcall.storage.staff import User

F = TypeVar("F", bound=Callable)


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not current_user.is_authenticated or current_user.role != "admin":
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def me(s: Session) -> User:
    user = s.get(User, current_user.id)
    if user is None or not user.active:
        abort(403)
    return user


def session_or_abort(s: Session, name: str, user: User | None = None) -> AttendanceSession:
    """The session named `name` if the user may see it: 404 when missing, 403 when not theirs."""
    row = get_session(s, name)
    if row is None:
        abort(404, description=f"There is no session named {name!r}.")
    if not accounts.can_see_session(s, user or me(s), row):
        abort(403)
    return row


def course_or_abort(s: Session, name: str, user: User | None = None) -> Course:
    from sqlalchemy import select

    course = s.scalar(select(Course).where(Course.name == name))
    if course is None:
        abort(404, description=f"There is no course named {name!r}.")
    if not accounts.can_see_course(s, user or me(s), course.id):
        abort(403)
    return course
