"""user_crud through the real HTTP transport: every action, every role, the self and
last-admin protections, and the sessions that must end with an account."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from rpma.client import IpcClient, IpcError
from rpma.core.clock import clock
from rpma.core.errors import ValidationFailed
from rpma.core.permissions import Role
from rpma.domains.auth.models import AuthSession
from rpma.domains.security.models import SecurityEvent
from rpma.domains.users.models import User
from rpma.domains.users.service import UserService
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, LiveServer, make_user
from tests.helpers import refused, snapshot

NEW = {
    "email": "Nina.Novak@Shop.Example",
    "first_name": "Nina",
    "last_name": "Novak",
    "password": USER_PASSWORD,
    "role": "technician",
    "phone": "+33 6 12 34 56 78",
}
ADMIN_ONLY_ACTIONS = ["Create", "Delete", "ChangeRole", "Activate", "Deactivate", "ResetPassword"]


# Helpers -----------------------------------------------------------------------------------
def me(client: IpcClient) -> dict[str, Any]:
    return dict(client.call("auth_validate_session", {})["user"])


def create(admin: IpcClient, email: str, role: str = "technician", **extra: Any) -> dict[str, Any]:
    data = {**NEW, "email": email, "role": role, **extra}
    return dict(admin.users.crud("Create", data)["user"])


def events(server: LiveServer, event_type: str) -> list[SecurityEvent]:
    with server.services.db.session(write=False) as db:
        return list(
            db.scalars(
                select(SecurityEvent)
                .where(SecurityEvent.event_type == event_type)
                .order_by(SecurityEvent.timestamp)
            )
        )


def stored(server: LiveServer, user_id: str) -> User:
    with server.services.db.session(write=False) as db:
        user = db.get(User, user_id)
        assert user is not None
        return user


def live_sessions(server: LiveServer, user_id: str) -> int:
    with server.services.db.session(write=False) as db:
        rows = db.scalars(
            select(AuthSession).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
        return len(list(rows))


def login_refused(client: IpcClient, email: str, password: str) -> None:
    """A refused login (it writes the failure to the trail, so no ``refused``)."""
    with pytest.raises(IpcError) as caught:
        client.auth.login(email, password)
    assert (caught.value.code, caught.value.status) == ("AUTH_INVALID", 401)


def refused_logged(server: LiveServer, call: Callable[[], Any], code: str, status: int) -> IpcError:
    """Like ``refused``, for refusals that leave a security event behind: nothing but
    ``security_events`` may change, and that one gets exactly one new row."""
    before = snapshot(server.services, exclude=())
    with pytest.raises(IpcError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status), caught.value
    after = snapshot(server.services, exclude=())
    events_before, events_after = before.pop("security_events"), after.pop("security_events")
    assert len(events_after) == len(events_before) + 1
    assert after == before
    return caught.value


@pytest.fixture
def tech(admin: IpcClient, server: LiveServer) -> Iterator[IpcClient]:
    client = make_user(admin, server, "technician", "tech@shop.example")
    yield client
    client.close()


# Create ---------------------------------------------------------------------------------------
def test_create_answers_the_new_account(server: LiveServer, admin: IpcClient) -> None:
    clock.freeze()
    owner_id = me(admin)["id"]
    answer = admin.users.crud("Create", NEW)
    assert set(answer) == {"user"}
    user = answer["user"]
    assert user == {
        "id": user["id"],
        "email": "nina.novak@shop.example",
        "username": "ninanovak",
        "first_name": "Nina",
        "last_name": "Novak",
        "full_name": "Nina Novak",
        "role": "technician",
        "phone": "+33 6 12 34 56 78",
        "is_active": True,
        "last_login_at": None,
        "two_factor_enabled": False,
        "created_at": clock.now_ms(),
        "updated_at": clock.now_ms(),
    }
    assert "hash" not in json.dumps(answer)
    row = stored(server, user["id"])
    assert (row.created_by, row.version) == (owner_id, 1)
    assert row.password_hash.startswith("$argon2id$")
    [event] = events(server, "user_created")
    assert event.user_id == user["id"]
    assert json.loads(event.details or "{}") == {"role": "technician", "actor_id": owner_id}
    with server.client() as nina:
        assert nina.auth.login("nina.novak@shop.example", USER_PASSWORD)["user"]["id"] == user["id"]


def test_create_without_a_role_makes_a_technician(admin: IpcClient) -> None:
    data = {k: v for k, v in NEW.items() if k not in {"role", "phone"}}
    user = admin.users.crud("Create", data)["user"]
    assert (user["role"], user["phone"]) == ("technician", None)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"email": "not-an-email"}, "VALIDATION_EMAIL_INVALID", "data.email"),
        ({"password": "weakpass"}, "VALIDATION_PASSWORD_WEAK", "data.password"),
        ({"first_name": "<b>"}, "VALIDATION_ERROR", "data.first_name"),
        ({"role": "owner"}, "VALIDATION_ERROR", "data.role"),
        ({"phone": "1" * 33}, "VALIDATION_ERROR", "data.phone"),
    ],
)
def test_create_refuses_bad_input(
    server: LiveServer, admin: IpcClient, change: dict[str, Any], code: str, field: str
) -> None:
    error = refused(
        server.services, lambda: admin.users.crud("Create", {**NEW, **change}), code, 400
    )
    assert [f["field"] for f in error.details["fields"]] == [field]


def test_create_refuses_a_taken_email(server: LiveServer, admin: IpcClient) -> None:
    error = refused(
        server.services,
        lambda: admin.users.crud("Create", {**NEW, "email": "OWNER@shop.example"}),
        "VALIDATION_EMAIL_TAKEN",
        400,
    )
    assert error.message == "Email already in use"


def test_missing_data_and_unknown_actions_are_named(server: LiveServer, admin: IpcClient) -> None:
    error = refused(server.services, lambda: admin.users.crud("Get"), "VALIDATION_ERROR", 400)
    assert error.message == "data.id: Field required"
    error = refused(server.services, lambda: admin.users.crud("Promote"), "VALIDATION_ERROR", 400)
    assert error.message.startswith("action must be one of: Create, Get, List, Update")
    error = refused(
        server.services,
        lambda: admin.call("user_crud", {"action": "Get", "data": "someone"}),
        "VALIDATION_ERROR",
        400,
    )
    assert error.details["fields"][0]["field"] == "data"


# Get and List ---------------------------------------------------------------------------------
def test_every_role_reads_users(role_clients: dict[str, IpcClient]) -> None:
    owner = me(role_clients["admin"])
    for role, client in role_clients.items():
        assert client.users.crud("Get", {"id": owner["id"]})["user"] == owner, role
        listed = client.users.crud("List")
        assert listed["pagination"] == {"page": 1, "page_size": 20, "total": 4, "total_pages": 1}
        assert {u["role"] for u in listed["users"]} == {
            "admin",
            "supervisor",
            "technician",
            "viewer",
        }


def test_unknown_or_deleted_user_is_not_found(server: LiveServer, admin: IpcClient) -> None:
    error = refused(
        server.services,
        lambda: admin.users.crud("Get", {"id": "00000000-0000-0000-0000-000000000000"}),
        "NOT_FOUND_USER",
        404,
    )
    assert error.message == "User not found"
    extra = {"ChangeRole": {"role": "viewer"}, "ResetPassword": {"new_password": USER_PASSWORD}}
    for action in ["Update", "Delete", "ChangeRole", "Activate", "Deactivate", "ResetPassword"]:
        data = {"id": "nope", **extra.get(action, {})}
        refused(
            server.services,
            partial(admin.users.crud, action, data),
            "NOT_FOUND_USER",
            404,
        )


def test_list_pages_filters_and_searches(server: LiveServer, admin: IpcClient) -> None:
    for i, (first, last, role) in enumerate(
        [
            ("Alice", "Zimmer", "technician"),
            ("Bruno", "Young", "technician"),
            ("Chloé", "Xavier", "supervisor"),
            ("Dara", "Walsh", "viewer"),
            ("Emil", "Vance", "technician"),
        ]
    ):
        create(admin, f"user{i}@garage.example", role, first_name=first, last_name=last)
    # Sorted by last name: Owner, Vance, Walsh, Xavier, Young, Zimmer.
    page = admin.users.crud("List", pagination={"page": 2, "page_size": 4})
    assert page["pagination"] == {"page": 2, "page_size": 4, "total": 6, "total_pages": 2}
    assert [u["last_name"] for u in page["users"]] == ["Young", "Zimmer"]
    beyond = admin.users.crud("List", pagination={"page": 3, "page_size": 4})
    assert beyond == {
        "users": [],
        "pagination": {"page": 3, "page_size": 4, "total": 6, "total_pages": 2},
    }
    techs = admin.users.crud("List", filters={"role": "technician"})
    assert [u["first_name"] for u in techs["users"]] == ["Emil", "Bruno", "Alice"]
    assert techs["pagination"]["total"] == 3
    for term, expected in [
        ("CHLO", ["Chloé"]),
        ("dara walsh", ["Dara"]),
        ("GARAGE.example", ["Emil", "Dara", "Chloé", "Bruno", "Alice"]),
        ("%", []),
        ("  ", ["Olive", "Emil", "Dara", "Chloé", "Bruno", "Alice"]),
    ]:
        found = admin.users.crud("List", filters={"search": term})["users"]
        assert [u["first_name"] for u in found] == expected, term
    dara = admin.users.crud("List", filters={"search": "dara"})["users"][0]
    admin.users.crud("Deactivate", {"id": dara["id"]})
    inactive = admin.users.crud("List", filters={"is_active": False})
    assert [u["id"] for u in inactive["users"]] == [dara["id"]]
    active = admin.users.crud("List", filters={"is_active": True, "role": "viewer"})
    assert active["pagination"]["total"] == 0
    # Filters and pagination inside data work as well.
    inside = admin.users.crud("List", {"filters": {"role": "supervisor"}})
    assert [u["first_name"] for u in inside["users"]] == ["Chloé"]


@pytest.mark.parametrize(
    "pagination", [{"page": 0}, {"page_size": 0}, {"page_size": 201}, {"page": "1"}]
)
def test_list_refuses_bad_pagination(
    server: LiveServer, admin: IpcClient, pagination: dict[str, Any]
) -> None:
    error = refused(
        server.services,
        lambda: admin.users.crud("List", pagination=pagination),
        "VALIDATION_ERROR",
        400,
    )
    assert error.details["fields"][0]["field"] == f"pagination.{next(iter(pagination))}"


def test_list_page_size_200_is_the_maximum(admin: IpcClient) -> None:
    page = admin.users.crud("List", pagination={"page_size": 200})
    assert page["pagination"] == {"page": 1, "page_size": 200, "total": 1, "total_pages": 1}


# Update -----------------------------------------------------------------------------------------
def test_admin_updates_profile_fields(server: LiveServer, admin: IpcClient) -> None:
    nina = create(admin, "nina@shop.example")
    clock.freeze()
    changed = admin.users.crud(
        "Update",
        {
            "id": nina["id"],
            "first_name": "Nine",
            "last_name": "Novak-Smith",
            "phone": None,
            "username": "nine_ns",
            "email": "Nine@Shop.Example",
        },
    )["user"]
    assert changed == {
        **nina,
        "first_name": "Nine",
        "last_name": "Novak-Smith",
        "full_name": "Nine Novak-Smith",
        "phone": None,
        "username": "nine_ns",
        "email": "nine@shop.example",
        "updated_at": clock.now_ms(),
    }
    assert stored(server, nina["id"]).version == 2
    assert admin.users.crud("Get", {"id": nina["id"]})["user"] == changed
    # Fields left out stay; an unchanged value does not count as a change.
    same = admin.users.crud("Update", {"id": nina["id"], "first_name": "Nine"})["user"]
    assert same == changed
    assert stored(server, nina["id"]).version == 2
    with server.client() as client:
        client.auth.login("nine@shop.example", USER_PASSWORD)


def test_update_refuses_taken_names_and_other_fields(server: LiveServer, admin: IpcClient) -> None:
    nina = create(admin, "nina@shop.example")
    other = create(admin, "omar@shop.example")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"email": "OMAR@shop.example"}, "VALIDATION_EMAIL_TAKEN", "Email already in use"),
        ({"username": other["username"].upper()}, "VALIDATION_USERNAME_TAKEN", ""),
        ({"role": "admin"}, "VALIDATION_ERROR", "data.role cannot be changed by Update"),
        ({"password": USER_PASSWORD}, "VALIDATION_ERROR", "data.password cannot"),
        ({"is_active": False}, "VALIDATION_ERROR", "data.is_active cannot"),
        ({"first_name": None}, "VALIDATION_ERROR", "data.first_name: may not be empty"),
        ({"username": "9lives"}, "VALIDATION_ERROR", "data.username: "),
        ({"email": "bad"}, "VALIDATION_EMAIL_INVALID", ""),
    ]
    for change, code, message in cases:
        error = refused(
            server.services,
            partial(admin.users.crud, "Update", {"id": nina["id"], **change}),
            code,
            400,
        )
        assert error.message.startswith(message), error
    # Keeping one's own email or username is no conflict.
    kept = {"id": nina["id"], "email": nina["email"], "username": nina["username"]}
    assert admin.users.crud("Update", kept)["user"] == nina


def test_supervisor_updates_self_only(
    server: LiveServer, role_clients: dict[str, IpcClient]
) -> None:
    supervisor = role_clients["supervisor"]
    own = me(supervisor)
    updated = supervisor.users.crud("Update", {"id": own["id"], "phone": "555-0100"})["user"]
    assert updated["phone"] == "555-0100"
    for target in ("admin", "technician"):
        target_id = me(role_clients[target])["id"]
        error = refused_logged(
            server,
            partial(supervisor.users.crud, "Update", {"id": target_id, "phone": "1"}),
            "AUTH_FORBIDDEN",
            403,
        )
        assert error.message == "A supervisor may update only their own account"
    denied = events(server, "permission_denied")
    assert [e.user_id for e in denied] == [own["id"], own["id"]]
    # Unknown ids are refused the same way: no probing for which ids exist.
    refused_logged(
        server,
        lambda: supervisor.users.crud("Update", {"id": "nope", "phone": "1"}),
        "AUTH_FORBIDDEN",
        403,
    )


@pytest.mark.parametrize("role", ["technician", "viewer"])
def test_technicians_and_viewers_cannot_update_even_themselves(
    server: LiveServer, role_clients: dict[str, IpcClient], role: str
) -> None:
    client = role_clients[role]
    own = me(client)
    refused_logged(
        server,
        lambda: client.users.crud("Update", {"id": own["id"], "phone": "1"}),
        "AUTH_FORBIDDEN",
        403,
    )


@pytest.mark.parametrize("role", ["supervisor", "technician", "viewer"])
def test_admin_only_actions_are_refused_to_other_roles(
    server: LiveServer, role_clients: dict[str, IpcClient], role: str
) -> None:
    client = role_clients[role]
    target = me(role_clients["technician" if role != "technician" else "viewer"])["id"]
    data = {
        **NEW,
        "id": target,
        "role": "admin",
        "new_password": "Another-Pass-2024",
    }
    for action in ADMIN_ONLY_ACTIONS:
        refused_logged(server, partial(client.users.crud, action, data), "AUTH_FORBIDDEN", 403)
    # Not even on themselves (a technician promoting itself, a viewer resetting).
    own = me(client)["id"]
    for action in ["ChangeRole", "Deactivate", "Delete", "ResetPassword"]:
        refused_logged(
            server,
            partial(client.users.crud, action, {**data, "id": own}),
            "AUTH_FORBIDDEN",
            403,
        )


# ChangeRole, Activate, Deactivate ------------------------------------------------------------
def test_change_role_applies_at_once(server: LiveServer, admin: IpcClient, tech: IpcClient) -> None:
    tech_id = me(tech)["id"]
    other = create(admin, "other@shop.example")
    refused_logged(
        server,
        lambda: tech.users.crud("Update", {"id": other["id"], "phone": "1"}),
        "AUTH_FORBIDDEN",
        403,
    )
    promoted = admin.users.crud("ChangeRole", {"id": tech_id, "role": "admin"})["user"]
    assert promoted["role"] == "admin"
    # The same token now carries the new role.
    assert tech.users.crud("Update", {"id": other["id"], "phone": "1"})["user"]["phone"] == "1"
    [event] = events(server, "role_changed")
    assert event.user_id == tech_id
    assert json.loads(event.details or "{}") == {
        "old_role": "technician",
        "new_role": "admin",
        "actor_id": me(admin)["id"],
    }
    # Changing to the role it already has is no change and no event.
    admin.users.crud("ChangeRole", {"id": tech_id, "role": "admin"})
    assert len(events(server, "role_changed")) == 1
    admin.users.crud("ChangeRole", {"id": tech_id, "role": "viewer"})
    refused_logged(server, lambda: tech.users.crud("Create", NEW), "AUTH_FORBIDDEN", 403)


def test_deactivation_ends_sessions_at_once_and_blocks_login(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    tech_id = me(tech)["id"]
    with server.client() as second:
        second.auth.login("tech@shop.example", USER_PASSWORD)
        sessions = live_sessions(server, tech_id)
        assert sessions >= 2
        answer = admin.users.crud("Deactivate", {"id": tech_id})["user"]
        assert answer["is_active"] is False
        for client in (tech, second):
            refused(
                server.services,
                partial(client.call, "auth_validate_session", {}),
                "AUTH_SESSION_INVALID",
                401,
            )
            refused(
                server.services,
                client.auth.refresh_token,
                "AUTH_SESSION_INVALID",
                401,
            )
    with server.client() as again:
        login_refused(again, "tech@shop.example", USER_PASSWORD)
    [event] = events(server, "user_deactivated")
    details = json.loads(event.details or "{}")
    assert (event.user_id, details["sessions_ended"]) == (tech_id, sessions)
    assert live_sessions(server, tech_id) == 0
    # Deactivating twice changes nothing more.
    admin.users.crud("Deactivate", {"id": tech_id})
    assert len(events(server, "user_deactivated")) == 1
    assert admin.users.crud("Activate", {"id": tech_id})["user"]["is_active"] is True
    assert len(events(server, "user_activated")) == 1
    with server.client() as back:
        back.auth.login("tech@shop.example", USER_PASSWORD)
        assert me(back)["id"] == tech_id
    # The old sessions stay ended: reactivation does not revive them.
    refused(
        server.services,
        lambda: tech.call("auth_validate_session", {}),
        "AUTH_SESSION_INVALID",
        401,
    )


# Delete ------------------------------------------------------------------------------------
def test_delete_is_soft_and_ends_sessions(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    tech_id = me(tech)["id"]
    clock.freeze()
    assert admin.users.crud("Delete", {"id": tech_id}) == {"message": "User deleted"}
    row = stored(server, tech_id)
    assert (row.deleted_at, row.is_active) == (clock.now_ms(), False)
    refused(server.services, lambda: me(tech), "AUTH_SESSION_INVALID", 401)
    refused(
        server.services, lambda: admin.users.crud("Get", {"id": tech_id}), "NOT_FOUND_USER", 404
    )
    refused(
        server.services, lambda: admin.users.crud("Delete", {"id": tech_id}), "NOT_FOUND_USER", 404
    )
    assert [u["id"] for u in admin.users.crud("List")["users"]] == [me(admin)["id"]]
    with server.client() as client:
        login_refused(client, "tech@shop.example", USER_PASSWORD)
    # The row keeps its email, so it cannot be handed to somebody else silently.
    refused(
        server.services,
        lambda: admin.users.crud("Create", {**NEW, "email": "tech@shop.example"}),
        "VALIDATION_EMAIL_TAKEN",
        400,
    )
    [event] = events(server, "user_deleted")
    assert event.user_id == tech_id


# Self and last-admin protection ------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "extra", "message"),
    [
        ("Delete", {}, "You cannot delete your own account; ask another admin"),
        ("Deactivate", {}, "You cannot deactivate your own account; ask another admin"),
        ("ChangeRole", {"role": "supervisor"}, "You cannot change your own role"),
        ("ResetPassword", {"new_password": "Brand-New-Pass-1"}, "You cannot reset your own"),
    ],
)
def test_an_admin_cannot_remove_or_demote_themselves(
    server: LiveServer, admin: IpcClient, action: str, extra: dict[str, Any], message: str
) -> None:
    # A second admin exists, so only the self rule can refuse.
    create(admin, "second@shop.example", "admin")
    own = me(admin)["id"]
    error = refused(
        server.services,
        lambda: admin.users.crud(action, {"id": own, **extra}),
        "VALIDATION_ERROR",
        400,
    )
    assert error.message.startswith(message)
    assert me(admin)["role"] == "admin"


def test_an_admin_may_remove_another_admin(server: LiveServer, admin: IpcClient) -> None:
    second = create(admin, "second@shop.example", "admin")
    admin.users.crud("ChangeRole", {"id": second["id"], "role": "viewer"})
    admin.users.crud("ChangeRole", {"id": second["id"], "role": "admin"})
    admin.users.crud("Deactivate", {"id": second["id"]})
    admin.users.crud("Delete", {"id": second["id"]})


@pytest.mark.parametrize("operation", ["change_role", "deactivate", "delete"])
def test_the_last_active_admin_is_never_removed(
    server: LiveServer, admin: IpcClient, operation: str
) -> None:
    """Through the API the caller is always an active admin, so the self rule answers
    first; the console (no caller) and concurrent demotions meet this rule."""
    owner_id = me(admin)["id"]
    second = create(admin, "second@shop.example", "admin")
    admin.users.crud("Deactivate", {"id": second["id"]})
    with server.services.db.session(write=True) as db:
        service = UserService(db, server.services, actor=None)
        calls: dict[str, Callable[[], object]] = {
            "change_role": lambda: service.change_role(owner_id, Role.SUPERVISOR),
            "deactivate": lambda: service.deactivate(owner_id),
            "delete": lambda: service.delete(owner_id),
        }
        with pytest.raises(ValidationFailed) as caught:
            calls[operation]()
        db.rollback()
    assert caught.value.code == "VALIDATION_ERROR"
    assert caught.value.message.startswith("The last active admin cannot be")
    assert me(admin)["role"] == "admin"


def test_a_sole_admin_keeps_the_role(server: LiveServer, admin: IpcClient) -> None:
    own = me(admin)["id"]
    for action, extra in [("ChangeRole", {"role": "viewer"}), ("Deactivate", {})]:
        refused(
            server.services,
            partial(admin.users.crud, action, {"id": own, **extra}),
            "VALIDATION_ERROR",
            400,
        )


# ResetPassword ------------------------------------------------------------------------------
def test_reset_password_ends_every_session(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    tech_id = me(tech)["id"]
    sessions = live_sessions(server, tech_id)
    answer = admin.users.crud("ResetPassword", {"id": tech_id, "new_password": "Fresh-Start-2024"})
    assert answer == {"message": f"Password reset; {sessions} session(s) ended"}
    assert live_sessions(server, tech_id) == 0
    refused(server.services, lambda: me(tech), "AUTH_SESSION_INVALID", 401)
    with server.client() as client:
        login_refused(client, "tech@shop.example", USER_PASSWORD)
        client.auth.login("tech@shop.example", "Fresh-Start-2024")
    [event] = events(server, "password_reset")
    assert event.user_id == tech_id
    assert json.loads(event.details or "{}") == {
        "sessions_ended": sessions,
        "actor_id": me(admin)["id"],
    }
    error = refused(
        server.services,
        lambda: admin.users.crud("ResetPassword", {"id": tech_id, "new_password": "short"}),
        "VALIDATION_PASSWORD_WEAK",
        400,
    )
    assert error.details["fields"][0]["field"] == "data.new_password"
    with server.client() as owner:
        owner.auth.login("owner@shop.example", ADMIN_PASSWORD)  # the admin's own is intact


def test_reset_password_unlocks_a_locked_out_account(
    server: LiveServer, admin: IpcClient, tech: IpcClient
) -> None:
    tech_id = me(tech)["id"]
    with server.client() as client:
        for _ in range(5):
            login_refused(client, "tech@shop.example", "Wrong-Password-99")
        login_refused(client, "tech@shop.example", USER_PASSWORD)  # locked now
        admin.users.crud("ResetPassword", {"id": tech_id, "new_password": "Fresh-Start-2024"})
        assert client.auth.login("tech@shop.example", "Fresh-Start-2024")["user"]["id"] == tech_id
