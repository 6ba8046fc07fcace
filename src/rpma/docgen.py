"""docs/COMMANDS.md, written from the registry so it cannot drift from the code.

`rpma docs` rewrites it; a test fails when the committed file is out of date.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from rpma.core.commands import Command, Registry
from rpma.core.permissions import MATRIX, Rule

HEADER = """# Commands

Every command is `POST /ipc/{command}` (or a frame on the `/ipc` WebSocket) with a JSON
or MessagePack object of the fields below, plus `session_token` and `correlation_id`
where wanted; the answer is the seed's envelope (see CONTRACT.md). The session token may
also travel as `Authorization: Bearer <token>`.

This file is generated from the command registry by `rpma docs`; do not edit it by hand.

Errors every command may answer besides those listed: `VALIDATION_ERROR` (400) for a
body that is not an object or a field of the wrong type, `AUTH_SESSION_INVALID` /
`AUTH_SESSION_EXPIRED` (401) without a live session where one is needed,
`AUTH_FORBIDDEN` (403) for a role the matrix refuses, `RATE_LIMIT` (429) when its class
is exhausted, `DATABASE_ERROR` / `INTERNAL_ERROR` (500).
"""


def _roles(rule: Rule) -> str:
    if rule.public:
        return "public"
    order = ["admin", "supervisor", "technician", "viewer"]
    roles = ", ".join(r for r in order if r in {x.value for x in rule.roles})
    if rule.open_while_no_users:
        roles += " (anyone while no user exists: first-time setup)"
    if rule.scope:
        roles += f"; {rule.scope}"
    return roles


def _type_name(annotation: Any) -> str:
    args = getattr(annotation, "__args__", None)
    if args and type(annotation).__name__ in {"UnionType", "_UnionGenericAlias"}:
        return " | ".join(_type_name(arg) for arg in args)
    if args:  # list[X], dict[K, V]
        origin = getattr(annotation, "__origin__", annotation)
        inner = ", ".join(_type_name(arg) for arg in args)
        return f"{getattr(origin, '__name__', origin)}[{inner}]"
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("NoneType", "null")


def _schema_type(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return " \\| ".join(f'"{v}"' for v in schema["enum"])
    if "anyOf" in schema:
        return " \\| ".join(_schema_type(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"{_schema_type(schema.get('items', {}))}[]"
    limits = [
        f"{k}={schema[k]}" for k in ("minLength", "maxLength", "minimum", "maximum") if k in schema
    ]
    return kind + (f" ({', '.join(limits)})" if limits else "")


def _fields(model: type[BaseModel]) -> list[str]:
    properties = model.model_json_schema().get("properties", {})
    lines = []
    for name, info in model.model_fields.items():
        required = "required" if info.is_required() else "optional"
        note = f" — {info.description}" if info.description else ""
        kind = _schema_type(properties.get(name, {}))
        lines.append(f"| `{name}` | {kind} | {required}{note} |")
    return lines


def _response(cmd: Command) -> str:
    if cmd.response is None:
        return "`null`"
    return f"`{_type_name(cmd.response)}`"


def _summary(cmd: Command) -> str:
    doc = (cmd.handler.__doc__ or cmd.summary).strip().split("\n\n")[0]
    return " ".join(line.strip() for line in doc.splitlines())


def _section(cmd: Command) -> list[str]:
    out = [f"### `{cmd.name}`", "", _summary(cmd), ""]
    if isinstance(cmd.permission, str):
        out.append(f"* **Roles**: {_roles(MATRIX[cmd.permission])}")
    else:
        out.append("* **Roles** by action:")
        out.extend(f"  * `{a}`: {_roles(MATRIX[op])}" for a, op in cmd.permission.items())
    if cmd.token_field != "session_token":
        out.append(f"* **Token field**: `{cmd.token_field}` (or the Authorization header)")
    out.append(f"* **Rate limit class**: {cmd.limit.value if cmd.limit else 'none'}")
    out.append(f"* **Answer**: {_response(cmd)}")
    if cmd.errors:
        out.append("* **Errors**: " + ", ".join(f"`{e}`" for e in cmd.errors))
    fields = _fields(cmd.request)
    out.append("")
    if fields:
        out.extend(["| field | type | |", "|---|---|---|", *fields])
    else:
        out.append("No fields (`{}` or an empty body).")
    out.append("")
    return out


def render_commands(registry: Registry) -> str:
    by_domain: dict[str, list[Command]] = {}
    for cmd in registry:
        by_domain.setdefault(cmd.domain, []).append(cmd)
    lines = [HEADER, f"{len(registry)} commands.", ""]
    for domain in sorted(by_domain):
        lines.extend([f"## {domain}", ""])
        for cmd in by_domain[domain]:
            lines.extend(_section(cmd))
    return "\n".join(lines).rstrip() + "\n"
