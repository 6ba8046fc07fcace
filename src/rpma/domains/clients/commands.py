"""client_crud (seed: Client Commands; Permission Matrix, "Client" rows). Thin: parse
the action's data, call the service, answer."""

from __future__ import annotations

from collections.abc import Callable

from rpma.core.commands import command
from rpma.core.context import CommandContext
from rpma.core.parsing import parse
from rpma.domains.clients.schemas import (
    ClientCreateData,
    ClientCrudRequest,
    ClientFilters,
    ClientIdData,
    ClientResponse,
    ClientSearchData,
    ClientUpdateData,
    Pagination,
)
from rpma.domains.clients.service import ClientService

# The seed's matrix (CONTRACT.md section 8: where the seed contradicts itself, the
# matrix wins, so deleting a client is the admin's alone).
PERMISSIONS = {
    "Create": "client.create",
    "Get": "client.read",
    "GetWithTasks": "client.read",
    "Update": "client.update",
    "Delete": "client.delete",
    "List": "client.read",
    "ListWithTasks": "client.read",
    "Search": "client.read",
    "Stats": "client.read",
}


def _list_args(req: ClientCrudRequest) -> tuple[ClientFilters, Pagination]:
    data = req.data or {}
    # The seed puts filters and pagination beside data; inside data is accepted too.
    filters = parse(ClientFilters, req.filters or data.get("filters"), "filters")
    pagination = parse(Pagination, req.pagination or data.get("pagination"), "pagination")
    return filters, pagination


def _create(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    return ClientResponse(client=service.create(parse(ClientCreateData, req.data, "data")))


def _get(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    return ClientResponse(client=service.get(parse(ClientIdData, req.data, "data").id))


def _get_with_tasks(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    client_id = parse(ClientIdData, req.data, "data").id
    return ClientResponse(client_with_tasks=service.get_with_tasks(client_id))


def _update(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    return ClientResponse(client=service.update(parse(ClientUpdateData, req.data, "data")))


def _delete(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    service.delete(parse(ClientIdData, req.data, "data").id)
    return ClientResponse(message="Client deleted")


def _list(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    clients, info = service.page(*_list_args(req))
    return ClientResponse(clients=clients, pagination=info)


def _list_with_tasks(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    clients, info = service.page_with_tasks(*_list_args(req))
    return ClientResponse(clients_with_tasks=clients, pagination=info)


def _search(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    data = parse(ClientSearchData, req.data, "data")
    return ClientResponse(clients=service.search(data.query, data.limit))


def _stats(service: ClientService, req: ClientCrudRequest) -> ClientResponse:
    return ClientResponse(statistics=service.statistics())


ACTIONS: dict[str, Callable[[ClientService, ClientCrudRequest], ClientResponse]] = {
    "Create": _create,
    "Get": _get,
    "GetWithTasks": _get_with_tasks,
    "Update": _update,
    "Delete": _delete,
    "List": _list,
    "ListWithTasks": _list_with_tasks,
    "Search": _search,
    "Stats": _stats,
}
assert set(ACTIONS) == set(PERMISSIONS)


@command(
    "client_crud",
    request=ClientCrudRequest,
    response=ClientResponse,
    permission=PERMISSIONS,
    writes=frozenset({"Create", "Update", "Delete"}),
    errors=[
        "VALIDATION_ERROR",
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_EMAIL_TAKEN",
        "NOT_FOUND_CLIENT",
        "CONFLICT",
        "AUTH_FORBIDDEN",
        "AUTH_SESSION_INVALID",
        "AUTH_SESSION_EXPIRED",
    ],
)
def client_crud(ctx: CommandContext, req: ClientCrudRequest) -> ClientResponse:
    """Manage the workshop's clients: `Create Get GetWithTasks Update Delete List
    ListWithTasks Search Stats`. `data.id` names the client; `Create` takes `name`
    (required), `email` (unique), `phone`, `customer_type` (`individual` | `business`;
    a business needs `company_name` and `contact_person`), `address_street`,
    `address_city`, `address_state`, `address_zip`, `address_country`, `tax_id`,
    `notes`, `tags[]`; `Update` any of them plus an optional `expected_version` (a stale
    one is `CONFLICT`). `Delete` is a soft delete, refused while the client has active
    tasks. `List` and `ListWithTasks` take `filters: {customer_type[], search, sort_by
    (name, created_at, updated_at, customer_type), sort_order}` and `pagination: {page,
    page_size}`; `Search` takes `data: {query, limit (1..100, default 10)}` and answers
    the best full-text matches over name, email, phone, company and notes. Every client
    carries `total_tasks, active_tasks, completed_tasks, last_task_date`;
    `GetWithTasks` and `ListWithTasks` add each client's `tasks`, newest first, at most
    100 per client. `Stats` answers `{statistics: {total_clients, by_type,
    new_this_month (UTC calendar month), top_clients}}`.
    """
    service = ClientService(ctx.db, ctx.user, ctx.publish_after_commit)
    return ACTIONS[req.action](service, req)
