"""Sync commands (seed: "Sync Commands") and the central server's side of the protocol.

The seven seed commands control this machine's sync and need an admin (CONTRACT.md
section 3). ``sync_push_batch`` and ``sync_pull_changes`` are called by other RPMA
nodes with a sync credential instead of a session (docs/SYNC.md)."""

from __future__ import annotations

from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.core.permissions import PUBLIC
from rpma.domains.sync import central, queue, service, worker
from rpma.domains.sync.schemas import (
    IssuedSyncToken,
    IssueTokenRequest,
    PullChangesRequest,
    PullChangesResponse,
    PushBatchRequest,
    PushBatchResponse,
    RevokeTokenRequest,
    SyncAcknowledged,
    SyncAcknowledgeRequest,
    SyncDequeueBatchRequest,
    SyncEnqueueRequest,
    SyncListRequest,
    SyncOperation,
    SyncQueueMetrics,
    SyncResult,
    SyncRetryFailedRequest,
    SyncStatus,
)

ADMIN = "system.admin"
AUTH = ["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]


@command(
    "sync_start_background_service",
    response=None,
    permission=ADMIN,
    writes=False,
    errors=[service.NOT_CONFIGURED, *AUTH],
)
def sync_start_background_service(ctx: CommandContext, _req: EmptyRequest) -> None:
    """Start syncing with the central server every `sync_interval_seconds` (first sync
    right away). Already running: nothing changes. No central server configured:
    SYNC_NOT_CONFIGURED."""
    worker.worker_for(ctx.services).start()


@command("sync_stop_background_service", response=None, permission=ADMIN, writes=False, errors=AUTH)
def sync_stop_background_service(ctx: CommandContext, _req: EmptyRequest) -> None:
    """Stop the background sync (a sync under way finishes first). Not running: nothing
    changes."""
    found = worker.running(ctx.services)
    if found is not None:
        found.stop()


@command(
    "sync_now",
    response=SyncResult,
    permission=ADMIN,
    writes=False,
    errors=[service.NOT_CONFIGURED, *AUTH],
)
def sync_now(ctx: CommandContext, _req: EmptyRequest) -> SyncResult:
    """Push every pending operation to the central server, then pull and apply its
    changes. An unreachable central leaves the operations pending (retried with a
    growing wait by the background service) and names the error in `errors`; a
    refusal (4xx) marks them failed with the reason."""
    return service.sync_now(ctx.services)


@command("sync_get_status", response=SyncStatus, permission=ADMIN, writes=False, errors=AUTH)
def sync_get_status(ctx: CommandContext, _req: EmptyRequest) -> SyncStatus:
    """Whether the background service runs, the last successful sync (Unix ms, 0 for
    never), operations pending and failed, and when the next background sync is due."""
    counts = service.metrics(ctx.db)
    running = worker.running(ctx.services)
    return SyncStatus(
        is_running=running is not None,
        last_sync=service.last_sync(ctx.db),
        pending_operations=counts.pending + counts.processing,
        failed_operations=counts.failed,
        next_sync=running.next_sync_ms if running is not None else None,
    )


@command(
    "sync_enqueue",
    request=SyncEnqueueRequest,
    response=int,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_enqueue(ctx: CommandContext, req: SyncEnqueueRequest) -> int:
    """Queue an operation by hand (`entity_type`, `entity_id`, `kind`, `payload` of
    synced fields, `version`); answers its queue id. Secret or unknown fields, wrong
    types, an unknown entity type: VALIDATION_ERROR."""
    return service.enqueue(ctx.db, ctx.services, req.operation, req.priority)


@command(
    "sync_dequeue_batch",
    request=SyncDequeueBatchRequest,
    response=list[SyncOperation],
    permission=ADMIN,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_dequeue_batch(ctx: CommandContext, req: SyncDequeueBatchRequest) -> list[SyncOperation]:
    """Hand up to `limit` pending operations to an external sync agent: they become
    `processing` under a lease (`sync_lease_seconds`) and return to pending when it
    runs out. High priority first, then in the order they were queued."""
    return service.dequeue(ctx.db, ctx.services, req.limit)


@command("sync_get_metrics", response=SyncQueueMetrics, permission=ADMIN, writes=False, errors=AUTH)
def sync_get_metrics(ctx: CommandContext, _req: EmptyRequest) -> SyncQueueMetrics:
    """Operations per status, the total, and how many lost a conflict."""
    return service.metrics(ctx.db)


@command(
    "sync_list_operations",
    request=SyncListRequest,
    response=list[SyncOperation],
    permission=ADMIN,
    writes=False,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_list_operations(ctx: CommandContext, req: SyncListRequest) -> list[SyncOperation]:
    """The queue, newest first, optionally of one `status` (`failed` shows what the
    central refused, with `last_error`); `limit` 1..200, default 50."""
    return [service.operation_out(row) for row in queue.listed(ctx.db, req.status, req.limit)]


@command(
    "sync_retry_failed",
    request=SyncRetryFailedRequest,
    response=int,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_retry_failed(ctx: CommandContext, req: SyncRetryFailedRequest) -> int:
    """Put failed operations back in the queue (`all: true`, or `ids`), after fixing
    the cause; answers how many."""
    return queue.retry_failed(ctx.db, None if req.all else req.ids)


@command(
    "sync_acknowledge",
    request=SyncAcknowledgeRequest,
    response=SyncAcknowledged,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_acknowledge(ctx: CommandContext, req: SyncAcknowledgeRequest) -> SyncAcknowledged:
    """For an external sync agent: settle operations it took with `sync_dequeue_batch`,
    `completed` ids and `failed` `{id, error}`; answers how many changed (operations no
    longer `processing`, their lease run out, are left alone)."""
    return service.acknowledge(ctx.db, req)


# --- central server --------------------------------------------------------------------


@command(
    "sync_issue_token",
    request=IssueTokenRequest,
    response=IssuedSyncToken,
    permission=ADMIN,
    errors=["VALIDATION_ERROR", *AUTH],
)
def sync_issue_token(ctx: CommandContext, req: IssueTokenRequest) -> IssuedSyncToken:
    """Issue a credential for a workshop machine that syncs with this server (its
    `RPMA_SYNC_TOKEN`). The token is shown once; only its hash is kept."""
    return central.issue_credential(ctx.db, req.name, ctx.actor_id)


@command(
    "sync_revoke_token",
    request=RevokeTokenRequest,
    response=None,
    permission=ADMIN,
    errors=["NOT_FOUND", *AUTH],
)
def sync_revoke_token(ctx: CommandContext, req: RevokeTokenRequest) -> None:
    """Revoke a sync credential: the machine using it is refused from now on."""
    central.revoke_credential(ctx.db, req.id)


@command(
    "sync_push_batch",
    request=PushBatchRequest,
    response=PushBatchResponse,
    permission=PUBLIC,
    errors=["VALIDATION_ERROR", central.CREDENTIAL_INVALID],
)
def sync_push_batch(ctx: CommandContext, req: PushBatchRequest) -> PushBatchResponse:
    """(Node to central; `Authorization: Bearer <sync credential>`.) Apply a node's
    operations in order: each answers `applied`, `duplicate` (same `operation_id` seen
    before), `conflict` (a higher version is kept; recorded) or `rejected` (invalid, or
    clashes with data here) with the reason."""
    answer, events = central.receive_push(ctx.db, ctx.services, ctx.token, req)
    for event in events:  # the central's /ws listeners see what the node changed
        ctx.publish_after_commit(event)
    return answer


@command(
    "sync_pull_changes",
    request=PullChangesRequest,
    response=PullChangesResponse,
    permission=PUBLIC,
    writes=False,
    errors=["VALIDATION_ERROR", central.CREDENTIAL_INVALID],
)
def sync_pull_changes(ctx: CommandContext, req: PullChangesRequest) -> PullChangesResponse:
    """(Node to central; sync credential.) The changes after the feed position `since`,
    except the caller's own: answers them with the new `cursor` and `has_more`."""
    return central.serve_pull(ctx.db, ctx.token, req)
