"""Logging in: every page needs a user, CSRF on every form, throttled logins, safe cookies."""

from __future__ import annotations

import os
import stat

import pytest

from rollcall.web.security import load_secret_key

PAGES = [
    "/",
    "/live.json",
    "/sessions/",
    "/sessions/algebra-1",
    "/sessions/algebra-1/marks/Alice",
    "/sessions/algebra-1/evidence/Alice",
    "/sessions/algebra-1/export.csv",
    "/people/",
    "/people/new",
    "/people/Alice",
    "/unknowns/",
    "/unknowns/1/crop",
    "/courses/",
    "/courses/Algebra",
    "/reports/",
    "/reports/Algebra",
    "/reports/Algebra/export.xlsx",
]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_login(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "url",
    [
        "/sessions/algebra-1/marks/Alice",
        "/people/Alice/delete",
        "/unknowns/1/dismiss",
        "/courses/",
        "/courses/Algebra/roster",
    ],
)
def test_anonymous_posts_are_sent_to_login(client, url: str) -> None:
    assert client.post(url).status_code in (302, 400)


def test_login_and_logout(browser) -> None:
    b = browser()
    assert b.login("ada").status_code == 302
    page = b.get("/").get_data(as_text=True)
    assert "Dashboard" in page and "ada" in page
    assert b.post("/logout").status_code == 302
    assert b.get("/").status_code == 302


def test_wrong_password_is_refused(browser) -> None:
    b = browser()
    response = b.login("ada", "not the password")
    assert response.status_code == 401
    assert "wrong password" in response.get_data(as_text=True)
    assert b.login("nobody").status_code == 401


