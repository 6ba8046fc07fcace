"""WebSocket commands (seed: WebSocket Commands): the live endpoint and admin
broadcasts. Admin only (CONTRACT.md 3): they open ports and reach every screen."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from rpma.core.commands import IpcRequest, command
from rpma.core.context import CommandContext
from rpma.core.events import Event
from rpma.core.permissions import ALL_ROLES, Role
from rpma.live.hub import hub_for
from rpma.live.messages import Addressing
from rpma.live.topics import CONTROL_TYPES

ADMIN_ERRORS = ["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]
LIVE_PATH = "/ws"


class InitWebSocketRequest(IpcRequest):
    port: int | None = Field(default=None, ge=1, le=65535)
    enable_compression: bool = True
    # Loopback unless told otherwise: an extra listener is for local tools.
    host: str = Field(default="127.0.0.1", max_length=64)

    @field_validator("host")
    @classmethod
    def _ip_or_localhost(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("expected an IP address or 'localhost'") from None


class WebSocketServerInfo(BaseModel):
    port: int | None
    url: str | None
    status: Literal["starting", "running", "stopped"]
    path: str = LIVE_PATH
    connected_clients: int = 0
    compression: bool = True
    # Every extra listener this server runs (init_websocket_server with a port).
    listeners: list[str] = []


class BroadcastMessageRequest(IpcRequest):
    message_type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.\-]*$")
    data: Any = None
    target_roles: list[str] | None = Field(default=None, max_length=4)
    exclude_clients: list[str] = Field(default_factory=list, max_length=10_000)

    @field_validator("message_type")
    @classmethod
    def _not_a_control_frame(cls, value: str) -> str:
        if value in CONTROL_TYPES:
            raise ValueError(f"{value!r} is a frame of the /ws protocol itself")
        return value

    @field_validator("target_roles")
    @classmethod
    def _known_roles(cls, value: list[str] | None) -> list[str] | None:
        unknown = [role for role in value or () if role not in ALL_ROLES]
        if unknown:
            expected = ", ".join(role.value for role in Role)
            raise ValueError(f"unknown role {unknown[0]!r}; expected one of {expected}")
        return value


class BroadcastResult(BaseModel):
    # Connections of this server process that were sent the message.
    recipients: int


@command(
    "init_websocket_server",
    request=InitWebSocketRequest,
    response=WebSocketServerInfo,
    permission="system.admin",
    writes=False,
    errors=["VALIDATION_ERROR", "WEBSOCKET_PORT_IN_USE", *ADMIN_ERRORS],
)
def init_websocket_server(ctx: CommandContext, req: InitWebSocketRequest) -> WebSocketServerInfo:
    """Report the live endpoint (`/ws`: URL, connected clients); with `port`, also serve
    `/ws` on that port (on 127.0.0.1 unless `host` says otherwise). A port already in
    use is `WEBSOCKET_PORT_IN_USE` (409); the same port again answers the running
    listener."""
    hub = hub_for(ctx.services)
    if hub is None:  # `rpma invoke`: no server, nothing listens
        return WebSocketServerInfo(port=req.port, url=None, status="stopped")
    listeners = [listener.url for listener in hub.listeners.values() if listener.running]
    common = {"connected_clients": hub.connected_clients, "listeners": listeners}
    main = hub.main_address
    if req.port is None or (main is not None and req.port == main[1]):
        url = f"ws://{main[0]}:{main[1]}{LIVE_PATH}" if main else None
        return WebSocketServerInfo(
            port=main[1] if main else None, url=url, status="running", **common
        )
    listener = hub.open_listener(req.host, req.port, compression=req.enable_compression)
    common["listeners"] = [item.url for item in hub.listeners.values() if item.running]
    return WebSocketServerInfo(
        port=listener.port,
        url=listener.url,
        status="running",
        compression=listener.compression,
        **common,
    )


@command(
    "broadcast_websocket_message",
    request=BroadcastMessageRequest,
    response=BroadcastResult,
    permission="system.admin",
    writes=False,
    errors=["VALIDATION_ERROR", *ADMIN_ERRORS],
)
def broadcast_websocket_message(
    ctx: CommandContext, req: BroadcastMessageRequest
) -> BroadcastResult:
    """Send `{type: message_type, data}` to every connected client, or only to the
    `target_roles`, except the `exclude_clients` (client ids from each client's welcome
    frame). Answers how many connections of this server process were sent it."""
    roles = frozenset(req.target_roles) if req.target_roles is not None else ALL_ROLES
    event = Event(
        type=req.message_type,
        data=req.data if isinstance(req.data, dict) else {"value": req.data},
        audience_roles=frozenset(str(role) for role in roles),
        meta={"exclude_clients": list(req.exclude_clients)},
    )
    hub = hub_for(ctx.services)
    recipients = hub.recipients(event.type, Addressing.of(event)) if hub else 0
    ctx.publish_after_commit(event)
    return BroadcastResult(recipients=recipients)
