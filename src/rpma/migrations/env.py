"""Alembic environment: the engine comes from the caller (rpma.migrations.upgrade)."""

from __future__ import annotations

from alembic import context

from rpma.core.db import Base
from rpma.migrations import include_object
from rpma.models import load_models

load_models()
config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=engine.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
