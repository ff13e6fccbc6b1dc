"""Schemathesis against our own OpenAPI schema (drf-spectacular): no server error, no response off its schema.

Every operation in ``/api/schema/`` gets stateless property-based tests (Hypothesis generates
path ids, query strings and bodies from the schema, valid and invalid), sent through Django's
WSGI handler in-process as a signed-in customer and as a signed-in tradesperson (token
authentication).  Checks: ``not_a_server_error`` (no 5xx) and ``response_schema_conformance``
and ``content_type_conformance`` (a documented response matches its schema).  Status codes the
schema does not list are not failures here (DRF's 400/403/404 are documented once, in the error
shape, not per operation).

``SCHEMATHESIS_MAX_EXAMPLES`` (default 12 per operation and role) bounds the run; the total number
of generated cases is printed at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from marketplace.accounts.models import User
from marketplace.accounts.services import api_token_create
from tests.factories import TradeFactory, post_job, pro

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
CASES: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_case_count(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    operations = len({key.split(" as ")[0] for key in CASES})
    roles = len({key.split(" as ")[1] for key in CASES})
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and CASES:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\nschemathesis: {sum(CASES.values())} generated cases over {operations} operations, {roles} role(s)")


@pytest.fixture(autouse=True)
def _in_process_wsgi() -> Iterator[None]:
    """Keep the test's connection (and transaction) open across requests, as django.test.Client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def load_schema() -> Any:
    """The schema /api/schema/ serves, generated in-process (collection time, no database), bound to Django's WSGI app."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))
    loaded.app = WSGIHandler()
    return loaded


@pytest.fixture
def tokens(db: None) -> dict[str, str]:
    """A customer with a job and a tradesperson with a profile covering it, each with an API token."""
    TradeFactory(slug="plumbing", name="Plumbing")
    customer = User.objects.create_user("fuzz_customer", password="pw-123456-x", role=User.Role.CUSTOMER)
    trader = pro("fuzz_trader", at=(Decimal("51.5"), Decimal("-0.12")))
    post_job(customer)
    return {"customer": api_token_create(user=customer)[1], "tradesperson": api_token_create(user=trader)[1]}


schema = load_schema()
SETTINGS = hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases every run: a CI failure reproduces locally
    database=None,
    # Generation only: schemathesis's explicit "coverage" examples add ~70 boundary cases per operation and role
    # (over 10,000 in all, 4 minutes here); SCHEMATHESIS_COVERAGE=1 turns them on.  No shrinking either.
    phases=[Phase.explicit, Phase.generate] if os.environ.get("SCHEMATHESIS_COVERAGE") else [Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def run(case: Any, role: str, tokens: dict[str, str]) -> None:
    key = f"{case.operation.method.upper()} {case.operation.path} as {role}"
    CASES[key] = CASES.get(key, 0) + 1
    case.call_and_validate(headers={"Authorization": f"Token {tokens[role]}"}, checks=CHECKS)


# One test per role (schemathesis's lazy, fixture-based schema does not work with pytest 9: it sets Node._nodeid).
@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema_as_a_customer(case: Any, db: None, tokens: dict[str, str]) -> None:
    run(case, "customer", tokens)


@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema_as_a_tradesperson(case: Any, db: None, tokens: dict[str, str]) -> None:
    run(case, "tradesperson", tokens)


# --- regressions for what the fuzzing found --------------------------------------------------


def test_an_unmatched_api_url_answers_the_json_error_shape(client, db: None) -> None:
    response = client.get("/api/jobs/-1/")  # no route matches a negative id: Django's 404, not a view's
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")  # pages keep the HTML page


def test_options_is_refused_not_a_server_error(client, customer) -> None:
    client.force_login(customer)
    response = client.options("/api/jobs/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_hours_and_awarded_bid_are_documented_as_answered() -> None:
    document = SchemaGenerator().get_schema(request=None, public=True)
    components = json.loads(OpenApiJsonRenderer().render(document))["components"]["schemas"]
    assert components["Hours"]["properties"]["start"]["pattern"] == r"^\d{2}:\d{2}(:\d{2})?$"
    assert components["JobOutput"]["properties"]["awarded_bid"]["nullable"] is True
