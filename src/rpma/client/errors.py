"""Exceptions raised by the RPMA client, one class per family of error codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "InterventionError",
    "IpcError",
    "NotFoundError",
    "NotImplementedByServerError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestValidationError",
    "ServerError",
    "TransportError",
    "error_class",
    "error_from_envelope",
]


class IpcError(Exception):
    """An error answer from the server (or, for `TransportError`, no usable answer)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status={self.status!r}, correlation_id={self.correlation_id!r})"
        )


class AuthenticationError(IpcError):
    """401: missing, invalid or expired credentials."""


class PermissionDeniedError(IpcError):
    """403: authenticated, but the role may not do this."""


class RequestValidationError(IpcError):
    """400: the request was refused as invalid."""


class InterventionError(RequestValidationError):
    """400 with an `INTERVENTION_*` code: the workflow refuses the operation."""


class NotFoundError(IpcError):
    """404: unknown command or record."""


class ConflictError(IpcError):
    """409: somebody else changed the record first."""


class RateLimitError(IpcError):
    """429: too many requests; `retry_after` is in seconds when the server said."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        correlation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            code, message, status=status, details=details, correlation_id=correlation_id
        )
        self.retry_after = retry_after


class NotImplementedByServerError(IpcError):
    """501: the command exists but this server cannot perform it (desktop-only)."""


class ServerError(IpcError):
    """5xx, or an error code the client does not recognise."""


class TransportError(IpcError):
    """No envelope came back: connection failure, timeout, or a foreign response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        details: Any = None,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(
            "NETWORK_ERROR",
            message,
            status=status,
            details=details,
            correlation_id=correlation_id,
        )


_BY_STATUS: dict[int, type[IpcError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    501: NotImplementedByServerError,
}


def _class_for_code(code: str) -> type[IpcError] | None:
    # The WebSocket has no status, so the code alone must give the same class
    # that the server's HTTP status would have given.
    if code == "AUTH_FORBIDDEN":
        return PermissionDeniedError
    if code.startswith("AUTH_"):
        return AuthenticationError
    if code == "INTERVENTION_CONCURRENT_MODIFICATION" or code.startswith("CONFLICT"):
        return ConflictError
    if code.startswith("INTERVENTION_"):
        return InterventionError
    if code.startswith(("VALIDATION", "2FA_")):
        return RequestValidationError
    if code.startswith("NOT_FOUND"):
        return NotFoundError
    if code.startswith("RATE_LIMIT"):
        return RateLimitError
    if code == "NOT_IMPLEMENTED":
        return NotImplementedByServerError
    return None


def error_class(code: str, status: int | None) -> type[IpcError]:
    """The exception class for an error `code` answered with HTTP `status` (None on WS)."""
    if status == 400:
        return InterventionError if code.startswith("INTERVENTION_") else RequestValidationError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status is not None and status >= 500:
        return ServerError
    by_code = _class_for_code(code)
    if by_code is not None:
        return by_code
    if status is not None and 400 <= status < 500:
        return RequestValidationError
    return ServerError


def _retry_after_from_details(details: Any) -> float | None:
    # Over the WebSocket there is no Retry-After header; a server may put it here.
    if isinstance(details, Mapping):
        value = details.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def error_from_envelope(
    error: Any,
    status: int | None,
    correlation_id: str | None,
    retry_after: float | None = None,
) -> IpcError:
    """Build (not raise) the exception for the `error` object of a failed envelope."""
    fields: Mapping[str, Any] = error if isinstance(error, Mapping) else {}
    code = str(fields.get("code") or "UNKNOWN_ERROR")
    message = str(fields.get("message") or "the server reported an error without a message")
    details = fields.get("details")
    cls = error_class(code, status)
    if cls is RateLimitError:
        if retry_after is None:
            retry_after = _retry_after_from_details(details)
        return RateLimitError(
            code,
            message,
            status=status,
            details=details,
            correlation_id=correlation_id,
            retry_after=retry_after,
        )
    return cls(code, message, status=status, details=details, correlation_id=correlation_id)
