"""What a client looks like on the wire (seed: client_crud, ClientResponse,
ClientWithTasks, ClientStatistics; DOMAIN.md "Clients").

Text is stored as typed (docs/DECISIONS.md): ``clean_text`` strips control characters
and refuses, never truncates, text over its limit. An optional field sent blank is
stored as null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from rpma.core.commands import ActionRequest, IpcRequest
from rpma.core.pagination import PageInfo, Pagination
from rpma.core.validation import (
    FieldValidationError,
    as_pydantic,
    clean_text,
    invalid,
    validate_email,
)
from rpma.domains.clients import models
from rpma.domains.tasks.schemas import TaskOut

__all__ = [
    "SORTABLE_COLUMNS",
    "Client",
    "ClientCreateData",
    "ClientCrudRequest",
    "ClientFilters",
    "ClientIdData",
    "ClientResponse",
    "ClientSearchData",
    "ClientStatistics",
    "ClientUpdateData",
    "ClientWithTasks",
    "PageInfo",
    "Pagination",
    "TaskFigures",
    "TopClient",
]

CustomerType = Literal["individual", "business"]
CUSTOMER_TYPES: Final = ("individual", "business")
SORTABLE_COLUMNS: Final = ("name", "created_at", "updated_at", "customer_type")
MAX_TAGS: Final = 20

_PHONE_RE: Final = re.compile(r"[0-9+\-() ]{5,32}")
_MIN_PHONE_DIGITS: Final = 5


# Field rules -----------------------------------------------------------------------------
def _text(max_length: int, label: str, *, required: bool = False) -> AfterValidator:
    def validate(value: str) -> str | None:
        cleaned = clean_text(value, max_length, field=label)
        if cleaned:
            return cleaned
        if required:
            raise FieldValidationError("VALIDATION_ERROR", f"{label} is required.")
        return None

    return AfterValidator(as_pydantic(validate))


def _email(value: str) -> str | None:
    return validate_email(value) if value.strip() else None


def _phone(value: str) -> str | None:
    candidate = clean_text(value, 32, field="Phone")
    if not candidate:
        return None
    digits = sum(ch.isdigit() for ch in candidate)
    if _PHONE_RE.fullmatch(candidate) is None or digits < _MIN_PHONE_DIGITS:
        raise FieldValidationError(
            "VALIDATION_ERROR",
            "Phone must be 5 to 32 characters of digits, spaces, +, -, ( and ), "
            f"with at least {_MIN_PHONE_DIGITS} digits.",
        )
    return candidate


def _tag(value: str) -> str:
    cleaned = clean_text(value, 50, field="A tag")
    if not cleaned:
        raise FieldValidationError("VALIDATION_ERROR", "A tag may not be empty.")
    return cleaned


def _unique(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


ClientId = Annotated[str, Field(min_length=1, max_length=64)]
ClientName = Annotated[str, _text(200, "Name", required=True)]
ClientEmail = Annotated[str, AfterValidator(as_pydantic(_email))]
Phone = Annotated[str, AfterValidator(as_pydantic(_phone))]
Tags = Annotated[
    list[Annotated[str, AfterValidator(as_pydantic(_tag))]],
    Field(max_length=MAX_TAGS),
    AfterValidator(_unique),
]


# Requests --------------------------------------------------------------------------------
class ClientCrudRequest(ActionRequest):
    """``data`` is checked per action (the ``*Data`` models below); ``List`` and
    ``ListWithTasks`` also take ``filters`` (ClientQuery) and ``pagination``."""

    filters: dict[str, Any] | None = None
    pagination: dict[str, Any] | None = None


class ClientIdData(IpcRequest):
    id: ClientId


class _ClientFields(IpcRequest):
    """The optional fields shared by Create and Update."""

    email: ClientEmail | None = None
    phone: Phone | None = None
    company_name: Annotated[str, _text(200, "Company name")] | None = None
    contact_person: Annotated[str, _text(200, "Contact person")] | None = None
    address_street: Annotated[str, _text(200, "Street")] | None = None
    address_city: Annotated[str, _text(100, "City")] | None = None
    address_state: Annotated[str, _text(100, "State")] | None = None
    address_zip: Annotated[str, _text(20, "ZIP code")] | None = None
    address_country: Annotated[str, _text(100, "Country")] | None = None
    tax_id: Annotated[str, _text(64, "Tax id")] | None = None
    notes: Annotated[str, _text(5000, "Notes")] | None = None


class ClientCreateData(_ClientFields):
    name: ClientName
    customer_type: CustomerType = "individual"
    tags: Tags = Field(default_factory=list)


class ClientUpdateData(_ClientFields):
    """A field left out stays as it is; null (or blank) clears an optional field.
    ``expected_version``, when given, must be the stored version (else CONFLICT)."""

    id: ClientId
    expected_version: int | None = Field(default=None, ge=1)
    name: ClientName | None = None
    customer_type: CustomerType | None = None
    tags: Tags | None = None


class ClientSearchData(IpcRequest):
    query: str = Field(max_length=500)
    limit: int = Field(default=10, ge=1, le=100)


class ClientFilters(IpcRequest):
    """The seed's ClientQuery."""

    customer_type: list[CustomerType] | None = None
    search: str | None = Field(default=None, max_length=500)
    sort_by: str | None = None
    sort_order: Literal["asc", "desc"] | None = None

    @field_validator("sort_by")
    @classmethod
    def _allowed_column(cls, value: str | None) -> str | None:
        if value is not None and value not in SORTABLE_COLUMNS:
            raise invalid(
                "sort_by must be one of: {allowed}",
                {"allowed": ", ".join(SORTABLE_COLUMNS)},
            )
        return value


