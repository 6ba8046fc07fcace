"""sync: the operation queue and change feed, the node's state, sync credentials

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_queue",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.String(length=36), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_queue")),
        sa.UniqueConstraint("operation_id", name=op.f("uq_sync_queue_operation_id")),
    )
    with op.batch_alter_table("sync_queue", schema=None) as batch_op:
        batch_op.create_index("ix_sync_queue_status_id", ["status", "id"], unique=False)
        batch_op.create_index(
            "ix_sync_queue_entity", ["entity_type", "entity_id", "id"], unique=False
        )
    op.create_table(
        "sync_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "sync_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sync_credentials_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("sync_credentials")
    op.drop_table("sync_state")
    with op.batch_alter_table("sync_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_queue_entity")
        batch_op.drop_index("ix_sync_queue_status_id")
    op.drop_table("sync_queue")
