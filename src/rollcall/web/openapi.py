"""The OpenAPI 3.1 description of /api/v1, served without a token at /api/v1/openapi.json."""

from __future__ import annotations

from rollcall import __version__

_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
}
_HEAD_COUNT = {
    "type": "object",
    "required": ["t", "count", "recognized", "unknown", "verified"],
    "properties": {
        "t": {"type": "number", "description": "seconds from the session's start"},
        "count": {"type": "integer", "description": "faces counted"},
        "recognized": {"type": "integer"},
        "unknown": {"type": "integer"},
        "verified": {"type": "boolean", "description": "identities were verified at this sample"},
    },
}
# Every object lists the keys the API always sends as required, so that schemathesis's
# conformance check (tests/web/test_schemathesis.py) notices a key going missing.
_ENTRY = {
    "type": "object",
    "required": [
        "person",
        "status",
        "first_seen",
        "last_seen",
        "minutes_present",
        "confidence",
        "edited",
    ],
    "properties": {
        "person": {"type": "string"},
        "status": {"type": "string", "enum": ["present", "late", "left_early", "absent"]},
        "first_seen": {"type": ["number", "null"]},
        "last_seen": {"type": ["number", "null"]},
        "minutes_present": {"type": "number"},
        "confidence": {"type": "number"},
        "edited": {"type": "boolean", "description": "set by staff, not by the camera"},
    },
}


# Sessions a page of /sessions holds by default and at most: a school's years of sessions in
# one response would take the server's memory and the client's patience. (Here, in the
# contract, and read by the API that enforces it.)
SESSIONS_PAGE, SESSIONS_PAGE_MAX = 500, 1000
MAX_OFFSET = 1_000_000_000  # far past any real list, and within every database's integers
SESSIONS_QUERY = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": SESSIONS_PAGE_MAX,
            "default": SESSIONS_PAGE,
        },
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    },
    {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "Only sessions whose session or course name contains this",
        "schema": {"type": "string"},
    },
]


def _get(summary: str, schema: dict, params: list | None = None) -> dict:
    op = {
        "summary": summary,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
            **_ERRORS,
        },
    }
    if params:
        op["parameters"] = params
    if any(p["in"] == "query" for p in params or []):
        op["responses"]["400"] = {"$ref": "#/components/responses/Error"}  # a bad query value
    return {"get": op}


def document(server: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rollcall API",
            "version": __version__ if isinstance(__version__, str) else "1",
            "description": "Attendance and head counts. Send `Authorization: Bearer TOKEN`; "
            "create a token with `rollcall token create USER`. Instructors' tokens see only "
            "their own courses.",
        },
        "servers": [{"url": f"{server}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/sessions": _get(
                "Sessions, newest first, a page at a time: X-Total-Count gives the number of "
                'matches and a Link header with rel="next" the next page while there is one',
                {"type": "array", "items": {"$ref": "#/components/schemas/SessionSummary"}},
                SESSIONS_QUERY,
            ),
            "/sessions/{name}/attendance": _get(
                "A session's report: the same JSON as `rollcall report --json`",
                {"$ref": "#/components/schemas/SessionReport"},
                [_NAME],
            ),
            "/sessions/{name}/head-counts": _get(
                "A session's head-count timeline",
                {
                    "type": "object",
                    "required": ["session", "head_counts"],
                    "properties": {
                        "session": {"type": "string"},
                        "head_counts": {"type": "array", "items": _HEAD_COUNT},
                    },
                },
                [_NAME],
            ),
            "/people": _get(
                "Enrolled people with their template counts",
                {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Unauthorized": {
                    "description": "Missing or invalid token",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
                "Error": {
                    "description": "Not allowed or not found",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
                "SessionSummary": {
                    "type": "object",
                    "required": ["session", "course", "started_at", "state", "duration"],
                    "properties": {
                        "session": {"type": "string"},
                        "course": {"type": ["string", "null"]},
                        "started_at": {"type": "string", "format": "date-time"},
                        "state": {
                            "type": "string",
                            "enum": ["running", "interrupted", "closed"],
                        },
                        "duration": {"type": ["number", "null"]},
                    },
                },
                "SessionReport": {
                    "type": "object",
                    "required": ["session", "started_at", "state", "head_counts", "attendance"],
                    "properties": {
                        "session": {"type": "string"},
                        "started_at": {"type": "string", "format": "date-time"},
                        "timezone": {"type": "string"},
                        "started_at_local": {"type": "string", "format": "date-time"},
                        "state": {"type": "string"},
                        "course": {"type": ["string", "null"]},
                        "head_counts": {"type": "array", "items": _HEAD_COUNT},
                        "attendance": {"type": "array", "items": _ENTRY},
                    },
                },
                "Person": {
                    "type": "object",
                    "required": ["name", "templates", "created_at"],
                    "properties": {
                        "name": {"type": "string"},
                        "templates": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    }
