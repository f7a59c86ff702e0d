"""The programme API (apply, validate, versions) and the member ladder."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.ingest.factories import order_body
from trofast.kit.time import utc_now
from trofast.ledger import service as ledger
from trofast.models import ProgrammeVersion

DOCUMENT: dict[str, Any] = {
    "name": "Klubben",
    "currency": "NOK",
    "pending": {"return_window_days": 14},
    "earning": [
        {"id": "base", "kind": "spend", "rates": {"NOK": 1}},
        {"id": "welcome", "kind": "first_order", "points": 100},
        {"id": "review", "kind": "action", "action": "product_review", "points": 50},
    ],
    "tiers": {
        "metric": "points",
        "period": "calendar_year",
        "levels": [
            {"id": "base", "name": "Base", "threshold": 0},
            {"id": "silver", "name": "Silver", "threshold": 1000, "retain": 800},
            {"id": "gold", "name": "Gold", "threshold": 5000, "multiplier": 2,
             "free_shipping": True, "rewards": ["lounge"]},
        ],
    },
    "rewards": [{"id": "lounge", "name": "Lounge evening", "kind": "custom", "cost": 2000}],
}  # fmt: skip
Headers = dict[str, str]


def _versions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProgrammeVersion)) or 0


def test_applying_a_programme_creates_version_one_and_again_changes_nothing(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    first = app_client.put("/v1/program?note=launch", json=DOCUMENT, headers=admin_headers)
    again = app_client.put("/v1/program", json=DOCUMENT, headers=admin_headers)

    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["version"], body["name"], body["note"], body["created"]) == (
        1, "Klubben", "launch", True,
    )  # fmt: skip
    assert body["document"]["earning"][0] == {
        "id": "base", "kind": "spend", "rates": {"NOK": "1"},
        "description": None, "channels": None, "stores": None,
    }  # fmt: skip
    assert again.status_code == 200
    assert (again.json()["version"], again.json()["created"]) == (1, False)
    assert again.json()["sha256"] == body["sha256"]
    assert _versions(db_session) == 1


def test_a_changed_document_is_a_new_version_listed_newest_first(
    app_client: TestClient, admin_headers: Headers
) -> None:
    app_client.put("/v1/program", json=DOCUMENT, headers=admin_headers)
    changed = app_client.put(
        "/v1/program", json={**DOCUMENT, "name": "Klubben 2"}, headers=admin_headers
    )

    assert (changed.status_code, changed.json()["version"]) == (201, 2)
    current = app_client.get("/v1/program", headers=admin_headers).json()
    assert (current["version"], current["name"]) == (2, "Klubben 2")
    listed = app_client.get("/v1/program/versions", headers=admin_headers).json()["versions"]
    assert [(v["version"], v["name"], v["document"]) for v in listed] == [
        (2, "Klubben 2", None),
        (1, "Klubben", None),
    ]
    one = app_client.get("/v1/program/versions/1", headers=admin_headers).json()
    assert (one["version"], one["document"]["name"]) == (1, "Klubben")
    limited = app_client.get("/v1/program/versions?limit=1", headers=admin_headers).json()
    assert [v["version"] for v in limited["versions"]] == [2]


def test_an_invalid_document_is_400_with_paths_and_nothing_is_written(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    bad = {
        **DOCUMENT,
        "earning": [*DOCUMENT["earning"], {"id": "bday", "kind": "birthday", "points": 0}],
        "tiers": {**DOCUMENT["tiers"], "levels": [
            {"id": "base", "name": "Base", "threshold": 0},
            {"id": "silver", "name": "Silver", "threshold": 1000, "retain": 1200},
        ]},
    }  # fmt: skip

    response = app_client.put("/v1/program", json=bad, headers=admin_headers)

    assert response.status_code == 400
    assert response.json() == {
        "error": "the programme has 2 problem(s)",
        "code": "invalid_programme",
        "detail": {
            "errors": [
                {
                    "path": "earning[3].points",
                    "reason": "Input should be greater than or equal to 1",
                },
                {"path": "tiers.levels[1].retain", "reason": "retain must not exceed threshold"},
            ]
        },
    }
    assert _versions(db_session) == 0


def test_validate_checks_without_applying(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    ok = app_client.post("/v1/program/validate", json=DOCUMENT, headers=admin_headers)
    bad = app_client.post(
        "/v1/program/validate",
        json={**DOCUMENT, "expiry": {"policy": "lot"}},
        headers=admin_headers,
    )

    assert (ok.status_code, ok.json()) == (200, {"valid": True, "rules": 3, "levels": 3})
    assert bad.status_code == 400
    assert bad.json()["detail"]["errors"] == [
        {"path": "expiry.months", "reason": "expiry policy 'lot' needs months"}
    ]
    assert _versions(db_session) == 0


YAML = """# Klubben: launched for the spring campaign
name: Klubben
currency: NOK
earning:
  - id: base
    kind: spend
    rates: {NOK: 1}   # one point per krone