# Answers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskFigures:
    """A client's derived task figures (non-deleted tasks only)."""

    total_tasks: int = 0
    active_tasks: int = 0
    completed_tasks: int = 0
    last_task_date: int | None = None


class Client(BaseModel):
    """Derived: ``total_tasks``; ``active_tasks`` (scheduled, in_progress, paused,
    on_hold); ``completed_tasks`` (completed or archived); ``last_task_date`` (Unix ms
    of the newest task's creation, null without tasks)."""

    id: str
    name: str
    email: str | None
    phone: str | None
    customer_type: CustomerType
    company_name: str | None
    contact_person: str | None
    address_street: str | None
    address_city: str | None
    address_state: str | None
    address_zip: str | None
    address_country: str | None
    tax_id: str | None
    notes: str | None
    tags: list[str]
    total_tasks: int
    active_tasks: int
    completed_tasks: int
    last_task_date: int | None
    created_at: int
    updated_at: int
    created_by: str | None
    updated_by: str | None
    version: int

    @staticmethod
    def fields_of(row: models.Client, figures: TaskFigures) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "customer_type": row.customer_type,
            "company_name": row.company_name,
            "contact_person": row.contact_person,
            "address_street": row.address_street,
            "address_city": row.address_city,
            "address_state": row.address_state,
            "address_zip": row.address_zip,
            "address_country": row.address_country,
            "tax_id": row.tax_id,
            "notes": row.notes,
            "tags": list(row.tags),
            "total_tasks": figures.total_tasks,
            "active_tasks": figures.active_tasks,
            "completed_tasks": figures.completed_tasks,
            "last_task_date": figures.last_task_date,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "created_by": row.created_by,
            "updated_by": row.updated_by,
            "version": row.version,
        }

    @classmethod
    def of(cls, row: models.Client, figures: TaskFigures) -> Client:
        return cls(**cls.fields_of(row, figures))


class ClientWithTasks(Client):
    """The client and its tasks: non-deleted, newest first, at most 100."""

    tasks: list[TaskOut]


class TopClient(BaseModel):
    client_id: str
    task_count: int


class ClientStatistics(BaseModel):
    """``new_this_month`` counts clients created since the start of the current
    calendar month in UTC; ``top_clients`` are the 10 with the most tasks."""

    total_clients: int
    by_type: dict[str, int]
    new_this_month: int
    top_clients: list[TopClient]


class ClientResponse(BaseModel):
    """The seed's ClientResponse, plus ``pagination`` for the lists (CONTRACT.md
    section 4). Keys without a value are left out, not sent as null."""

    client: Client | None = None
    clients: list[Client] | None = None
    client_with_tasks: ClientWithTasks | None = None
    clients_with_tasks: list[ClientWithTasks] | None = None
    pagination: PageInfo | None = None
    statistics: ClientStatistics | None = None
    message: str | None = None

    # No return annotation on purpose (see UserCrudResponse): the OpenAPI document
    # would lose the fields.
    @model_serializer(mode="wrap")
    def _drop_empty(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped: dict[str, Any] = handler(self)
        return {key: value for key, value in dumped.items() if value is not None}
