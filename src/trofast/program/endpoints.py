"""Programme routes: apply and read versions (admin), and the member ladder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from trofast.auth.dependencies import AUTH_RESPONSES, AdminKey
from trofast.deps import SessionDep, SettingsDep
from trofast.errors import UnsupportedMediaType
from trofast.ingest.http import read_body
from trofast.kit.nul import NO_NUL
from trofast.member.access import MEMBER_RESPONSES, MemberAccess
from trofast.program import document, ladder, service
from trofast.program.schemas import AppliedOut, MemberOut, ValidationOut, VersionOut, VersionsOut

router = APIRouter(tags=["programme"])

# The API takes the document in either format `trofast program apply` reads. The text is
# stored as sent, so a YAML document keeps the merchant's comments in the version's source.
_FORMATS: dict[str, Literal["yaml", "json"]] = {
    "application/json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
}
_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The programme document (docs/programme.md), as JSON or YAML.",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
INVALID: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_programme: `detail.errors` lists path and reason"},
    413: {"description": "payload_too_large"},
    415: {"description": "unsupported_media_type: send application/json or application/yaml"},
}


@dataclass(frozen=True, slots=True)
class Submitted:
    """A document as sent, not yet decoded nor validated, and its format."""

    body: bytes
    fmt: Literal["yaml", "json"]


async def _submitted(request: Request, settings: SettingsDep) -> Submitted:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _FORMATS.get(media or "application/json")
    if fmt is None:
        raise UnsupportedMediaType(
            f"a programme is sent as application/json or application/yaml, not {media}",
            detail={"content_type": media, "accepted": sorted(_FORMATS)},
        )
    return Submitted(await read_body(request, settings.max_body_bytes), fmt)


SubmittedDep = Annotated[Submitted, Depends(_submitted)]


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
    openapi_extra=_DOCUMENT_BODY,
    summary="Apply a programme document (JSON or YAML) as a new version",
)
def apply(
    key: AdminKey,  # before the body: a caller without a key learns nothing else
    submitted: SubmittedDep,
    session: SessionDep,
    response: Response,
    note: Annotated[str | None, Query(max_length=500, pattern=NO_NUL)] = None,
) -> AppliedOut:
    applied = service.apply(
        session, submitted.body, fmt=submitted.fmt, note=note, api_key_id=key.id
    )
    if not applied.created:
        response.status_code = status.HTTP_200_OK
    base = VersionOut.build(applied.row)
    return AppliedOut(**base.model_dump(), created=applied.created)


@router.post(
    "/v1/program/validate",
    response_model=ValidationOut,
    responses={**AUTH_RESPONSES, **INVALID},
    openapi_extra=_DOCUMENT_BODY,
    summary="Check a programme document (JSON or YAML) without applying it",
)
def validate(_key: AdminKey, submitted: SubmittedDep) -> ValidationOut:
    programme = document.load(submitted.body, fmt=submitted.fmt)
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