"""


def test_a_yaml_document_applies_like_the_cli_and_keeps_its_comments(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    yaml_headers = {**admin_headers, "content-type": "application/yaml"}

    checked = app_client.post("/v1/program/validate", content=YAML, headers=yaml_headers)
    applied = app_client.put("/v1/program", content=YAML, headers=yaml_headers)
    as_json = app_client.put(
        "/v1/program",
        json={"name": "Klubben", "currency": "NOK",
              "earning": [{"id": "base", "kind": "spend", "rates": {"NOK": 1}}]},
        headers=admin_headers,
    )  # fmt: skip

    assert (checked.status_code, checked.json()) == (200, {"valid": True, "rules": 1, "levels": 0})
    assert applied.status_code == 201, applied.text
    assert applied.json()["source"] == YAML
    assert applied.json()["document"]["earning"][0]["rates"] == {"NOK": "1"}
    # The same programme sent as JSON is the version in force, unchanged.
    assert (as_json.status_code, as_json.json()["created"]) == (200, False)
    one = app_client.get("/v1/program/versions/1", headers=admin_headers).json()
    assert one["source"] == YAML
    listed = app_client.get("/v1/program/versions", headers=admin_headers).json()
    assert listed["versions"][0]["source"] is None
    assert _versions(db_session) == 1


def test_bad_yaml_is_400_with_the_parser_reason_and_nothing_is_written(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    yaml_headers = {**admin_headers, "content-type": "text/yaml; charset=utf-8"}

    broken = app_client.put("/v1/program", content="name: [Klubben\n", headers=yaml_headers)
    invalid = app_client.put(
        "/v1/program", content=YAML.replace("NOK: 1", "NOK: -1"), headers=yaml_headers
    )
    not_utf8 = app_client.put(
        "/v1/program", content="name: Kl\xfcbben\n".encode("latin-1"), headers=yaml_headers
    )

    assert (broken.status_code, broken.json()["code"]) == (400, "invalid_programme")
    assert broken.json()["error"] == "the document is not valid YAML"
    [problem] = broken.json()["detail"]["errors"]
    assert problem["path"] == ""
    assert "line 2" in problem["reason"]
    assert (invalid.status_code, invalid.json()["detail"]["errors"][0]["path"]) == (
        400, "earning[0].rates.NOK",
    )  # fmt: skip
    assert (not_utf8.status_code, not_utf8.json()["code"]) == (400, "invalid_programme")
    assert not_utf8.json()["detail"]["errors"] == [{"path": "", "reason": "invalid byte at 8"}]
    assert _versions(db_session) == 0


def test_a_document_in_another_media_type_is_415_and_a_json_list_is_400(
    app_client: TestClient, admin_headers: Headers, db_session: Session
) -> None:
    form = app_client.put(
        "/v1/program",
        content=YAML,
        headers={**admin_headers, "content-type": "application/x-www-form-urlencoded"},
    )
    a_list = app_client.put("/v1/program", json=[DOCUMENT], headers=admin_headers)

    assert form.status_code == 415
    assert form.json()["code"] == "unsupported_media_type"
    assert form.json()["detail"]["content_type"] == "application/x-www-form-urlencoded"
    assert (a_list.status_code, a_list.json()["code"]) == (400, "invalid_programme")
    assert _versions(db_session) == 0


def test_a_caller_without_a_key_is_401_before_the_body_is_read(
    app_client: TestClient, db_session: Session
) -> None:
    response = app_client.put("/v1/program", content=b"\xff", headers={"content-type": "text/csv"})

    assert (response.status_code, response.json()["code"]) == (401, "missing_api_key")
    assert _versions(db_session) == 0


def test_missing_programme_version_and_member_are_404_with_their_codes(
    app_client: TestClient, admin_headers: Headers
) -> None:
    assert app_client.get("/v1/program", headers=admin_headers).json()["code"] == "no_programme"
    missing = app_client.get("/v1/program/versions/7", headers=admin_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "programme_version_not_found")
    assert missing.json()["detail"] == {"version": 7}
    member = app_client.get("/v1/members/424242", headers=admin_headers)
    assert (member.status_code, member.json()["code"]) == (404, "member_not_found")


@pytest.mark.parametrize("who", ["ingest_headers", "storefront_headers"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/program"),
        ("PUT", "/v1/program"),
        ("POST", "/v1/program/validate"),
        ("GET", "/v1/program/versions"),
        ("GET", "/v1/program/versions/1"),
        ("GET", "/v1/members/1"),
    ],
)
def test_only_admin_keys_reach_the_programme(
    app_client: TestClient,
    db_session: Session,
    request: pytest.FixtureRequest,
    who: str,
    method: str,
    path: str,
) -> None:
    headers: Headers = request.getfixturevalue(who)

    response = app_client.request(method, path, json=DOCUMENT, headers=headers)

    assert (response.status_code, response.json()["code"]) == (403, "insufficient_scope")
    assert _versions(db_session) == 0


def _recently(days: int) -> str:
    return (utc_now().replace(microsecond=0) - timedelta(days=days)).isoformat()


def test_the_ladder_shows_balance_tier_progress_expiring_points_and_history(
    app_client: TestClient, admin_headers: Headers, ingest_headers: Headers, db_session: Session
) -> None:
    app_client.put("/v1/program", json=DOCUMENT, headers=admin_headers)
    paid = _recently(2)
    events = [
        order_body(placed_at=paid, updated_at=paid),  # 1,178 + 100 welcome, pending 14 days
        {
            "idempotency_key": "review:1",
            "type": "action.completed",
            "occurred_at": paid,
            "customer": {"email": "kari@example.no"},
            "action": "product_review",
            "reference": "review-1",
        },
    ]
    results = app_client.post("/v1/events", json={"events": events}, headers=ingest_headers)
    assert results.status_code == 200, results.text
    member = results.json()["results"][0]["customer_id"]
    now = utc_now()
    for days, points in ((20, 30), (50, 40), (80, 60)):
        ledger.earn(db_session, member, f"soon:{days}", points,
                    expires_at=now + timedelta(days=days), now=now)  # fmt: skip
    db_session.flush()

    response = app_client.get(f"/v1/members/{member}", headers=admin_headers)

    assert response.status_code == 200, response.text
    ladder = response.json()
    assert (ladder["customer_id"], ladder["is_member"], ladder["programme_version"]) == (
        member, True, 1,  # automatic enrolment: a member without opting in
    )  # fmt: skip
    balance = ladder["balance"]
    assert (balance["pending"], balance["available"], balance["lifetime_earned"]) == (
        1278, 180, 1458,
    )  # fmt: skip
    assert (balance["expiring_30_days"], balance["expiring_60_days"]) == (30, 70)
    assert balance["expiring_90_days"] == 130
    tier = ladder["tier"]
    assert (tier["level"]["id"], tier["metric"], tier["period"]) == (
        "silver", "points", "calendar_year",
    )  # fmt: skip
    # 1,278 + 50 + 130 points this year; Gold at 5,000 → 3,542 to go.
    assert (tier["value"], tier["next_level"]["id"], tier["to_next"]) == (1458, "gold", 3542)
    assert tier["next_level"] == {
        "id": "gold", "name": "Gold", "threshold": 5000, "multiplier": "2",
        "free_shipping": True, "rewards": ["lounge"],
    }  # fmt: skip
    assert datetime.fromisoformat(tier["review_at"]).year == now.year + 1
    assert [
        (c["from_level"], c["to_level"], c["direction"], c["reason"], c["value"])
        for c in ladder["tier_history"]
    ] == [(None, "silver", "up", "qualified", 1278)]
