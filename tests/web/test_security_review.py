"""Security review of every route in app.url_map: who may call it, CSRF, and logging out.

The table below classifies each endpoint; a route added without a row here fails
`test_every_route_is_classified`, so a new page or API call cannot slip past the checks.
Seeded data (see conftest.seed): ivy owns Algebra (session algebra-1, unknown face 1, evidence
of Alice); otto owns History only, so Algebra's things are "another course's" for him.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import func, select
from tests.web.conftest import _CSRF, PASSWORD

from rollcall.storage.accounts import create_token, get_user, set_password
from rollcall.storage.models import Person
from rollcall.storage.staff import AuditEntry

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Route:
    """How one endpoint must behave.

    kind: "public" (no login), "page" (login redirect), "api" (staff bearer token, else 401),
    "agent" (a capture agent's token only: staff tokens and login cookies get 401), "kiosk"
    (a kiosk screen's token only, from ?token= or its cookie: anything else gets 401) or "hook"
    (a webhook's URL token and the platform's signature: staff tokens and cookies get 401).
    scope: "public"; "any" (every staff user; listings are filtered); "own" (only admins and
    the course's instructors: 403 for another course's); "admin" (403 for instructors);
    "self" (every staff user, on their own account or on what they may see, named in the form:
    an empty form is refused or ignored, never a 403).
    hidden: for "any" listings, text of another course that an instructor must not see.
    refused: the status an "own" route gives another course's instructor (403; 404 where a
    403 would tell them the thing exists: a person enrolled only on courses they cannot see).
    """

    kind: str
    scope: str
    methods: frozenset[str]
    args: dict[str, object] = field(default_factory=dict)
    hidden: str | None = None
    refused: int = 403


def _r(
    kind: str,
    scope: str,
    methods: str,
    hidden: str | None = None,
    refused: int = 403,
    **args: object,
) -> Route:
    return Route(kind, scope, frozenset(methods.split()), args, hidden, refused)


ALGEBRA_1 = {"name": "algebra-1"}
ROUTES: dict[str, Route] = {
    # Allow-list: reachable without logging in.
    "static": _r("public", "public", "GET", filename="app.css"),
    "auth.login": _r("public", "public", "GET POST"),
    "api.openapi": _r("public", "public", "GET"),
    # Pages.
    "auth.logout": _r("page", "any", "POST"),
    "dashboard.index": _r("page", "any", "GET", hidden="algebra-1"),
    "dashboard.live": _r("page", "any", "GET", hidden="algebra-1"),
    "sessions.index": _r("page", "any", "GET", hidden="algebra-1"),
    "sessions.sheet": _r("page", "own", "GET", **ALGEBRA_1),
    "sessions.mark": _r("page", "own", "GET POST", person="Alice", **ALGEBRA_1),
    "sessions.evidence": _r("page", "own", "GET", person="Alice", **ALGEBRA_1),
    "sessions.event_crop": _r("page", "own", "GET", event_id=1, **ALGEBRA_1),
    "sessions.export": _r("page", "own", "GET", fmt="csv", **ALGEBRA_1),
    "people.index": _r("page", "admin", "GET"),
    "people.enroll": _r("page", "admin", "GET POST"),
    "people.detail": _r("page", "admin", "GET", name="Alice"),
    "people.remove": _r("page", "admin", "POST", name="Alice"),
    "unknowns.index": _r("page", "any", "GET", hidden="algebra-1"),
    "unknowns.crop": _r("page", "own", "GET", face_id=1),
    "unknowns.assign": _r("page", "own", "POST", face_id=1),
    "unknowns.dismiss": _r("page", "own", "POST", face_id=1),
    "courses.index": _r("page", "any", "GET", hidden="Algebra"),
    "courses.create": _r("page", "admin", "POST"),
    "courses.detail": _r("page", "own", "GET", name="Algebra"),
    "courses.roster": _r("page", "own", "POST", name="Algebra"),
    "courses.schedule": _r("page", "own", "POST", name="Algebra"),
    "courses.start_session": _r("page", "own", "POST", name="Algebra"),
    "courses.instructors": _r("page", "admin", "POST", name="Algebra"),
    "reports.index": _r("page", "any", "GET", hidden="Algebra"),
    "reports.course": _r("page", "own", "GET", name="Algebra"),
    "reports.export": _r("page", "own", "GET", name="Algebra", fmt="xlsx"),
    # The instructor's week: history, calendar, bulk work, alerts, admin tasks.
    "auth.password": _r("page", "self", "GET POST"),
    "history.person": _r("page", "own", "GET", name="Alice", refused=404),
    "sessions.bulk_edit": _r("page", "own", "POST", **ALGEBRA_1),
    "sessions.close": _r("page", "own", "POST", **ALGEBRA_1),
    "courses.term": _r("page", "own", "POST", name="Algebra"),
    "courses.remove": _r("page", "admin", "POST", name="Algebra"),
    "unknowns.dismiss_many": _r("page", "self", "POST"),
    "unknowns.enroll": _r("page", "admin", "GET POST", face_id=1),
    "unknowns.delete": _r("page", "admin", "POST", face_id=1),
    "alerts.index": _r("page", "any", "GET", hidden="algebra-1"),
    "alerts.message": _r("page", "own", "GET", message_id=1),
    "alerts.send": _r("page", "own", "POST"),
    "alerts.course": _r("page", "own", "GET POST", name="Algebra"),
    "people.details": _r("page", "admin", "POST", name="Alice"),
    "admin.users": _r("page", "admin", "GET"),
    "admin.create": _r("page", "admin", "POST"),
    "admin.active": _r("page", "admin", "POST", name="ivy"),
    "admin.email": _r("page", "admin", "POST", name="ivy"),
    "admin.reset": _r("page", "admin", "POST", name="ivy"),
    "admin.remove": _r("page", "admin", "POST", name="ivy"),
    "admin.tokens": _r("page", "admin", "GET"),
    "admin.revoke": _r("page", "admin", "POST", token_id=1),
    "agents.index": _r("page", "any", "GET", hidden="Room A-101"),
    "agents.create": _r("page", "self", "POST"),
    "agents.revoke": _r("page", "own", "POST", token_id=1),
    # The API (bearer tokens only).
    "api.sessions": _r("api", "any", "GET", hidden="algebra-1"),
    "api.attendance": _r("api", "own", "GET", **ALGEBRA_1),
    "api.head_counts": _r("api", "own", "GET", **ALGEBRA_1),
    "api.people": _r("api", "any", "GET", hidden="Alice"),
    # The capture agents' API (agent tokens only; their scope is tested in test_agent_api).
    "agent_api.open_session": _r("agent", "agent", "POST"),
    "agent_api.session_status": _r("agent", "agent", "GET", **ALGEBRA_1),
    "agent_api.upload_frame": _r("agent", "agent", "POST", **ALGEBRA_1),
    "agent_api.finish": _r("agent", "agent", "POST", **ALGEBRA_1),
    "agent_api.missed": _r("agent", "agent", "POST", **ALGEBRA_1),
    # Kiosk tokens, made by staff; the kiosk screens (kiosk tokens only; see test_kiosk).
    "kiosk_tokens.for_session": _r("page", "own", "GET POST", **ALGEBRA_1),
    "kiosk_tokens.for_course": _r("page", "own", "GET POST", name="Algebra"),
    "kiosk_tokens.revoke": _r("page", "own", "POST", token_id=1),
    "kiosk.page": _r("kiosk", "kiosk", "GET", **ALGEBRA_1),
    "kiosk.stream": _r("kiosk", "kiosk", "GET", **ALGEBRA_1),
    "kiosk.crop": _r("kiosk", "kiosk", "GET", what="mark", item_id=1, **ALGEBRA_1),
    # Online meetings: reports, proposals, the review list, people's meeting accounts.
    "meetings.upload": _r("page", "own", "POST", **ALGEBRA_1),
    "meetings.confirm_match": _r("page", "own", "POST", participant_id=1, **ALGEBRA_1),
    "meetings.remove_reports": _r("page", "own", "POST", **ALGEBRA_1),
    "meetings.review": _r("page", "own", "POST", **ALGEBRA_1),
    "meetings.review_list": _r("page", "any", "GET", hidden="algebra-1"),
    "meetings.person_accounts": _r("page", "admin", "POST", name="Alice"),
    "meetings.accounts_csv": _r("page", "admin", "POST"),
    "meetings.create_course_hook": _r("page", "own", "POST", name="Algebra"),
    "meetings.revoke_course_hook": _r("page", "own", "POST", name="Algebra", hook_id=1),
    # Platforms' live participant events (a hook's URL token and signature only; tested in
    # test_meeting_hooks).
    "hooks.zoom": _r("hook", "hook", "POST", token="rch_not-a-token"),
    "hooks.generic": _r("hook", "hook", "POST", token="rch_not-a-token"),
}
BEARER_KINDS = {"api", "agent", "hook"}
TOKEN_KINDS = {*BEARER_KINDS, "kiosk"}  # their own credentials: a login cookie is not one


def _methods(rule) -> frozenset[str]:  # noqa: ANN001
    return frozenset(rule.methods - IGNORED_METHODS)


def _cases(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method of the live url_map."""
    out = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            route = ROUTES.get(rule.endpoint)
            if route is None:
                continue  # reported by test_every_route_is_classified
            url = url_for(rule.endpoint, **route.args)
            out += [(rule.endpoint, m, url) for m in sorted(_methods(rule))]
    return out


def _request(client, method: str, url: str, data: dict | None = None, **kw):  # noqa: ANN001, ANN003, ANN202
    return client.open(url, method=method, data=data, **kw)


def _token(app: Flask, name: str) -> str:
    with app.extensions["rollcall"].db.session() as s:
        return create_token(s, get_user(s, name))


def test_every_route_is_classified(app: Flask) -> None:
    rules = {r.endpoint: _methods(r) for r in app.url_map.iter_rules()}
    unclassified = sorted(set(rules) - set(ROUTES))
    assert not unclassified, f"classify these new routes in ROUTES: {unclassified}"
    stale = sorted(set(ROUTES) - set(rules))
    assert not stale, f"ROUTES names endpoints that no longer exist: {stale}"
    changed = {e: sorted(m) for e, m in rules.items() if m != ROUTES[e].methods}
    assert not changed, f"these routes' methods changed; review and update ROUTES: {changed}"
    print(f"\nsecurity review: {len(rules)} routes, {len(_cases(app))} (route, method) pairs")


def test_anonymous_is_sent_to_login_or_refused(app: Flask) -> None:
    client = app.test_client()
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    checked = 0
    for endpoint, method, url in _cases(app):
        route = ROUTES[endpoint]
        # With a valid CSRF token, so that only the login check can stop the request.
        data = {"csrf_token": token} if method in STATE_CHANGING else None
        response = _request(client, method, url, data)
        where = f"anonymous {method} {url} ({endpoint})"
        if route.kind == "public":
            if not (endpoint == "auth.login" and method == "POST"):  # a login with no name: 401
                assert response.status_code == 200, where
        elif route.kind == "page":
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login?next="), where
        elif route.kind == "kiosk":
            assert response.status_code == 401, where
        else:
            assert response.status_code == 401, where
            assert response.get_json()["status"] == 401, where
        checked += 1
    # A browser's login cookie is not an API credential either.
    ada = app.test_client()
    _login(ada, "ada")
    for endpoint, method, url in _cases(app):
        if ROUTES[endpoint].kind in TOKEN_KINDS and ROUTES[endpoint].scope != "public":
            assert _request(ada, method, url).status_code == 401, url
            checked += 1
    # A staff API token is not an agent's, a kiosk's or a hook's credential, not even an admin's.
    bearer = {"Authorization": f"Bearer {_token(app, 'ada')}"}
    for endpoint, method, url in _cases(app):
        if ROUTES[endpoint].kind in ("agent", "kiosk", "hook"):
            assert _request(app.test_client(), method, url, headers=bearer).status_code == 401, url
            checked += 1
    print(f"\nanonymous checks: {checked}")


def test_a_kiosk_token_opens_its_kiosk_and_nothing_else(app: Flask) -> None:
    kiosk = app.config["SEED_KIOSK_TOKEN"]
    app.config["KIOSK_STREAM_SECONDS"] = 0  # one look at the session, then the stream ends
    checked = 0
    for endpoint, method, url in _cases(app):
        route = ROUTES[endpoint]
        client = app.test_client()
        where = f"kiosk token {method} {url} ({endpoint})"
        if route.kind == "kiosk":
            client.get(f"{url}?token={kiosk}")  # the token moves into the kiosk's cookie
            expected = 404 if endpoint == "kiosk.crop" else 200  # that crop is not on screen
            assert _request(client, method, url).status_code == expected, where
        elif route.kind == "page" and method == "GET":  # (a POST stops at its CSRF check)
            response = _request(client, method, f"{url}?token={kiosk}")
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login"), where
        elif route.kind in BEARER_KINDS:
            bearer = {"Authorization": f"Bearer {kiosk}"}
            assert _request(client, method, url, headers=bearer).status_code == 401, where
        checked += 1
    print(f"\nkiosk token checks: {checked}")


def _login(client, name: str) -> str:  # noqa: ANN001
    """Log `client` in as `name`; returns a CSRF token valid for its session."""
    token = _CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, name
    return _CSRF.search(client.get("/").get_data(as_text=True)).group(1)


def test_instructor_is_forbidden_other_courses_and_admin_routes(app: Flask) -> None:
    otto = app.test_client()
    csrf = _login(otto, "otto")
    bearer = {"Authorization": f"Bearer {_token(app, 'otto')}"}
    forbidden = filtered = 0
    for endpoint, method, url in _cases(app):
        route = ROUTES[endpoint]
        if route.scope in ("public", "agent", "kiosk", "hook") or endpoint == "auth.logout":
            continue
        headers = bearer if route.kind == "api" else {}
        data = {"csrf_token": csrf} if method in STATE_CHANGING else None
        response = _request(otto, method, url, data, headers=headers)
        where = f"otto {method} {url} ({endpoint})"
        if route.scope in ("own", "admin"):
            assert response.status_code == route.refused, (where, response.status_code)
            forbidden += 1
        elif route.scope == "self":
            assert response.status_code in (200, 302, 400), (where, response.status_code)
        else:
            assert response.status_code == 200, where
            assert route.hidden not in response.get_data(as_text=True), where
            filtered += 1
    # Nothing changed: the forbidden POSTs were refused before doing anything.
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(func.count(AuditEntry.id))) == 0
    print(f"\ninstructor checks: {forbidden} forbidden (403), {filtered} filtered listings")


