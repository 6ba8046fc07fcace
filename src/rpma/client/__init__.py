"""Python SDK for the RPMA IPC API (HTTP or WebSocket, JSON or MessagePack).

with IpcClient("http://127.0.0.1:8000") as client:
    client.auth.login("admin@example.com", "Secret123!")
    print(client.system.health_check())
"""

from .aio import AsyncIpcClient
from .errors import (
    AuthenticationError,
    ConflictError,
    InterventionError,
    IpcError,
    NotFoundError,
    NotImplementedByServerError,
    PermissionDeniedError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    TransportError,
)
from .sync import IpcClient

__all__ = [
    "AsyncIpcClient",
    "AuthenticationError",
    "ConflictError",
    "InterventionError",
    "IpcClient",
    "IpcError",
    "NotFoundError",
    "NotImplementedByServerError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
]
