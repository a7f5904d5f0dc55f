"""Admin tasks: staff accounts (create, disable, remove, reset a password, email) and API tokens.

Every change is in the audit trail. Removing needs the account's name typed; a reset password
is shown once, on the page (never in a cookie), and the user must replace it at next login.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import AccountChanged, record
from rollcall.storage.staff import ROLES, ApiToken, User
from rollcall.web.access import admin_required, me
from rollcall.web.context import db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Accounts and tokens are an admin's business."""


def _user_or_abort(s, name: str) -> User:  # noqa: ANN001
    user = accounts.get_user(s, name)
    if user is None:
        abort(404, description=f"There is no account named {name!r}.")
    return user


@bp.get("/users")
def users():  # noqa: ANN201
    with db_session() as s:
        rows = s.scalars(select(User).order_by(User.name)).all()
        tokens = dict(
            s.execute(select(ApiToken.user_id, func.count()).group_by(ApiToken.user_id)).all()
        )
        return render_template("admin/users.html", users=rows, tokens=tokens, roles=ROLES)


def _one_time(user: str, temporary: str, created: bool = False):  # noqa: ANN202
    return render_template("admin/password.html", user=user, temporary=temporary, created=created)


@bp.post("/users")
def create():  # noqa: ANN201
    """A new account with a one-time password the user replaces at first login."""
    name = " ".join(request.form.get("name", "").split())
    role = request.form.get("role", "")
    with db_session() as s:
        try:
            email = accounts.check_email(request.form.get("email"))
            user = accounts.create_user(s, name, secrets.token_urlsafe(24), role)
            user.email = email
            temporary = accounts.reset_password(s, user).temporary
        except RollcallError as exc:
            flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("admin.users"))
        record(s, me(s).name, AccountChanged(name, f"created ({role})"))
    return _one_time(name, temporary, created=True)


@bp.post("/users/<name>/active")
def active(name: str):  # noqa: ANN201
    enable = request.form.get("active") == "1"
    with db_session() as s:
        user = _user_or_abort(s, name)
        if user.id == me(s).id and not enable:
            flash("You cannot disable your own account.", "error")
            return redirect(url_for("admin.users"))
        try:
            accounts.set_active(s, user, enable)
        except RollcallError as exc:
            flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("admin.users"))
        record(s, me(s).name, AccountChanged(name, "enabled" if enable else "disabled"))
    flash(f"{name} {'enabled' if enable else 'disabled: logged out everywhere'}.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/email")
def email(name: str):  # noqa: ANN201
    with db_session() as s:
        user = _user_or_abort(s, name)
        try:
            address = accounts.check_email(request.form.get("email"))
        except RollcallError as exc:
            flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("admin.users"))
        user.email = address
        record(s, me(s).name, AccountChanged(name, f"email {address or 'removed'}"))
    flash(f"Email of {name} saved.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<name>/reset")
def reset(name: str):  # noqa: ANN201
    with db_session() as s:
        user = _user_or_abort(s, name)
        reset = accounts.reset_password(s, user)
        record(s, me(s).name, AccountChanged(name, "password reset"))
    if reset.api_tokens_revoked:
        n = reset.api_tokens_revoked
        flash(f"{n} API token{'' if n == 1 else 's'} of {name} revoked.", "success")
    if reset.tokens_left:
        # Left working: they record and show classrooms' sessions (see reset_password).
        hooks = " and the webhooks on their courses' pages" if reset.hooks_left else ""
        flash(
            f"{name} still has {reset.tokens_left}, left working so their classrooms keep "
            "running: if the account was misused, revoke them on the Agents page and the "
            f"Kiosk screen page of their courses or sessions{hooks}.",
            "info",
        )
    return _one_time(name, reset.temporary)


@bp.post("/users/<name>/delete")
def remove(name: str):  # noqa: ANN201
    if request.form.get("confirm", "").strip() != name:
        flash("Type the account's name exactly to confirm the removal.", "error")
        return redirect(url_for("admin.users"))
    with db_session() as s:
        user = _user_or_abort(s, name)
        if user.id == me(s).id:
            flash("You cannot remove your own account.", "error")
            return redirect(url_for("admin.users"))
        try:
            accounts.remove_user(s, user)
        except RollcallError as exc:
            flash(str(exc).capitalize() + ".", "error")
            return redirect(url_for("admin.users"))
        record(s, me(s).name, AccountChanged(name, "removed"))
    flash(f"Removed {name} with their API tokens.", "success")
    return redirect(url_for("admin.users"))


@bp.get("/tokens")
def tokens():  # noqa: ANN201
    with db_session() as s:
        return render_template("admin/tokens.html", tokens=accounts.list_tokens(s))


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):  # noqa: ANN201
    with db_session() as s:
        try:
            row = accounts.revoke_token(s, token_id)
        except RollcallError:
            abort(404, description=f"There is no API token #{token_id}.")
        record(s, me(s).name, AccountChanged(row.user.name, f"token {token_id} revoked"))
    flash(f"API token #{token_id} revoked: it no longer works.", "success")
    return redirect(url_for("admin.tokens"))
