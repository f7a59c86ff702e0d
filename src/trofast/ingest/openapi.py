"""OpenAPI request bodies for endpoints that read the raw body themselves."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

REF = "#/components/schemas/{model}"


def body_schema(annotation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, definitions to add to components) for a type used as a request body."""
    schema = TypeAdapter(annotation).json_schema(ref_template=REF)
    defs = schema.pop("$defs", {})
    return schema, defs


def request_body(schema: dict[str, Any], content_type: str = "application/json") -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}
