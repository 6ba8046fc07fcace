"""Templates: a subject, a plain-text body and an HTML body with ``{variable}`` fields.

Each notification type declares the variables it knows. A template that names another
variable is refused when edited; a send that passes an unknown variable, or leaves out
one the template uses, is refused too. Values are HTML-escaped in the HTML part only.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass
from typing import Final

from rpma.core.errors import ValidationFailed

TYPES: Final = ("task_assigned", "task_updated", "task_completed", "system_alert")
# Filled by the server when the caller does not give them.
AUTOMATIC: Final = frozenset({"company_name", "recipient_name"})
_TASK: Final = frozenset({"task_title", "task_number", "scheduled_date", "technician_name"})
VARIABLES: Final[dict[str, frozenset[str]]] = {
    "task_assigned": _TASK | AUTOMATIC,
    "task_updated": _TASK | AUTOMATIC | {"change"},
    "task_completed": _TASK | AUTOMATIC,
    "system_alert": AUTOMATIC | {"title", "message"},
}


@dataclass(frozen=True)
class Template:
    subject: str
    body_text: str
    body_html: str


DEFAULTS: Final[dict[str, Template]] = {
    "task_assigned": Template(
        subject="Task assigned: {task_title}",
        body_text=(
            "Hello {recipient_name},\n\nTask {task_number} ({task_title}) is assigned to "
            "{technician_name}, scheduled {scheduled_date}.\n\n{company_name}"
        ),
        body_html=(
            "<p>Hello {recipient_name},</p><p>Task <strong>{task_number}</strong> "
            "({task_title}) is assigned to {technician_name}, scheduled "
            "{scheduled_date}.</p><p>{company_name}</p>"
        ),
    ),
    "task_updated": Template(
        subject="Task updated: {task_title}",
        body_text=(
            "Hello {recipient_name},\n\nTask {task_number} ({task_title}): {change}.\n\n"
            "{company_name}"
        ),
        body_html=(
            "<p>Hello {recipient_name},</p><p>Task <strong>{task_number}</strong> "
            "({task_title}): {change}.</p><p>{company_name}</p>"
        ),
    ),
    "task_completed": Template(
        subject="Task completed: {task_title}",
        body_text=(
            "Hello {recipient_name},\n\nTask {task_number} ({task_title}) is completed.\n\n"
            "{company_name}"
        ),
        body_html=(
            "<p>Hello {recipient_name},</p><p>Task <strong>{task_number}</strong> "
            "({task_title}) is completed.</p><p>{company_name}</p>"
        ),
    ),
    "system_alert": Template(
        subject="{title}",
        body_text="{message}\n\n{company_name}",
        body_html="<p>{message}</p><p>{company_name}</p>",
    ),
}

PARTS: Final = ("subject", "body_text", "body_html")


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message=f"{field}: {message}", fields=[{"field": field, "message": message}]
    )


def fields_of(text: str, where: str) -> set[str]:
    """The variables ``text`` names. Only plain ``{name}`` fields: no positions, no
    attribute access, no format specs (they would let a template read internals)."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _invalid(
            where, f"malformed template ({exc}); write braces as {{{{ and }}}}"
        ) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise _invalid(where, f"'{{{name}}}' is not a plain {{variable}} field")
        names.add(name)
    return names


def check(notification_type: str, template: Template, prefix: str = "") -> None:
    """Refuse a template that names a variable its type does not know."""
    known = VARIABLES[notification_type]
    for part in PARTS:
        where = f"{prefix}{part}"
        unknown = sorted(fields_of(getattr(template, part), where) - known)
        if unknown:
            raise _invalid(
                where,
                f"unknown variable {', '.join(unknown)} for {notification_type} "
                f"(known: {', '.join(sorted(known))})",
            )


def check_variables(notification_type: str, template: Template, values: dict[str, str]) -> None:
    """Refuse variables the type does not know and missing ones the template uses."""
    known = VARIABLES[notification_type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise _invalid(
            f"variables.{unknown[0]}",
            f"unknown variable for {notification_type} (known: {', '.join(sorted(known))})",
        )
    used: set[str] = set()
    for part in PARTS:
        used |= fields_of(getattr(template, part), part)
    missing = sorted(used - set(values))
    if missing:
        raise _invalid(
            f"variables.{missing[0]}",
            f"required by the {notification_type} template (missing: {', '.join(missing)})",
        )


def _fill(text: str, values: dict[str, str], *, escape: bool) -> str:
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            value = values[name]
            out.append(html.escape(value) if escape else value)
    return "".join(out)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str


def render(template: Template, values: dict[str, str]) -> Rendered:
    """The three parts filled (call ``check_variables`` first)."""
    return Rendered(
        subject=_fill(template.subject, values, escape=False).replace("\n", " ").strip()[:300],
        body_text=_fill(template.body_text, values, escape=False),
        body_html=_fill(template.body_html, values, escape=True),
    )
