"""create_app(settings): the ASGI app with its transports."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware

from rpma import __version__, migrations
from rpma.config import Settings
from rpma.core import logredact
from rpma.core.commands import registry
from rpma.core.dispatch import Dispatcher
from rpma.core.services import Services
from rpma.desktop.landing import mount_landing_page
from rpma.domains import load_all
from rpma.domains.auth.service import SessionAuthenticator
from rpma.domains.notifications import automatic as notification_hooks
from rpma.domains.notifications import worker as outbox_worker
from rpma.domains.security import service as security
from rpma.domains.sync import capture as sync_capture
from rpma.domains.sync import worker as sync_worker
from rpma.live.hub import LiveHub
from rpma.openapi import build_openapi
from rpma.transport import http, live, ws

log = logging.getLogger(__name__)


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    load_all()
    if settings.is_sqlite:
        settings.ensure_data_dir()
    services = Services.build(settings)
    services.authenticator = SessionAuthenticator(services)
    services.security_recorder = security.record
    notification_hooks.install(services)  # outbox rows commit with task changes
    sync_capture.install(services)  # sync_queue rows commit with every synced change
    if migrate:
        migrations.upgrade(services.db.engine)
    return services


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()
    services = services or build_services(settings)
    logredact.install()  # uvicorn logs WebSocket paths with their ?token=
    dispatcher = Dispatcher(services)
    hub = LiveHub(services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        outbox = outbox_worker.start(services)  # delivers what an earlier run left queued
        sync_worker.start_if_configured(services)
        yield
        sync_worker.shutdown(services)
        if outbox is not None:
            outbox.close()
        await hub.stop()
        services.db.dispose()

    app = FastAPI(
        title="RPMA v2",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    app.state.dispatcher = dispatcher
    # Ordinary HTTP gzip for clients that send Accept-Encoding: gzip.
    # Level 6, not 9: half the CPU for about the same size (bench jobbook, export).
    app.add_middleware(
        GZipMiddleware, minimum_size=settings.compression_threshold_bytes, compresslevel=6
    )
    app.include_router(http.build_router(dispatcher))
    app.include_router(ws.build_router(dispatcher))
    live.install(app, hub)

    schema: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not schema:
            schema.update(build_openapi(registry))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    # Until the web UI is mounted at "/", the root shows the shop and the server's status.
    mount_landing_page(app, services)
    return app
