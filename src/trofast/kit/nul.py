"""Refuse NUL characters in a request's path or query string before any route runs.

PostgreSQL text cannot hold NUL (0x00): a filter such as `?email=%00` would reach the
database and fail there as a 500. No identifier, e-mail or code Trofast knows contains
one, so such a request is invalid input, answered 422 like any other bad parameter (in the
same shape as FastAPI's validation errors). String parameters also state it in the schema
with `NO_NUL`, so clients and contract tests know it; the middleware is the backstop for
any parameter that does not.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

# For `Query(pattern=NO_NUL)` on free-text parameters.
NO_NUL = r"^[^\x00]*$"


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = _nul_in(scope) if scope["type"] == "http" else None
        if where is not None:
            body = json.dumps(
                {
                    "error": "the path or query string contains a NUL character",
                    "code": "nul_character",
                    "detail": [
                        {
                            "loc": [where],
                            "msg": "NUL characters are not allowed",
                            "type": "nul_character",
                        }
                    ],
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    """`query` or `path` when that part of the request holds a NUL, else None."""
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in unquote_to_bytes(query):
        return "query"
    path: Any = scope.get("path", "")
    return "path" if "\x00" in path else None
