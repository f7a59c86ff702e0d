"""Reading a delivery off the wire: a capped body and the headers we keep."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import ClientDisconnect

from trofast.errors import BadRequest
from trofast.ingest.errors import BodyTooLarge

# Headers that identify or authenticate the sender are not kept in the delivery log.
_SECRET_HEADERS = {"authorization", "x-api-key", "cookie"}


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body exceeds {limit} bytes", detail={"limit": limit})
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"body exceeds {limit} bytes", detail={"limit": limit})
            chunks.append(chunk)
    except ClientDisconnect:
        # The sender hung up mid-body: nothing was stored, it will retry.
        raise BadRequest("the client disconnected", code="client_disconnected") from None
    return b"".join(chunks)


def kept_headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS}
