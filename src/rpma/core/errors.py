"""The AppError family: every expected failure carries a stable code and its HTTP status.

One renderer (core.envelope) turns any of these into the seed's error envelope, so a
handler only raises, e.g. ``NotFound("NOT_FOUND_TASK", "Task not found", task_id=...)``.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error the API answers on purpose."""

    status: int = 500
    default_code: str = "INTERNAL_ERROR"
    default_message: str = "Internal server error"

    def __init__(self, code: str | None = None, message: str | None = None, **details: Any) -> None:
        self.code = code or self.default_code
        self.message = message or self.default_message
        self.details: dict[str, Any] | None = details or None
        super().__init__(f"{self.code}: {self.message}")

    def with_details(self, **details: Any) -> AppError:
        self.details = {**(self.details or {}), **details}
        return self


# 4xx: the caller's mistake -------------------------------------------------------------
class AuthenticationError(AppError):
    status = 401
    default_code = "AUTH_INVALID"
    default_message = "Invalid email or password"


class SessionExpired(AuthenticationError):
    default_code = "AUTH_SESSION_EXPIRED"
    default_message = "Session token expired"


class SessionInvalid(AuthenticationError):
    default_code = "AUTH_SESSION_INVALID"
    default_message = "Invalid session token"


class AuthorizationError(AppError):
    status = 403
    default_code = "AUTH_FORBIDDEN"
    default_message = "Insufficient permissions"


class ValidationFailed(AppError):
    status = 400
    default_code = "VALIDATION_ERROR"
    default_message = "Input validation failed"


class NotFound(AppError):
    status = 404
    default_code = "NOT_FOUND"
    default_message = "Resource not found"


class Conflict(AppError):
    status = 409
    default_code = "CONFLICT"
    default_message = "The record was changed by someone else"


class RateLimited(AppError):
    status = 429
    default_code = "RATE_LIMIT"
    default_message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None, **details: Any) -> None:
        super().__init__(None, message, retry_after=retry_after, **details)
        self.retry_after = retry_after


# 5xx: ours ------------------------------------------------------------------------------
class DatabaseError(AppError):
    default_code = "DATABASE_ERROR"
    default_message = "Database operation failed"


class DatabaseConnectionError(DatabaseError):
    default_code = "DATABASE_CONNECTION"
    default_message = "Database connection failed"


class InternalError(AppError):
    pass


class NetworkError(AppError):
    default_code = "NETWORK_ERROR"
    default_message = "Network request failed"


class IoError(AppError):
    default_code = "IO_ERROR"
    default_message = "File operation failed"


class ConfigurationError(AppError):
    default_code = "CONFIGURATION_ERROR"
    default_message = "The server is misconfigured"


class SyncError(AppError):
    default_code = "SYNC_ERROR"
    default_message = "Synchronization failed"


class NotImplementedOnServer(AppError):
    status = 501
    default_code = "NOT_IMPLEMENTED"
    default_message = "Not implemented on this server"


# Interventions (the seed answers them 400, a concurrent edit 409) ----------------------
class InterventionError(AppError):
    status = 400
    default_code = "INTERVENTION_INVALID_STATE"
    default_message = "Intervention in invalid state for operation"


class InterventionAlreadyActive(InterventionError):
    default_code = "INTERVENTION_ALREADY_ACTIVE"
    default_message = "Task already has an active intervention"


class InterventionInvalidState(InterventionError):
    pass


class InterventionStepNotFound(InterventionError):
    default_code = "INTERVENTION_STEP_NOT_FOUND"
    default_message = "Intervention step not found"


class InterventionValidationFailed(InterventionError):
    default_code = "INTERVENTION_VALIDATION_FAILED"
    default_message = "The step is not complete"


class InterventionTimeout(InterventionError):
    default_code = "INTERVENTION_TIMEOUT"
    default_message = "The intervention timed out"


class InterventionStepOutOfOrder(InterventionError):
    default_code = "INTERVENTION_STEP_OUT_OF_ORDER"
    default_message = "Cannot skip mandatory step"


class InterventionConcurrentModification(InterventionError):
    status = 409
    default_code = "INTERVENTION_CONCURRENT_MODIFICATION"
    default_message = "The intervention was changed by someone else"


# The seed's error table, for documentation and the error-table test.
SEED_ERROR_CODES: dict[str, int] = {
    "AUTH_INVALID": 401,
    "AUTH_FORBIDDEN": 403,
    "AUTH_SESSION_EXPIRED": 401,
    "AUTH_SESSION_INVALID": 401,
    "VALIDATION_ERROR": 400,
    "VALIDATION_EMAIL_INVALID": 400,
    "VALIDATION_PASSWORD_WEAK": 400,
    "VALIDATION_PASSWORD_MISMATCH": 400,
    "NOT_FOUND": 404,
    "NOT_FOUND_USER": 404,
    "NOT_FOUND_TASK": 404,
    "NOT_FOUND_CLIENT": 404,
    "DATABASE_ERROR": 500,
    "DATABASE_CONNECTION": 500,
    "INTERNAL_ERROR": 500,
    "NETWORK_ERROR": 500,
    "RATE_LIMIT": 429,
    "INTERVENTION_ALREADY_ACTIVE": 400,
    "INTERVENTION_INVALID_STATE": 400,
    "INTERVENTION_STEP_OUT_OF_ORDER": 400,
}