@pytest.mark.parametrize("name", ["ivy", "ada"])
def test_owner_and_admin_may_read_what_others_may_not(app: Flask, name: str) -> None:
    """The positive control: the URLs above are real, so a 403 there means 'not yours'."""
    client = app.test_client()
    _login(client, name)
    bearer = {"Authorization": f"Bearer {_token(app, name)}"}
    for endpoint, method, url in _cases(app):
        route = ROUTES[endpoint]
        if method != "GET" or route.scope in ("public", "agent", "kiosk", "hook"):
            continue
        expected = 403 if (route.scope == "admin" and name != "ada") else 200
        headers = bearer if route.kind == "api" else {}
        assert client.get(url, headers=headers).status_code == expected, (name, url)


def test_every_state_changing_route_needs_a_csrf_token(app: Flask) -> None:
    assert app.config.get("WTF_CSRF_ENABLED", True), "the app under test must enforce CSRF"
    ada = app.test_client()
    _login(ada, "ada")
    checked = 0
    for endpoint, method, url in _cases(app):
        if method not in STATE_CHANGING:
            continue
        route = ROUTES[endpoint]
        if route.kind in BEARER_KINDS:
            # Exempt from CSRF because cookies are not credentials there (see above).
            assert _request(ada, method, url).status_code == 401, url
            checked += 1
            continue
        for data in (None, {"csrf_token": "forged"}, {"csrf_token": ""}):
            response = _request(ada, method, url, data)
            assert response.status_code == 400, (method, url, data, response.status_code)
            assert "reload the page" in response.get_data(as_text=True)
            checked += 1
    # Still logged in (logout was refused too) and nothing was changed or recorded.
    assert ada.get("/").status_code == 200
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(func.count(AuditEntry.id))) == 0
        assert s.scalar(select(Person).where(Person.name == "Alice")) is not None
    print(f"\nCSRF checks: {checked} refused requests")


