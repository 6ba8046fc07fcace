"""Column types shared by the domains."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class JsonList(TypeDecorator[list[Any]]):
    """A JSON array stored as text: portable between SQLite and PostgreSQL, and never
    NULL on the Python side (an empty list)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str:
        return json.dumps(value or [], ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[Any]:
        return list(json.loads(value)) if value else []


class JsonDict(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as text (an empty dict on the Python side when unset)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> str:
        return json.dumps(value or {}, ensure_ascii=False)

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any]:
        return dict(json.loads(value)) if value else {}