def test_login_redirects_only_to_local_pages(browser) -> None:
    b = browser()
    page = b.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for target, expected in [
        ("/courses/", "/courses/"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
    ]:
        b.client.post("/logout", data={"csrf_token": b.token})
        page = b.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = b.client.post(
            "/login",
            data={
                "name": "ada",
                "password": "correct horse battery",
                "csrf_token": token,
                "next": target,
            },
        )
        assert response.headers["Location"] == expected
        b.token = re.search(
            r'name="csrf_token" value="([^"]+)"', b.get("/").get_data(as_text=True)
        ).group(1)


def test_post_without_csrf_token_is_refused(browser) -> None:
    b = browser("ada")
    response = b.client.post(
        "/sessions/algebra-1/marks/Bob", data={"status": "present", "reason": "was there"}
    )
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    # The login form needs one too.
    assert browser().client.post("/login", data={"name": "ada", "password": "x"}).status_code == 400


def test_logins_are_throttled(browser) -> None:
    b = browser()
    codes = [b.login("ada", "wrong password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert b.login("ada").status_code == 429  # even the right password waits


def test_login_throttles_keep_no_key_per_name_for_good(app) -> None:  # noqa: ANN001
    """A security review: every login with a new name left two keys in the throttles for good,
    the refused ones (429, no password checked) included: memory grew without a login."""
    from tests.web.conftest import Browser

    kinds = ("rollcall.throttle", "rollcall.throttle.names", "rollcall.throttle.addresses")
    throttles = [app.extensions[k] for k in kinds]
    now = [1000.0]
    for throttle in throttles:
        throttle.clock = lambda: now[0]
    b = Browser(app.test_client())
    codes = [b.login(f"nobody-{i}", "x").status_code for i in range(300)]
    wide = 10 * app.config["LOGIN_ATTEMPTS"]
    assert codes == [401] * wide + [429] * (300 - wide)
    # Only the failures still in the window are held: a name and a name@address key each.
    assert sum(len(t._hits) for t in throttles) == 2 * wide + 1
    # Once they have left the window, their keys go too.
    now[0] += 2 * app.config["LOGIN_WINDOW_S"] + 1
    assert b.login("nobody-else", "x").status_code == 401
    assert sum(len(t._hits) for t in throttles) == 3


def test_session_cookie_is_httponly_and_samesite(browser) -> None:
    b = browser()
    page = b.get("/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = b.client.post(
        "/login", data={"name": "ada", "password": "correct horse battery", "csrf_token": token}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = b.client.get("/", base_url="https://portal.example")
    assert "Secure" in secure.headers.get("Set-Cookie", "Secure")
    assert "Strict-Transport-Security" in secure.headers


def test_security_headers(client) -> None:
    response = client.get("/login")
    h = response.headers
    assert "default-src 'self'" in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Cache-Control"] == "no-store"


def test_secret_key_is_generated_once_with_mode_0600(settings) -> None:
    first = load_secret_key(settings, env={})
    assert first == load_secret_key(settings, env={})
    path = settings.home / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = "k" * 40
    assert load_secret_key(settings, env={"ROLLCALL_SECRET_KEY": key}) == key


def test_nobody_elsewhere_can_lock_an_account_out(app) -> None:  # noqa: ANN001
    """A security review: five wrong passwords for 'ada' from five addresses (any spelling)
    kept ada out of the portal from her own desk. The strict limit is per address; a name
    guessed from everywhere meets a wider one."""
    from tests.web.conftest import Browser

    def browser_at(address: str) -> Browser:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return Browser(client)

    for i, spelling in enumerate(("ada", "ADA", "Ada", "ada ", "aDa")):
        assert browser_at(f"203.0.113.{i}").login(spelling, "guess").status_code == 401
    assert browser_at("192.0.2.7").login("ada").status_code == 302
    wide = 10 * app.config["LOGIN_ATTEMPTS"]
    for i in range(wide):
        browser_at(f"198.51.100.{i}").login("ada", "guess")
    assert browser_at("192.0.2.8").login("ada").status_code == 429  # guessed from everywhere


def test_the_password_form_does_not_allow_endless_guesses(browser) -> None:  # noqa: ANN001
    """A stolen session cookie must not buy unlimited guesses at the password behind it."""
    b = browser("ivy")
    form = {"current": "guess", "new": "a new long password 1", "confirm": "a new long password 1"}
    codes = [b.post("/account/password", form).status_code for _ in range(6)]
    assert codes == [400] * 5 + [429]


def test_a_removed_accounts_cookie_is_not_the_next_accounts(app) -> None:  # noqa: ANN001
    """A security review: SQLite gives a removed account's id to the next account made, and the
    removed account's browser (its cookie held that id and version 0, as every account made
    on the command line started) was logged in as the new one: an admin here."""
    from tests.web.conftest import PASSWORD, Browser

    from rollcall.storage.accounts import create_user, get_user, remove_user

    with app.extensions["rollcall"].db.session() as s:
        temp_id = create_user(s, "temp", PASSWORD, "instructor").id
    temp = Browser(app.test_client())
    assert temp.login("temp").status_code == 302
    assert temp.get("/admin/users").status_code == 403
    with app.extensions["rollcall"].db.session() as s:
        remove_user(s, get_user(s, "temp"))
    with app.extensions["rollcall"].db.session() as s:
        assert create_user(s, "boss", PASSWORD, "admin").id == temp_id  # the id is reused
    assert temp.get("/admin/users").status_code == 302  # to the login page, as nobody
    assert "boss" not in temp.get("/", follow_redirects=True).get_data(as_text=True)


def test_one_person_mistyping_does_not_keep_colleagues_at_the_address_out(app) -> None:  # noqa: ANN001
    """Staff behind a school's NAT share an address: five wrong passwords of one of them kept
    every colleague out for a minute (a security review). The strict limit is per name and
    address; guessing many names from one address meets a wider one."""
    from tests.web.conftest import Browser

    def at(address: str) -> Browser:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return Browser(client)

    codes = [at("203.0.113.9").login("ivy", "typo").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert at("203.0.113.9").login("ada").status_code == 302
    for i in range(10 * app.config["LOGIN_ATTEMPTS"]):
        at("203.0.113.10").login(f"someone-{i}", "guess")
    assert at("203.0.113.10").login("ada").status_code == 429  # a spray from one address
