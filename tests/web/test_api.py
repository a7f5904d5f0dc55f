"""The JSON API: bearer tokens, the report contract, role scoping, the OpenAPI document."""

from __future__ import annotations

import pytest
from tests.web.conftest import closed_session

from rollcall.attendance.report import build_report
from rollcall.storage.accounts import create_token, get_user
from rollcall.storage.sessions import require_session

ENDPOINTS = [
    "/api/v1/sessions",
    "/api/v1/sessions/algebra-1/attendance",
    "/api/v1/sessions/algebra-1/head-counts",
    "/api/v1/people",
]


def token_for(app, name: str) -> str:
    with app.extensions["rollcall"].db.session() as s:
        return create_token(s, get_user(s, name))


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize("header", [None, "Bearer", "Bearer rc_wrong", "Basic YWRhOng=", "rc_x"])
def test_missing_or_bad_token_is_401(client, url: str, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_logged_in_browser_session_is_not_an_api_token(browser) -> None:
    assert browser("ada").get("/api/v1/sessions").status_code == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_valid_token_is_200(app, client, url: str) -> None:
    token = token_for(app, "ada")
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_attendance_has_the_report_json_shape(app, client) -> None:
    token = token_for(app, "ivy")
    got = client.get(
        "/api/v1/sessions/algebra-1/attendance", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    with app.extensions["rollcall"].db.session() as s:
        expected = build_report(s, require_session(s, "algebra-1")).to_json()
    assert got == expected
    counts = client.get(
        "/api/v1/sessions/algebra-1/head-counts", headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert counts == {"session": "algebra-1", "head_counts": expected["head_counts"]}


def test_tokens_see_what_their_user_sees(app, client) -> None:
    otto = {"Authorization": f"Bearer {token_for(app, 'otto')}"}
    ivy = {"Authorization": f"Bearer {token_for(app, 'ivy')}"}
    assert client.get("/api/v1/sessions", headers=otto).get_json() == []
    assert [s["session"] for s in client.get("/api/v1/sessions", headers=ivy).get_json()] == [
        "algebra-1"
    ]
    assert client.get("/api/v1/sessions/algebra-1/attendance", headers=otto).status_code == 403
    assert client.get("/api/v1/sessions/nope/attendance", headers=ivy).status_code == 404
    assert [p["name"] for p in client.get("/api/v1/people", headers=otto).get_json()] == ["Bob"]


def test_only_the_token_digest_is_stored(app) -> None:
    from sqlalchemy import select

    from rollcall.storage.staff import ApiToken

    token = token_for(app, "ada")
    with app.extensions["rollcall"].db.session() as s:
        stored = s.scalars(select(ApiToken.token_sha256)).all()
    assert token not in stored and len(stored[0]) == 64


def test_openapi_is_public_and_describes_every_endpoint(client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/sessions",
        "/sessions/{name}/attendance",
        "/sessions/{name}/head-counts",
        "/people",
    }
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_sessions_come_a_page_at_a_time(app, client) -> None:
    from datetime import UTC, datetime, timedelta

    with app.extensions["rollcall"].db.session() as s:
        first = datetime(2026, 4, 1, 9, tzinfo=UTC)
        for i in range(5):
            s.add(closed_session(f"seminar-{i}", first + timedelta(days=i), source="camera:0"))
    ada = {"Authorization": f"Bearer {token_for(app, 'ada')}"}
    everything = client.get("/api/v1/sessions", headers=ada)
    assert everything.headers["X-Total-Count"] == "7" and "Link" not in everything.headers
    names, url = [], "/api/v1/sessions?limit=3"
    while url:
        page = client.get(url, headers=ada)
        assert page.status_code == 200 and len(page.get_json()) <= 3
        names += [row["session"] for row in page.get_json()]
        link = page.headers.get("Link")
        url = link[link.index("/api/") : link.index(">")] if link else None
    assert names == [row["session"] for row in everything.get_json()]  # each once, in order
    assert names[:5] == [f"seminar-{i}" for i in range(4, -1, -1)]  # newest first
    found = client.get("/api/v1/sessions?q=seminar-3", headers=ada)
    assert [r["session"] for r in found.get_json()] == ["seminar-3"]
    assert found.headers["X-Total-Count"] == "1"
    for bad in ("limit=0", "limit=5000", "limit=ten", "offset=-1"):
        response = client.get(f"/api/v1/sessions?{bad}", headers=ada)
        assert response.status_code == 400, bad
