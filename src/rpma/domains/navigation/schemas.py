"""Navigation requests and responses (seed: Navigation Commands)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, Field

from rpma.core.commands import IpcRequest
from rpma.core.validation import clean_text_validator, invalid

ROUTE_MAX_LENGTH: Final = 500
PARAMS_MAX_BYTES: Final = 4096


def _route(value: str) -> str:
    # A route of the UI, never a URL: it is put back into the address bar of the app.
    if not value.startswith("/") or value.startswith("//") or any(c.isspace() for c in value):
        raise invalid("Route must be a path of the app starting with / (e.g. /tasks/123)")
    return value


def _params(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, separators=(",", ":"))) > PARAMS_MAX_BYTES:
        raise invalid(
            "Route params must be at most {limit} bytes of JSON",
            {"limit": PARAMS_MAX_BYTES},
        )
    return value


Route = Annotated[str, Field(min_length=1, max_length=ROUTE_MAX_LENGTH), AfterValidator(_route)]
Params = Annotated[dict[str, Any], AfterValidator(_params)]
Title = Annotated[str, clean_text_validator(200, field="Title")]


class NavigationUpdateRequest(IpcRequest):
    route: Route
    params: Params | None = None
    title: Title | None = None


class NavigationHistoryRequest(IpcRequest):
    limit: int = Field(default=50, ge=1, le=200)


class NavigationState(BaseModel):
    route: str
    params: dict[str, Any] | None = None
    title: str | None = None
    can_go_back: bool
    can_go_forward: bool


class NavigationEntryOut(BaseModel):
    position: int
    route: str
    params: dict[str, Any] | None = None
    title: str | None = None
    visited_at: int
    current: bool
