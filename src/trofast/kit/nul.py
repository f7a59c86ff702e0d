"""Refuse NUL characters in a request's path or query string before any route runs.

PostgreSQL text cannot hold NUL (0x00): a filter such as `?email=%00` would reach the
database and fail there as a 500. No identifier, e-mail or code Trofast knows contains
one, so such a request is invalid input, answered 422 like any other bad parameter.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            body = json.dumps(
                {
                    "error": "the path or query string contains a NUL character",
                    "code": "nul_character",
                    "detail": None,
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


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    path: Any = scope.get("path", "")
    return b"\x00" in unquote_to_bytes(query) or "\x00" in path
