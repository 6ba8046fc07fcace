"""The `rpma` command line."""

from __future__ import annotations

import json
import logging
import os
from typing import Annotated, Any

import typer
from rich.console import Console

from rpma import __version__
from rpma.cli_users import app as users_app
from rpma.config import Settings

app = typer.Typer(help="RPMA v2: the PPF workshop server.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)
app.add_typer(users_app, name="users")


def _version(value: bool) -> None:
    if value:
        console.print(f"rpma {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    _version_flag: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    logging.basicConfig(
        level=os.environ.get("RPMA_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic narrates every plugin it loads; only its warnings matter to an operator.
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL + Redis).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the API (HTTP and WebSocket), migrating the database first."""
    import uvicorn

    from rpma.app import build_services

    settings = Settings()
    build_services(settings).db.dispose()  # migrate once, before any worker starts
    from sqlalchemy.engine import make_url

    # Never print a password: only the backend and where the database lives.
    url = make_url(settings.resolved_database_url)
    where = url.database if url.get_backend_name() == "sqlite" else f"{url.host}/{url.database}"
    console.print(f"[bold]RPMA {__version__}[/] on http://{host}:{port}", soft_wrap=True)
    console.print(f"Database: {url.get_backend_name()} {where}", soft_wrap=True)
    uvicorn.run(
        "rpma.asgi:app",
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        log_level=log_level,
        proxy_headers=True,
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from rpma import migrations
    from rpma.core.db import Database

    settings = Settings()
    if settings.is_sqlite:
        settings.ensure_data_dir()
    database = Database(settings)
    migrations.upgrade(database.engine)
    console.print(f"Database at revision [bold]{migrations.current_revision(database.engine)}[/]")
    database.dispose()


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="The admin's email.")],
    first_name: Annotated[str, typer.Option(prompt=True)],
    last_name: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create an admin account directly in the database (prompts for the password)."""
    from pydantic import ValidationError

    from rpma.app import build_services
    from rpma.core.dispatch import validation_error
    from rpma.core.errors import AppError
    from rpma.core.permissions import Role
    from rpma.domains.auth.schemas import CreateAccountRequest
    from rpma.domains.auth.service import AuthService

    services = build_services(Settings())
    try:
        req = CreateAccountRequest.model_validate(
            {"email": email, "first_name": first_name, "last_name": last_name, "password": password}
        )
        with services.db.session(write=True) as db:
            user = AuthService(db, services).create_user(req, role=Role.ADMIN, actor_id=None)
            db.commit()
            console.print(f"Admin [bold]{user.email}[/] created ({user.id}).")
    except ValidationError as exc:
        err = validation_error(exc)
        err_console.print(f"[red]{err.code}[/]: {err.message}")
        raise typer.Exit(1) from None
    except AppError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None
    finally:
        services.db.dispose()


@app.command()
def invoke(
    command: Annotated[str, typer.Argument(help="Command name, e.g. health_check.")],
    args: Annotated[str, typer.Argument(help="Arguments as a JSON object.")] = "{}",
    url: Annotated[str, typer.Option(envvar="RPMA_URL")] = "http://127.0.0.1:8000",
    token: Annotated[str | None, typer.Option(envvar="RPMA_TOKEN")] = None,
) -> None:
    """Call one command on a running server and print the answer as JSON."""
    from rpma.client import IpcClient, IpcError

    try:
        parsed: Any = json.loads(args)
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]The arguments are not valid JSON:[/] {exc}")
        raise typer.Exit(2) from None
    if not isinstance(parsed, dict):
        err_console.print("[red]The arguments must be a JSON object.[/]")
        raise typer.Exit(2)
    with IpcClient(url, token=token) as client:
        try:
            result = client.call(command, parsed)
        except IpcError as exc:
            err_console.print(f"[red]{exc.code}[/]: {exc.message}")
            if exc.details:
                err_console.print_json(data=exc.details)
            raise typer.Exit(1) from None
    console.print_json(data=result)


@app.command()
def demo(
    *,
    technicians: Annotated[int, typer.Option(min=0, max=200)] = 5,
    clients: Annotated[int, typer.Option(min=0, max=100_000)] = 60,
    tasks: Annotated[int, typer.Option(min=0, max=1_000_000)] = 400,
    interventions: Annotated[
        int,
        typer.Option(
            min=0,
            max=2000,
            help="Tasks worked through the real workflow, with photos (0: none).",
        ),
    ] = 40,
    seed: Annotated[int, typer.Option(help="Same seed, same workshop.")] = 42,
    force: Annotated[bool, typer.Option(help="Add demo data to a database with clients.")] = False,
) -> None:
    """Fill the database with a realistic demo workshop (technicians, clients, tasks, and
    interventions in every state with their photos)."""
    from collections.abc import Callable

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from rpma.app import build_services
    from rpma.core.permissions import Role
    from rpma.demo import DEMO_PASSWORD, DemoSize, build_demo
    from rpma.domains.auth.schemas import CreateAccountRequest
    from rpma.domains.auth.service import AuthService
    from rpma.domains.clients.models import Client
    from rpma.domains.users.repository import UserRepository

    services = build_services(Settings())
    size = DemoSize(
        technicians=technicians,
        clients=clients,
        tasks=tasks,
        seed=seed,
        interventions=interventions if technicians else 0,
    )
    # Photo files are written before the commit: removed again if it does not happen.
    undo: list[Callable[[], None]] = []
    try:
        with services.db.session(write=True) as db:
            if not force and db.query(Client).first() is not None:
                err_console.print("[red]The database already has clients[/]; use --force.")
                raise typer.Exit(1)
            owner = None
            if not UserRepository(db).any_exists():
                request = CreateAccountRequest.model_validate(
                    {
                        "email": "owner@demo.rpma",
                        "first_name": "Olive",
                        "last_name": "Owner",
                        "password": DEMO_PASSWORD,
                    }
                )
                owner = AuthService(db, services).create_user(
                    request, role=Role.ADMIN, actor_id=None
                )
            with Progress(
                TextColumn("{task.description:<13}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
            ) as bar:
                totals = {"technicians": technicians, "clients": clients, "tasks": tasks}
                if size.interventions:
                    totals["interventions"] = size.interventions
                ids = {name: bar.add_task(name, total=total) for name, total in totals.items()}
                result = build_demo(
                    db,
                    services.passwords,
                    size,
                    lambda name, n: bar.advance(ids[name], n),
                    owner.id if owner else None,
                    services=services,
                    on_rollback=undo.append,
                )
                if size.interventions:  # fewer when the demo has too few tasks for them
                    done = sum(result.interventions.values())
                    bar.update(ids["interventions"], completed=done, total=done)
            db.commit()
            undo.clear()
    except BaseException:
        for step in undo:
            step()
        raise
    finally:
        services.db.dispose()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(result.by_status.items()))
    console.print(
        f"Demo workshop ready: {result.technicians} technicians, {result.clients} clients, "
        f"{result.tasks} tasks ({statuses})."
    )
    if result.interventions:
        states = ", ".join(f"{k} {v}" for k, v in sorted(result.interventions.items()))
        console.print(
            f"{sum(result.interventions.values())} interventions ({states}) "
            f"with {result.photos} photos."
        )
    if result.materials or result.calendar_events:
        console.print(
            f"{result.materials} materials with their stock ledger, "
            f"{result.calendar_events} calendar events."
        )
    if owner is not None:
        console.print(f"Sign in as [bold]owner@demo.rpma[/] with [bold]{DEMO_PASSWORD}[/].")
    console.print(f"Demo technicians sign in with [bold]{DEMO_PASSWORD}[/] too.")


@app.command()
def desktop(
    debug: Annotated[bool, typer.Option(help="Allow the web inspector in the window.")] = False,
) -> None:
    """Open RPMA in a native window (pywebview) on a local server (127.0.0.1, a free port).
    Closing the window stops the server."""
    from rpma.desktop.runner import DesktopUnavailable, run_desktop

    try:
        url = run_desktop(Settings(), debug=debug)
    except DesktopUnavailable as exc:
        from rich.markup import escape

        message = escape(str(exc))
        err_console.print(f"[bold red]Cannot open the desktop window:[/] {message}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"Window closed; the server on {url} stopped.")


@app.command()
def docs(
    output: Annotated[str, typer.Option(help="Where to write the command reference.")] = (
        "docs/COMMANDS.md"
    ),
) -> None:
    """Regenerate docs/COMMANDS.md from the command registry."""
    from pathlib import Path

    from rpma.core.commands import registry
    from rpma.docgen import render_commands
    from rpma.domains import load_all

    load_all()
    Path(output).write_text(render_commands(registry))
    console.print(f"Wrote {output} ({len(registry)} commands).")


def main() -> None:
    app()
