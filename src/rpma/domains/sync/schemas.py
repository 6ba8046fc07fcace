"""Requests and responses of the sync commands. ``SyncOperation`` is ours: the seed
names it without defining it (docs/SYNC.md "The SyncOperation")."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rpma.core.commands import IpcRequest

Kind = Literal["create", "update", "delete"]
Priority = Literal["high", "normal", "low"]
Status = Literal["pending", "processing", "completed", "failed"]


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError("must be a UUID") from None


class SyncOperation(BaseModel):
    """One change of one entity, as queued, pushed, pulled and answered."""

    id: int
    operation_id: str
    entity_type: str
    entity_id: str
    kind: Kind
    payload: dict[str, Any]
    version: int
    priority: Priority
    status: Status
    attempts: int
    last_error: str | None
    conflict: bool
    node_id: str
    created_at: int
    updated_at: int
    lease_until: int | None = None


class OperationIn(BaseModel):
    """An operation given by a caller: ``sync_enqueue``'s ``operation``, or one of the
    operations a node pushes. Closed: an unknown field is an error, not ignored."""

    model_config = ConfigDict(strict=True, extra="forbid")

    operation_id: str | None = None
    entity_type: str = Field(min_length=1, max_length=32)
    entity_id: str
    kind: Kind
    payload: dict[str, Any]
    version: int = Field(ge=1)

    _check_entity_id = field_validator("entity_id")(_uuid)

    @field_validator("operation_id")
    @classmethod
    def _check_operation_id(cls, value: str | None) -> str | None:
        return None if value is None else _uuid(value)


class PushedOperation(OperationIn):
    operation_id: str
    node_id: str = Field(min_length=1, max_length=64)
    priority: Priority = "normal"


class SyncEnqueueRequest(IpcRequest):
    operation: OperationIn
    priority: Priority = "normal"


class SyncDequeueBatchRequest(IpcRequest):
    limit: int = Field(ge=1, le=1000)


class SyncListRequest(IpcRequest):
    status: Status | None = None
    limit: int = Field(default=50, ge=1, le=200)


class SyncRetryFailedRequest(IpcRequest):
    all: bool = False
    ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _one_choice(self) -> SyncRetryFailedRequest:
        if self.all == (self.ids is not None):
            raise ValueError("give either all: true or ids")
        return self


class FailedAcknowledgement(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    id: int
    error: str = Field(min_length=1, max_length=2000)


class SyncAcknowledgeRequest(IpcRequest):
    completed: list[int] = Field(default_factory=list, max_length=1000)
    failed: list[FailedAcknowledgement] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> SyncAcknowledgeRequest:
        if not self.completed and not self.failed:
            raise ValueError("give completed or failed operation ids")
        return self


class SyncAcknowledged(BaseModel):
    completed: int
    failed: int


class SyncResult(BaseModel):
    success: bool
    operations_processed: int
    operations_failed: int
    errors: list[str]


class SyncStatus(BaseModel):
    is_running: bool
    last_sync: int
    pending_operations: int
    failed_operations: int
    next_sync: int | None = None


class SyncQueueMetrics(BaseModel):
    pending: int
    processing: int
    completed: int
    failed: int
    total: int
    # Operations that lost against a newer version (recorded, not applied).
    conflicts: int


# --- central side ----------------------------------------------------------------------


class IssueTokenRequest(IpcRequest):
    name: str = Field(min_length=1, max_length=100)


class IssuedSyncToken(BaseModel):
    id: str
    name: str
    token: str  # shown once: only its hash is kept


class RevokeTokenRequest(IpcRequest):
    id: str


class PushBatchRequest(IpcRequest):
    node_id: str = Field(min_length=1, max_length=64)
    operations: list[PushedOperation] = Field(max_length=1000)


class PushOutcome(BaseModel):
    operation_id: str
    # applied | duplicate | conflict | rejected
    outcome: Literal["applied", "duplicate", "conflict", "rejected"]
    reason: str | None = None


class PushBatchResponse(BaseModel):
    results: list[PushOutcome]


class PullChangesRequest(IpcRequest):
    node_id: str = Field(min_length=1, max_length=64)
    since: int = Field(ge=0)
    limit: int = Field(default=500, ge=1, le=1000)


class PullChangesResponse(BaseModel):
    changes: list[SyncOperation]
    cursor: int
    has_more: bool