def _cookie(client) -> str:  # noqa: ANN001
    return client.get_cookie("rollcall_session").value


def test_a_copied_session_cookie_dies_at_logout(app: Flask) -> None:
    victim = app.test_client()
    csrf = _login(victim, "ada")
    stolen = app.test_client()
    stolen.set_cookie("rollcall_session", _cookie(victim))
    assert stolen.get("/").status_code == 200  # the copy works while the session is open
    assert victim.post("/logout", data={"csrf_token": csrf}).status_code == 302
    response = stolen.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # Not for forms either, even with the token the page had given it.
    response = stolen.post(
        "/courses/", data={"name": "Stolen", "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    # A fresh login works again, and its cookie differs from the dead one.
    again = app.test_client()
    _login(again, "ada")
    assert again.get("/").status_code == 200


def test_a_new_password_ends_every_session(app: Flask) -> None:
    client = app.test_client()
    _login(client, "ivy")
    copy = app.test_client()
    copy.set_cookie("rollcall_session", _cookie(client))
    with app.extensions["rollcall"].db.session() as s:
        set_password(s, get_user(s, "ivy"), "a brand new password")
    for c in (client, copy):
        assert c.get("/sessions/").status_code == 302


def test_an_unversioned_cookie_is_refused(app: Flask) -> None:
    """A cookie forged without the version (e.g. signed with a leaked old key) is not enough."""
    client = app.test_client()
    _login(client, "ada")
    with client.session_transaction() as sess:
        sess.pop("_rollcall_version")
    assert client.get("/").status_code == 302
    assert re.match(r"^/login", client.get("/").headers["Location"])


def test_successful_logins_from_one_address_are_not_throttled(app: Flask) -> None:
    """Found by the load test: staff behind one NAT share an address; only failures count."""
    for _ in range(app.config["LOGIN_ATTEMPTS"] + 3):
        _login(app.test_client(), "ivy")  # asserts each one succeeds (302)
    guesser = app.test_client()
    token = _CSRF.search(guesser.get("/login").get_data(as_text=True)).group(1)
    codes = [
        guesser.post("/login", data={"name": "ada", "password": "guess", "csrf_token": token})
        for _ in range(app.config["LOGIN_ATTEMPTS"] + 1)
    ]
    assert [c.status_code for c in codes][-1] == 429


def test_ids_and_dates_out_of_range_are_refused_not_errors(browser) -> None:  # noqa: ANN001
    """A roles review: an id of 10**23 in an address, or a report from the year 1, was an
    OverflowError (a 500) instead of a 404 or a 400."""
    ada = browser("ada")
    huge = "99999999999999999999999"
    for url in (f"/unknowns/{huge}/crop", f"/alerts/{huge}",
                f"/sessions/algebra-1/events/{huge}/crop"):  # fmt: skip
        assert ada.get(url).status_code == 404, url
    assert ada.post(f"/unknowns/{huge}/assign", {"person": "Alice"}).status_code == 404
    assert ada.get("/reports/Algebra/export.csv?from=0001-01-01").status_code == 400
    assert ada.get("/reports/Algebra?to=9999-12-31").status_code == 302  # the page, dates out
    assert ada.get("/courses/Algebra?from=0001-01-01").status_code == 302
