"""Programme routes: apply and read versions (admin), and the member ladder."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep
from trofast.kit.nul import NO_NUL
from trofast.member.access import MEMBER_RESPONSES, MemberAccess
from trofast.program import document, ladder, service
from trofast.program.schemas import AppliedOut, MemberOut, ValidationOut, VersionOut, VersionsOut

router = APIRouter(tags=["programme"])

Document = Annotated[
    dict[str, Any],
    Body(description="The programme document as JSON (see docs/programme.md)."),
]
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_programme: `detail.errors` lists path and reason"}
}


@router.get(
    "/v1/program",
    response_model=VersionOut,
    responses={**AUTH_RESPONSES, 404: {"description": "no_programme"}},
    summary="The programme in force",
)
def current(session: SessionDep, _key: AdminKey) -> VersionOut:
    program = service.require_active(session)
    return VersionOut.build(service.get_version(session, program.version))


@router.put(
    "/v1/program",
    response_model=AppliedOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        **AUTH_RESPONSES,
        **INVALID,
        200: {"description": "unchanged: the document equals the version in force"},
        409: {"description": "programme_changed_concurrently"},
    },
    summary="Apply a programme document as a new version",
)
def apply(
    body: Document,
    session: SessionDep,
    key: AdminKey,
    response: Response,
    note: Annotated[str | None, Query(max_length=500, pattern=NO_NUL)] = None,
) -> AppliedOut:
    programme = document.validate(body)
    applied = service.apply_programme(
        session, programme, _source(body), note=note, api_key_id=key.id
    )
    if not applied.created:
        response.status_code = status.HTTP_200_OK
    base = VersionOut.build(applied.row)
    return AppliedOut(**base.model_dump(), created=applied.created)


@router.post(
    "/v1/program/validate",
    response_model=ValidationOut,
    responses={**AUTH_RESPONSES, **INVALID},
    summary="Check a programme document without applying it",
)
def validate(body: Document, _key: AdminKey) -> ValidationOut:
    programme = document.validate(body)
    levels = len(programme.tiers.levels) if programme.tiers else 0
    return ValidationOut(valid=True, rules=len(programme.earning), levels=levels)


@router.get(
    "/v1/program/versions",
    response_model=VersionsOut,
    responses=AUTH_RESPONSES,
    summary="Programme versions, newest first",
)
def versions(
    session: SessionDep,
    _key: AdminKey,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> VersionsOut:
    rows = service.versions(session, limit)
    return VersionsOut(versions=[VersionOut.build(r, with_document=False) for r in rows])


@router.get(
    "/v1/program/versions/{version}",
    response_model=VersionOut,
    responses={**AUTH_RESPONSES, 404: {"description": "programme_version_not_found"}},
    summary="One programme version with its document",
)
def one_version(
    version: Annotated[int, Path(ge=1, le=2**31)], session: SessionDep, _key: AdminKey
) -> VersionOut:
    return VersionOut.build(service.get_version(session, version))


@router.get(
    "/v1/members/{customer_id}",
    response_model=MemberOut,
    responses={**MEMBER_RESPONSES, 404: {"description": "member_not_found"}},
    summary="A member's ladder: balance, tier, progress, points expiring soon "
    "(admin key or the member's own token)",
)
def member(
    customer_id: Annotated[int, Path(ge=1, le=2**62)],
    session: SessionDep,
    _caller: MemberAccess,
) -> MemberOut:
    return ladder.member(session, customer_id)


def _source(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2, sort_keys=False)
