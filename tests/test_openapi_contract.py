"""Schemathesis over the whole OpenAPI document: every response the app gives is
documented, well-formed and never a server error.

The operations are driven one by one through Hypothesis (schemathesis' pytest plugin does
not support the pytest version we run), each on the rolled-back test database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_key
from trofast.app import create_app
from trofast.auth.scopes import Scope
from trofast.config import Settings, get_settings

# These bodies carry rules JSON Schema cannot state (a phone number must exist, an amount
# may have no more decimals than its currency, a customer needs one identity key), so a
# schema-valid body may rightly get a documented 422; every other check still applies.
# The same for the RFM query, whose `since` must come before `at`, and for a programme
# document, which is taken as any JSON object and checked by its own validator (a 400
# `invalid_programme` with paths and reasons, documented on both operations), and for the
# till's member lookup, which takes exactly one of its four optional selectors, and for the
# merchant's CSVs (a string to the schema; months, days and amounts to the reader, which
# answers a documented 422 `invalid_csv` naming the cell).
SEMANTIC_BODIES = {
    "POST /v1/events",
    "POST /v1/pos/receipts",
    "POST /v1/members",
    "POST /v1/pos/members",
    "GET /v1/pos/members/lookup",
    "GET /v1/analytics/rfm",
    "PUT /v1/analytics/marketing-spend",
    "PUT /v1/analytics/sessions",
    "PUT /v1/program",
    "POST /v1/program/validate",
}


def _operations() -> list[str]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(get_settings()))
    return sorted(f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations())


@pytest.mark.parametrize("label", _operations())
def test_operation_matches_its_schema(label: str, settings: Settings, db_session: Session) -> None:
    app = create_app(settings, engine=db_session.get_bind())  # type: ignore[arg-type]
    app.state.sessionmaker = sessionmaker(
        bind=db_session.connection(), join_transaction_mode="create_savepoint"
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {make_key(db_session, Scope.admin)}"}

    @given(case=operation.as_strategy())
    @hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        excluded = [positive_data_acceptance] if label in SEMANTIC_BODIES else []
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()
