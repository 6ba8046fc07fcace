"""Clients (DOMAIN.md "Clients"). Derived figures (task counts, last task date) are
computed by queries, never stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, AuditMixin, Base, SyncMixin
from rpma.core.types import JsonList


class Client(AuditMixin, SyncMixin, Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("ix_clients_type_name", "customer_type", "name"),
        Index("ix_clients_created_at", "created_at"),
        Index("ix_clients_city", "address_city"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # Unique when given: NULLs never collide in a unique index (SQLite and PostgreSQL).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    customer_type: Mapped[str] = mapped_column(String(16))  # individual | business
    company_name: Mapped[str | None] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(200))
    address_street: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    address_zip: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(100))
    tax_id: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(JsonList, default=list)
