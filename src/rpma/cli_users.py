"""`rpma users ...`: user administration at the server's console, straight on the
database (no server, no session needed: whoever runs this already holds the data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rpma.config import Settings
from rpma.core.clock import from_ms
from rpma.core.errors import AppError
from rpma.core.services import Services

app = typer.Typer(help="Manage user accounts on this server's database.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@contextmanager
def _services() -> Iterator[Services]:
    from rpma.app import build_services

    services = build_services(Settings())
    try:
        yield services
    except AppError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.db.dispose()


@app.command("list")
def list_users(
    include_inactive: Annotated[
        bool, typer.Option("--inactive/--active-only", help="Show deactivated users too.")
    ] = True,
) -> None:
    """List the users: email, name, role, active, last login."""
    from rpma.core.pagination import Pagination
    from rpma.domains.users.schemas import UserFilters
    from rpma.domains.users.service import UserService

    with _services() as services, services.db.session(write=False) as db:
        filters = UserFilters(is_active=None if include_inactive else True)
        service = UserService(db, services, actor=None)
        table = Table(title="Users")
        for column in ("Email", "Name", "Role", "Active", "Last login"):
            table.add_column(column)
        page, total = 1, 0
        while True:
            users, info = service.list(filters, Pagination(page=page, page_size=200))
            for user in users:
                last = user.last_login_at
                table.add_row(
                    user.email,
                    user.full_name,
                    user.role,
                    "yes" if user.is_active else "no",
                    from_ms(last).strftime("%Y-%m-%d %H:%M UTC") if last else "never",
                )
            total = info.total
            if page >= info.total_pages:
                break
            page += 1
        console.print(table)
        console.print(f"{total} user(s).")


@app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for (hidden, twice) when not given.",
        ),
    ],
) -> None:
    """Set a user's password and end all their sessions.

    For a user who forgot theirs, the last admin included: no session is needed here.
    """
    from rpma.core.validation import FieldValidationError, validate_password
    from rpma.domains.users.service import UserService

    try:
        validate_password(password)
    except FieldValidationError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None
    with _services() as services, services.db.session(write=True) as db:
        service = UserService(db, services, actor=None)
        user = service.by_email(email)
        ended = service.reset_password(user.id, password)
        db.commit()
        console.print(f"Password of [bold]{user.email}[/] reset; {ended} session(s) ended.")
