"""`rpma users ...`, run as an operator runs it (typer's runner, a real database file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rpma.app import build_services
from rpma.cli import app
from rpma.config import Settings
from rpma.core.context import ClientInfo
from rpma.core.permissions import Role
from rpma.core.services import Services
from rpma.domains.auth.models import AuthSession
from rpma.domains.auth.schemas import CreateAccountRequest
from rpma.domains.auth.service import AuthService
from rpma.domains.security.models import SecurityEvent
from rpma.domains.users.repository import UserRepository

runner = CliRunner()
NEW_PASSWORD = "Console-Reset-2024"


@pytest.fixture
def services(cli_env: Path) -> Iterator[Services]:
    built = build_services(Settings())
    yield built
    built.db.dispose()


def add_user(services: Services, email: str, role: Role, *, sign_in: bool = False) -> str:
    with services.db.session(write=True) as db:
        auth = AuthService(db, services)
        req = CreateAccountRequest.model_validate(
            {"email": email, "first_name": "Ann", "last_name": "Lee", "password": "First-Pass-2024"}
        )
        user = auth.create_user(req, role=role, actor_id=None)
        if sign_in:
            auth.open_session(user, ClientInfo(ip_address="10.0.0.7"))
        db.commit()
        return user.id


def live_sessions(services: Services, user_id: str) -> int:
    with services.db.session(write=False) as db:
        rows = db.scalars(
            select(AuthSession).where(
                AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
            )
        )
        return len(list(rows))


def test_list_shows_a_table_of_users(services: Services) -> None:
    add_user(services, "boss@shop.example", Role.ADMIN)
    tech_id = add_user(services, "tech@shop.example", Role.TECHNICIAN)
    with services.db.session(write=True) as db:
        tech = UserRepository(db).get(tech_id)
        assert tech is not None
        tech.is_active = False
        tech.last_login_at = 1_704_067_200_000  # 2024-01-01 00:00 UTC
        db.commit()
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        all(w in line for w in ("Email", "Name", "Role", "Active", "Last login")) for line in lines
    )
    boss = next(line for line in lines if "boss@shop.example" in line)
    assert all(w in boss for w in ("Ann Lee", "admin", "yes", "never"))
    tech_line = next(line for line in lines if "tech@shop.example" in line)
    assert all(w in tech_line for w in ("technician", "no", "2024-01-01 00:00 UTC"))
    assert "2 user(s)." in result.output
    active_only = runner.invoke(app, ["users", "list", "--active-only"])
    assert "tech@shop.example" not in active_only.output
    assert "1 user(s)." in active_only.output


def test_list_on_an_empty_database(cli_env: Path) -> None:
    result = runner.invoke(app, ["users", "list"])
    assert result.exit_code == 0, result.output
    assert "0 user(s)." in result.output


def test_reset_password_prompts_twice_and_ends_sessions(services: Services) -> None:
    user_id = add_user(services, "tech@shop.example", Role.TECHNICIAN, sign_in=True)
    add_user(services, "boss@shop.example", Role.ADMIN, sign_in=True)
    assert live_sessions(services, user_id) == 1
    result = runner.invoke(
        app,
        ["users", "reset-password", "TECH@shop.example"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password of tech@shop.example reset; 1 session(s) ended." in result.output
    assert NEW_PASSWORD not in result.output  # hidden input is not echoed
    assert live_sessions(services, user_id) == 0
    with services.db.session(write=False) as db:
        user = UserRepository(db).get(user_id)
        assert user is not None
        assert services.passwords.verify(user.password_hash, NEW_PASSWORD)
        boss = UserRepository(db).by_email("boss@shop.example")
        assert boss is not None
        assert live_sessions(services, boss.id) == 1  # nobody else's session ends
        [event] = db.scalars(
            select(SecurityEvent).where(SecurityEvent.event_type == "password_reset")
        )
        assert event.user_id == user_id
        assert event.details is not None
        assert '"by": "console"' in event.details


def test_reset_password_asks_again_when_the_two_differ(services: Services) -> None:
    add_user(services, "tech@shop.example", Role.TECHNICIAN)
    result = runner.invoke(
        app,
        ["users", "reset-password", "tech@shop.example"],
        input=f"{NEW_PASSWORD}\nSomething-Else-1\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output


def test_reset_password_refuses_weak_passwords_and_unknown_users(services: Services) -> None:
    user_id = add_user(services, "tech@shop.example", Role.TECHNICIAN)
    weak = runner.invoke(
        app, ["users", "reset-password", "tech@shop.example"], input="weakpass\nweakpass\n"
    )
    assert weak.exit_code == 1
    assert "VALIDATION_PASSWORD_WEAK" in weak.output
    with services.db.session(write=False) as db:
        user = UserRepository(db).get(user_id)
        assert user is not None
        assert services.passwords.verify(user.password_hash, "First-Pass-2024")
    unknown = runner.invoke(
        app,
        ["users", "reset-password", "nobody@shop.example"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert unknown.exit_code == 1
    assert "NOT_FOUND_USER" in unknown.output
