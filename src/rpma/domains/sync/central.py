"""The central side: credentials for nodes, receiving their pushes, serving the feed.

Any RPMA server is a central server for the nodes that point their ``RPMA_SYNC_URL`` at
it. Nodes authenticate with a credential an admin issued here (``sync_issue_token``),
sent as ``Authorization: Bearer <token>``: long-lived, unlike session tokens, and
revocable one by one.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.errors import AuthenticationError, NotFound
from rpma.core.events import Event
from rpma.core.services import Services
from rpma.domains.sync import queue
from rpma.domains.sync.apply import apply_operations
from rpma.domains.sync.capture import identity
from rpma.domains.sync.live import events_for
from rpma.domains.sync.models import SyncCredential
from rpma.domains.sync.schemas import (
    IssuedSyncToken,
    PullChangesRequest,
    PullChangesResponse,
    PushBatchRequest,
    PushBatchResponse,
)
from rpma.domains.sync.service import operation_out

CREDENTIAL_INVALID = "SYNC_CREDENTIAL_INVALID"
TOKEN_PREFIX = "rpmasync_"


class SyncCredentialInvalid(AuthenticationError):
    default_code = CREDENTIAL_INVALID


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_credential(db: Session, name: str, actor_id: str | None) -> IssuedSyncToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = SyncCredential(
        id=str(uuid.uuid4()),
        name=name.strip() or name,
        token_hash=_digest(token),
        created_at=clock.now_ms(),
        created_by=actor_id,
    )
    db.add(row)
    db.flush()
    return IssuedSyncToken(id=row.id, name=row.name, token=token)


def revoke_credential(db: Session, credential_id: str) -> None:
    row = db.get(SyncCredential, credential_id)
    if row is None or row.revoked_at is not None:
        raise NotFound("NOT_FOUND", message="No active sync credential with this id")
    row.revoked_at = clock.now_ms()
    db.flush()


def authenticate(db: Session, token: str | None) -> SyncCredential:
    if not token or not token.startswith(TOKEN_PREFIX):
        raise SyncCredentialInvalid(message="A sync credential is required (sync_issue_token)")
    row = db.execute(
        select(SyncCredential).where(SyncCredential.token_hash == _digest(token))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise SyncCredentialInvalid(message="The sync credential is unknown or revoked")
    return row


def receive_push(
    db: Session, services: Services, token: str | None, req: PushBatchRequest
) -> tuple[PushBatchResponse, list[Event]]:
    """The outcome of each operation, and the live events of those applied (to publish
    after the commit)."""
    credential = authenticate(db, token)
    db.execute(
        update(SyncCredential)
        .where(SyncCredential.id == credential.id)
        .values(last_used_at=clock.now_ms())
    )
    own_node = identity(services).get(db.connection())
    # The operations are the pushing node's: they carry its id whatever they say, so
    # that its pull skips them and tie-breaks name the node that made them.
    operations = [op.model_copy(update={"node_id": req.node_id}) for op in req.operations]
    results = apply_operations(db, operations, own_node)
    return PushBatchResponse(results=results), events_for(operations, results)


def serve_pull(db: Session, token: str | None, req: PullChangesRequest) -> PullChangesResponse:
    """Changes after ``since``, in feed order, except the caller's own and the losers of
    conflicts. ``cursor`` moves past skipped rows too."""
    authenticate(db, token)
    rows = queue.feed_after(db, req.since, req.limit)
    changes = [
        operation_out(row._asdict())
        for row in rows
        if row.node_id != req.node_id and not row.conflict
    ]
    cursor = rows[-1].id if rows else req.since
    return PullChangesResponse(changes=changes, cursor=cursor, has_more=len(rows) == req.limit)
