"""materials

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:20:00

Materials, the append-only stock ledger and consumption on interventions
(rpma.domains.materials.models; docs/MATERIALS.md). Written by hand.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _audit() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("material_type", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("subcategory", sa.String(length=100), nullable=True),
        sa.Column("brand", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("unit_of_measure", sa.String(length=16), nullable=False),
        sa.Column("current_stock_milli", sa.BigInteger(), nullable=False),
        sa.Column("minimum_stock_milli", sa.BigInteger(), nullable=False),
        sa.Column("maximum_stock_milli", sa.BigInteger(), nullable=True),
        sa.Column("reorder_point_milli", sa.BigInteger(), nullable=True),
        sa.Column("unit_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("supplier_id", sa.String(length=64), nullable=True),
        sa.Column("quality_grade", sa.String(length=50), nullable=True),
        sa.Column("certification", sa.String(length=100), nullable=True),
        sa.Column("expiry_date", sa.BigInteger(), nullable=True),
        sa.Column("batch_number", sa.String(length=100), nullable=True),
        sa.Column("serial_numbers", sa.Text(), nullable=False),
        sa.Column("storage_location", sa.String(length=100), nullable=True),
        sa.Column("warehouse_id", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_discontinued", sa.Boolean(), nullable=False),
        *_audit(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "current_stock_milli >= 0", name=op.f("ck_materials_stock_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint("sku", name=op.f("uq_materials_sku")),
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index("ix_materials_type_active", ["material_type", "is_active"])
        batch_op.create_index("ix_materials_category", ["category"])
        batch_op.create_index("ix_materials_expiry_date", ["expiry_date"])

    op.create_table(
        "material_transactions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("material_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("transaction_type", sa.String(length=16), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("previous_stock_milli", sa.BigInteger(), nullable=False),
        sa.Column("new_stock_milli", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("reference_type", sa.String(length=20), nullable=False),
        sa.Column("reference_id", sa.String(length=100), nullable=True),
        sa.Column("consumption_id", sa.String(length=36), nullable=True),
        sa.Column("performed_by", sa.String(length=36), nullable=True),
        sa.Column("performed_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_transactions_material_id_materials"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_transactions")),
        sa.UniqueConstraint(
            "material_id", "sequence", name=op.f("uq_material_transactions_material_id")
        ),
    )
    with op.batch_alter_table("material_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_material_transactions_type_at", ["transaction_type", "performed_at"]
        )
        batch_op.create_index("ix_material_transactions_performed_at", ["performed_at"])
        batch_op.create_index(
            "ix_material_transactions_reference", ["reference_type", "reference_id"]
        )

    op.create_table(
        "material_consumptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("intervention_id", sa.String(length=36), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("material_id", sa.String(length=36), nullable=False),
        sa.Column("step_id", sa.String(length=36), nullable=True),
        sa.Column("quantity_used_milli", sa.BigInteger(), nullable=False),
        sa.Column("waste_quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("waste_reason", sa.String(length=500), nullable=True),
        sa.Column("batch_used", sa.String(length=100), nullable=True),
        sa.Column("expiry_used", sa.BigInteger(), nullable=True),
        sa.Column("quality_notes", sa.Text(), nullable=True),
        sa.Column("unit_cost_cents", sa.BigInteger(), nullable=True),
        sa.Column("total_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["interventions.id"],
            name=op.f("fk_material_consumptions_intervention_id_interventions"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["materials.id"],
            name=op.f("fk_material_consumptions_material_id_materials"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["intervention_steps.id"],
            name=op.f("fk_material_consumptions_step_id_intervention_steps"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_consumptions")),
    )
    with op.batch_alter_table("material_consumptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_material_consumptions_intervention", ["intervention_id", "recorded_at"]
        )
        batch_op.create_index("ix_material_consumptions_task", ["task_id", "recorded_at"])
        batch_op.create_index("ix_material_consumptions_material", ["material_id", "recorded_at"])


def downgrade() -> None:
    op.drop_table("material_consumptions")
    op.drop_table("material_transactions")
    op.drop_table("materials")
