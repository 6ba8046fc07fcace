"""The workshop's customers (client_crud; DOMAIN.md "Clients").

The role matrix is checked by the dispatcher; this service applies the rules it cannot
see: a business needs a company and a contact, an email belongs to one client, a client
with active tasks stays, a stale ``expected_version`` is a conflict. Every change
publishes ``client_updated`` once the transaction has committed.
Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import Principal
from rpma.core.errors import Conflict, NotFound, ValidationFailed
from rpma.core.events import Event
from rpma.core.pagination import PageInfo, Pagination
from rpma.domains.clients.models import Client as ClientRow
from rpma.domains.clients.repository import ClientRepository
from rpma.domains.clients.schemas import (
    CUSTOMER_TYPES,
    Client,
    ClientCreateData,
    ClientFilters,
    ClientStatistics,
    ClientUpdateData,
    ClientWithTasks,
    TaskFigures,
    TopClient,
)
from rpma.domains.settings.service import shop_today
from rpma.domains.tasks.schemas import TaskOut

EVENT_TYPE: Final = "client_updated"
TOP_CLIENTS: Final = 10
# Fields that must always hold a value: null in an Update is refused, not applied.
_NOT_NULL: Final = ("name", "customer_type", "tags")
_BUSINESS_FIELDS: Final = ("company_name", "contact_person")
_EDITABLE: Final = (
    "name",
    "email",
    "phone",
    "customer_type",
    "company_name",
    "contact_person",
    "address_street",
    "address_city",
    "address_state",
    "address_zip",
    "address_country",
    "tax_id",
    "notes",
    "tags",
)

Publish = Callable[[Event], None]


class ClientService:
    def __init__(self, db: Session, actor: Principal, publish: Publish) -> None:
        """``publish`` releases an event after the commit (``ctx.publish_after_commit``)."""
        self.db = db
        self.actor = actor
        self.publish = publish
        self.clients = ClientRepository(db)

    # Reading ----------------------------------------------------------------------------
    def get(self, client_id: str) -> Client:
        row = self._row(client_id)
        return Client.of(row, self._figures([row]).get(row.id, TaskFigures()))

    def get_with_tasks(self, client_id: str) -> ClientWithTasks:
        return self._with_tasks([self._row(client_id)])[0]

    def page(self, filters: ClientFilters, pagination: Pagination) -> tuple[list[Client], PageInfo]:
        rows, info = self._page(filters, pagination)
        figures = self._figures(rows)
        return [Client.of(row, figures.get(row.id, TaskFigures())) for row in rows], info

    def page_with_tasks(
        self, filters: ClientFilters, pagination: Pagination
    ) -> tuple[list[ClientWithTasks], PageInfo]:
        rows, info = self._page(filters, pagination)
        return self._with_tasks(rows), info

    def search(self, query: str, limit: int) -> list[Client]:
        rows = self.clients.search(query, limit)
        figures = self._figures(rows)
        return [Client.of(row, figures.get(row.id, TaskFigures())) for row in rows]

    def statistics(self) -> ClientStatistics:
        by_type = dict.fromkeys(CUSTOMER_TYPES, 0)
        by_type.update(self.clients.counts_by_type())
        now = clock.now()
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        top = self.clients.tasks.top_clients(TOP_CLIENTS)
        return ClientStatistics(
            total_clients=sum(by_type.values()),
            by_type=by_type,
            new_this_month=self.clients.count_created_since(int(month_start.timestamp() * 1000)),
            top_clients=[TopClient(client_id=cid, task_count=n) for cid, n in top],
        )

    # Writing ----------------------------------------------------------------------------
    def create(self, data: ClientCreateData) -> Client:
        values = {name: getattr(data, name) for name in _EDITABLE}
        self._check_business(values)
        if data.email is not None:
            self._check_email_free(data.email, except_id=None)
        now = clock.now_ms()
        row = ClientRow(
            id=str(uuid.uuid4()),
            **values,
            created_at=now,
            updated_at=now,
            created_by=self.actor.user_id,
            updated_by=self.actor.user_id,
            version=1,
        )
        self.clients.add(row)
        self._publish(row.id, "Create", values)
        return Client.of(row, TaskFigures())

    def update(self, data: ClientUpdateData) -> Client:
        row = self._row(data.id, lock=True)
        if data.expected_version is not None and data.expected_version != row.version:
            raise Conflict(
                message=f"The client was changed by someone else (version {row.version}, "
                f"expected {data.expected_version}); reload and retry",
                client_id=row.id,
                expected_version=data.expected_version,
                current_version=row.version,
            )
        given = {name: getattr(data, name) for name in data.model_fields_set if name in _EDITABLE}
        for name in _NOT_NULL:
            if name in given and given[name] is None:
                raise ValidationFailed(
                    message=f"data.{name}: may not be null",
                    fields=[{"field": f"data.{name}", "message": "may not be null"}],
                )
        merged = {name: given.get(name, getattr(row, name)) for name in _EDITABLE}
        self._check_business(merged)
        changes = {name: value for name, value in given.items() if getattr(row, name) != value}
        if changes.get("email") is not None:
            self._check_email_free(changes["email"], except_id=row.id)
        if changes:
            for name, value in changes.items():
                setattr(row, name, value)
            self._touch(row)
            self._publish(row.id, "Update", changes)
        return Client.of(row, self._figures([row]).get(row.id, TaskFigures()))

    def delete(self, client_id: str) -> None:
        """A soft delete; refused while the client has active tasks."""
        row = self._row(client_id, lock=True)
        active = self._figures([row]).get(row.id, TaskFigures()).active_tasks
        if active:
            raise ValidationFailed(
                message=f"The client has {active} active task(s); complete or cancel "
                "them before deleting the client",
                client_id=row.id,
                active_tasks=active,
            )
        row.deleted_at = clock.now_ms()
        self._touch(row)
        self._publish(row.id, "Delete", {"deleted_at": row.deleted_at})

    # Rules ------------------------------------------------------------------------------
    @staticmethod
    def _check_business(values: dict[str, Any]) -> None:
        if values["customer_type"] != "business":
            return
        missing = [f"data.{name}" for name in _BUSINESS_FIELDS if not values.get(name)]
        if missing:
            raise ValidationFailed(
                message=f"{', '.join(missing)}: required for a business client",
                fields=[{"field": f, "message": "required for a business client"} for f in missing],
            )

    def _check_email_free(self, email: str, *, except_id: str | None) -> None:
        holder = self.clients.email_owner(email, except_id=except_id)
        if holder is not None:
            whose = " by a deleted client" if holder.deleted_at is not None else ""
            raise ValidationFailed(
                "VALIDATION_EMAIL_TAKEN", f"Email already in use{whose}", field="data.email"
            )

    # Helpers ----------------------------------------------------------------------------
    def _row(self, client_id: str, *, lock: bool = False) -> ClientRow:
        row = self.clients.get(client_id, lock=lock)
        if row is None:
            raise NotFound("NOT_FOUND_CLIENT", "Client not found", client_id=client_id)
        return row

    def _page(
        self, filters: ClientFilters, pagination: Pagination
    ) -> tuple[list[ClientRow], PageInfo]:
        rows, total = self.clients.page(
            customer_types=filters.customer_type,
            search=filters.search,
            sort_by=filters.sort_by or "name",
            descending=filters.sort_order == "desc",
            offset=(pagination.page - 1) * pagination.page_size,
            limit=pagination.page_size,
        )
        return rows, PageInfo.of(pagination, total)

    def _figures(self, rows: list[ClientRow]) -> dict[str, TaskFigures]:
        return self.clients.tasks.figures([row.id for row in rows])

    def _with_tasks(self, rows: list[ClientRow]) -> list[ClientWithTasks]:
        ids = [row.id for row in rows]
        figures = self.clients.tasks.figures(ids)
        tasks = self.clients.tasks.recent(ids)
        today = shop_today(self.db)
        return [
            ClientWithTasks(
                **Client.fields_of(row, figures.get(row.id, TaskFigures())),
                tasks=[TaskOut.of(task, today) for task in tasks.get(row.id, [])],
            )
            for row in rows
        ]

    def _touch(self, row: ClientRow) -> None:
        row.updated_at = clock.now_ms()
        row.updated_by = self.actor.user_id
        row.version = (row.version or 0) + 1
        self.db.flush()

    def _publish(self, client_id: str, action: str, changes: dict[str, Any]) -> None:
        event = Event(
            type=EVENT_TYPE,
            data={"client_id": client_id, "action": action, "changes": dict(changes)},
        )
        self.publish(event)
