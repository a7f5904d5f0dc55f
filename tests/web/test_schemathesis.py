"""Property-based API tests from our own OpenAPI document (schemathesis, in-process WSGI).

For every operation in /api/v1/openapi.json schemathesis generates parameters (valid and not),
calls the Flask app with an admin's bearer token, and checks: no 5xx, the status code and
content type are documented, the body conforms to the documented schema, and the operation
refuses a request without the token. Examples are bounded so the module runs in well under
a minute; `pytest -s` prints how many cases ran.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from rollcall.storage.accounts import create_token, get_user

CASES: Counter = Counter()


@pytest.fixture
def bearer(app) -> dict[str, str]:  # noqa: ANN001
    with app.extensions["rollcall"].db.session() as s:
        return {"Authorization": f"Bearer {create_token(s, get_user(s, 'ada'))}"}


@pytest.fixture
def api_schema(app):  # noqa: ANN001, ANN201
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def _report():  # noqa: ANN202
    yield
    total = sum(CASES.values())
    print(f"\nschemathesis: {total} cases, {dict(sorted(CASES.items()))}")


OPERATIONS = [
    "GET /people",
    "GET /sessions",
    "GET /sessions/{name}/attendance",
    "GET /sessions/{name}/head-counts",
]
BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_documented_operation_is_tested(api_schema) -> None:  # noqa: ANN001
    labels = sorted(r.ok().label for r in api_schema.get_all_operations())
    assert labels == sorted(OPERATIONS), "list new API operations in OPERATIONS"


# schemathesis's pytest integration (from_fixture) does not run under pytest 9, so each
# operation's case strategy is driven with Hypothesis directly: the same generation and checks.
@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(
    api_schema,
    bearer: dict[str, str],
    label: str,
    mode: GenerationMode,  # noqa: ANN001
) -> None:
    operation = api_schema.find_operation_by_label(label)

    @BOUNDED
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:  # noqa: ANN001
        # A negative case may be the request without its token (the security scheme's
        # "required" broken): send it as generated, it must be refused (401). Every other
        # case carries a generated Authorization header, replaced by a real admin token.
        tokenless = mode == GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {})
        response = case.call_and_validate(headers=None if tokenless else bearer)
        CASES[f"{mode.value} {label} {response.status_code}"] += 1
        assert response.status_code < 500

    run()


def test_known_session_is_found_and_conforms(app, bearer: dict[str, str]) -> None:  # noqa: ANN001
    """Random names mostly miss (404): check the seeded session's real report too."""
    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    for path in ("/sessions/{name}/attendance", "/sessions/{name}/head-counts"):
        case = loaded[path]["GET"].Case(path_parameters={"name": "algebra-1"})
        response = case.call_and_validate(headers=bearer)
        assert response.status_code == 200
        CASES[f"GET {path} (algebra-1) {response.status_code}"] += 1
