"""Validating one part of a request (``data``, ``filters``, ``pagination`` of the
``*_crud`` commands) with the same error shape the dispatcher gives whole requests."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rpma.core.dispatch import validation_error

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], raw: Any, where: str) -> M:
    """Validate one part of the request; offending fields are named from the body's
    top (``data.email``), as the dispatcher names top-level ones."""
    try:
        return model.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        error = validation_error(exc)
    fields = (error.details or {}).get("fields", [])
    for item in fields:
        item["field"] = where if item["field"] == "(body)" else f"{where}.{item['field']}"
    if len(fields) == 1 and error.code == "VALIDATION_ERROR":
        error.message = f"{fields[0]['field']}: {fields[0]['message']}"
    raise error
