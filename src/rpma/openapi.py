"""The OpenAPI document: one POST /ipc/{name} path per registered command, with its
request and response models, wrapped in the seed's envelope."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from rpma import __version__
from rpma.core.commands import Command, Registry
from rpma.core.permissions import MATRIX

REF_TEMPLATE = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["success", "error", "timestamp"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["message", "code"],
            "properties": {
                "message": {"type": "string"},
                "code": {"type": "string"},
                "details": {},
                "stack_trace": {"type": "string", "description": "debug mode only"},
            },
        },
        "correlation_id": {"type": "string"},
        "timestamp": {"type": "integer", "description": "Unix milliseconds"},
    },
}


def _response_schema(response: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if response is None:
        return {"type": "null"}
    if isinstance(response, type) and issubclass(response, BaseModel):
        return {"$ref": REF_TEMPLATE.format(model=response.__name__)}
    schema = TypeAdapter(response).json_schema(ref_template=REF_TEMPLATE)
    defs.update(schema.pop("$defs", {}))
    return schema


def _who(cmd: Command) -> str:
    if isinstance(cmd.permission, str):
        rule = MATRIX[cmd.permission]
        if rule.public:
            return "public"
        roles = ", ".join(sorted(r.value for r in rule.roles))
        return roles + (" (open while no user exists)" if rule.open_while_no_users else "")
    return "; ".join(
        f"{action}: {', '.join(sorted(r.value for r in MATRIX[op].roles))}"
        for action, op in cmd.permission.items()
    )


def build_openapi(commands: Registry) -> dict[str, Any]:
    models: list[type[BaseModel]] = []
    for cmd in commands:
        models.append(cmd.request)
        if isinstance(cmd.response, type) and issubclass(cmd.response, BaseModel):
            models.append(cmd.response)
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(
        [
            (m, "validation" if m in {c.request for c in commands} else "serialization")
            for m in unique
        ],
        ref_template=REF_TEMPLATE,
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, Any] = {}
    for cmd in commands:
        data_schema = _response_schema(cmd.response, defs)
        success = {
            "type": "object",
            "required": ["success", "timestamp"],
            "properties": {
                "success": {"const": True},
                "data": data_schema,
                "compressed": {"type": "boolean"},
                "correlation_id": {"type": "string"},
                "timestamp": {"type": "integer"},
            },
        }
        errors = ", ".join(cmd.errors) or "see the error table"
        paths[f"/ipc/{cmd.name}"] = {
            "post": {
                "operationId": cmd.name,
                "tags": [cmd.domain],
                "summary": cmd.summary,
                "description": f"Roles: {_who(cmd)}. Errors: {errors}."
                + (f" Rate limit class: {cmd.limit.value}." if cmd.limit else ""),
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": REF_TEMPLATE.format(model=cmd.request.__name__)}
                        },
                        "application/msgpack": {
                            "schema": {"$ref": REF_TEMPLATE.format(model=cmd.request.__name__)}
                        },
                    },
                },
                "responses": {
                    "200": {
                        "description": "Success envelope",
                        "content": {"application/json": {"schema": success}},
                    },
                    "default": {
                        "description": "Error envelope",
                        "content": {"application/json": {"schema": ERROR_SCHEMA}},
                    },
                },
                "security": [] if _who(cmd) == "public" else [{"bearer": []}],
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RPMA v2",
            "version": __version__,
            "description": "Every command is POST /ipc/{command}; see CONTRACT.md.",
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
