"""live settings navigation: settings history, navigation, reported GPS positions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=36), nullable=True),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_history")),
    )
    with op.batch_alter_table("settings_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settings_history_key"), ["key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_settings_history_changed_at"), ["changed_at"], unique=False
        )

    op.create_table(
        "navigation_states",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("route", sa.String(length=500), nullable=False),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("cursor", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_navigation_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_navigation_states")),
    )
    op.create_table(
        "navigation_history",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("route", sa.String(length=500), nullable=False),
        sa.Column("params", sa.Text(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("visited_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_navigation_history_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_navigation_history")),
        sa.UniqueConstraint("user_id", "position", name=op.f("uq_navigation_history_user_id")),
    )
    op.create_table(
        "ui_gps_positions",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ui_gps_positions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_ui_gps_positions")),
    )


def downgrade() -> None:
    op.drop_table("ui_gps_positions")
    op.drop_table("navigation_history")
    op.drop_table("navigation_states")
    with op.batch_alter_table("settings_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settings_history_changed_at"))
        batch_op.drop_index(batch_op.f("ix_settings_history_key"))
    op.drop_table("settings_history")
