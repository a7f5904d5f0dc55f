"""Logging in and out; every page but /login (and the token-checked API) needs a user."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from rollcall.errors import RollcallError
from rollcall.storage.accounts import authenticate, change_password, end_sessions
from rollcall.storage.names import same_name_key
from rollcall.storage.staff import User
from rollcall.web.context import db_session
from rollcall.web.throttle import LoginThrottle

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
# Endpoints reachable without a logged-in user; the API checks its own bearer tokens, and the
# kiosk screens their kiosk tokens.
PUBLIC = {"auth.login", "static"}
# All a user whose password was reset may do until they choose a new one.
CHANGING_PASSWORD = {"auth.password", "auth.logout", "static"}
# The session key holding the user's session_version at login (see User.session_version).
VERSION_KEY = "_rollcall_version"


@dataclass(frozen=True)
class StaffUser(UserMixin):
    """The logged-in user as the views see it: a detached copy, safe across threads."""

    id: int
    name: str
    role: str
    must_change: bool = False  # an admin reset the password: choose a new one first

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user: User) -> StaffUser:
        return cls(user.id, user.name, user.role, bool(user.must_change_password))


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    with db_session() as s:
        user = s.get(User, int(user_id)) if user_id.isdigit() else None
        if user is None or not user.active:
            return None
        # Flask's session lives in a signed cookie that logging out cannot take back, so a copy
        # of it is refused once the user's version has moved on (logout, new password).
        if session.get(VERSION_KEY) != user.session_version:
            return None
        return StaffUser.of(user)


def _require_login():  # noqa: ANN202
    if request.endpoint in PUBLIC or request.blueprint in ("api", "agent_api", "kiosk", "hooks"):
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.must_change and request.endpoint not in CHANGING_PASSWORD:
        return redirect(url_for("auth.password"))
    return None


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    app.extensions["rollcall.throttle"] = LoginThrottle(
        app.config["LOGIN_ATTEMPTS"], app.config["LOGIN_WINDOW_S"]
    )
    # One name guessed from many addresses: a wider limit, so that nobody elsewhere can lock
    # an account out with a few wrong passwords a minute (the strict one is per address).
    app.extensions["rollcall.throttle.names"] = LoginThrottle(
        NAME_ATTEMPTS_FACTOR * app.config["LOGIN_ATTEMPTS"], app.config["LOGIN_WINDOW_S"]
    )
    # Many names guessed from one address: as wide, so that one person behind a school's NAT
    # mistyping their password five times does not keep every colleague out (the strict
    # limit is per name and address).
    app.extensions["rollcall.throttle.addresses"] = LoginThrottle(
        NAME_ATTEMPTS_FACTOR * app.config["LOGIN_ATTEMPTS"], app.config["LOGIN_WINDOW_S"]
    )
    app.before_request(_require_login)


NAME_ATTEMPTS_FACTOR = 10


def safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a fresh login to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("dashboard.index")
    parts = urlsplit(target)
    return url_for("dashboard.index") if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    name = request.form.get("name", "").strip()[:80]
    password = request.form.get("password", "")[:1024]
    throttle: LoginThrottle = current_app.extensions["rollcall.throttle"]
    names: LoginThrottle = current_app.extensions["rollcall.throttle.names"]
    addresses: LoginThrottle = current_app.extensions["rollcall.throttle.addresses"]
    who = same_name_key(name)
    key, address = f"name:{who}@{request.remote_addr}", f"addr:{request.remote_addr}"
    wait = max(
        throttle.retry_after(key), names.retry_after(f"name:{who}"), addresses.retry_after(address)
    )
    if wait:
        abort(429, description=f"Too many login attempts. Try again in {wait} seconds.")
    with db_session() as s:
        user = authenticate(s, name, password)
        staff = StaffUser.of(user) if user else None
        version = user.session_version if user else None
    if staff is None:
        # Only failures count: staff behind one NAT or proxy share an address, and counting
        # their successful logins locked everyone out after the fifth login in a minute.
        throttle.hit(key)
        names.hit(f"name:{who}")
        addresses.hit(address)
        flash("Unknown user name or wrong password.", "error")
        return render_template("login.html", next=request.form.get("next", ""), name=name), 401
    throttle.reset(key)
    names.reset(f"name:{who}")
    session.clear()  # a fresh session on login: no fixation
    session[VERSION_KEY] = version
    login_user(staff)
    if staff.must_change:
        flash("Your password was reset: choose a new one to continue.", "info")
        return redirect(url_for("auth.password"))
    return redirect(safe_next(request.form.get("next")))


@bp.route("/account/password", methods=["GET", "POST"])
def password():  # noqa: ANN201
    """Choose a new password (required after an admin's reset); other sessions end."""
    if request.method == "GET":
        return render_template("password.html")
    current = request.form.get("current", "")[:1024]
    new = request.form.get("new", "")[:1024]
    problem = None
    if new != request.form.get("confirm", "")[:1024]:
        problem = "The new password and its confirmation differ."
    # A stolen session cookie must not buy unlimited guesses at the password behind it.
    throttle: LoginThrottle = current_app.extensions["rollcall.throttle"]
    key = f"password:{current_user.id}"
    wait = throttle.retry_after(key)
    if wait:
        abort(429, description=f"Too many wrong passwords. Try again in {wait} seconds.")
    with db_session() as s:
        user = s.get(User, current_user.id)
        if problem is None and authenticate(s, user.name, current) is None:
            problem = "The current password is wrong."
            throttle.hit(key)
        if problem is None and new == current:
            problem = "Choose a password different from the current one."
        if problem is None:
            try:
                change_password(user, new)
            except RollcallError as exc:
                problem = str(exc).capitalize() + "."
        version = user.session_version
        staff = StaffUser.of(user)
    if problem:
        flash(problem, "error")
        return render_template("password.html"), 400
    # This browser stays logged in with the new version; every other session has ended.
    session[VERSION_KEY] = version
    login_user(staff)
    flash("Password changed. Any other session of yours has been logged out.", "success")
    return redirect(url_for("dashboard.index"))


@bp.post("/logout")
def logout():  # noqa: ANN201
    if current_user.is_authenticated:
        # Ends this user's sessions everywhere, including any copy of this cookie.
        with db_session() as s:
            user = s.get(User, current_user.id)
            if user is not None:
                end_sessions(user)
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
