"""Fixtures and helpers shared by the notification tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from rpma.client import IpcClient
from rpma.domains.notifications.models import Notification
from rpma.domains.notifications.worker import worker_for
from tests.conftest import LiveServer
from tests.fakes.providers import (
    SENDGRID_KEY,
    TWILIO_SID,
    TWILIO_TOKEN,
    ProviderServer,
    SmtpInbox,
    serve_providers,
    serve_smtp,
)

TWILIO_FROM = "+14155550100"
TECH_PHONE = "+14155550123"


@pytest.fixture(name="providers")
def providers_fixture() -> Iterator[ProviderServer]:
    yield from serve_providers()


@pytest.fixture(name="smtp_inbox")
def smtp_inbox_fixture() -> Iterator[SmtpInbox]:
    yield from serve_smtp()


@pytest.fixture(name="paused")
def paused_fixture(server: LiveServer) -> Iterator[None]:
    """The live server's background worker holds still: the test delivers by hand."""
    worker = worker_for(server.services)
    worker.pause()
    yield
    worker.resume()


def configure(admin: IpcClient, **fields: Any) -> None:
    admin.call("initialize_notification_service", fields)


def sendgrid(admin: IpcClient, providers: ProviderServer, **extra: Any) -> None:
    fields: dict[str, Any] = {
        "email_provider": "sendgrid",
        "email_api_key": SENDGRID_KEY,
        "email_from_email": "noreply@shop.example",
        "email_from_name": "PPF Shop",
        "email_api_base_url": providers.url,
    }
    configure(admin, **{**fields, **extra})


def twilio(admin: IpcClient, providers: ProviderServer, **extra: Any) -> None:
    fields: dict[str, Any] = {
        "sms_provider": "twilio",
        "sms_account_sid": TWILIO_SID,
        "sms_api_key": TWILIO_TOKEN,
        "sms_from_number": TWILIO_FROM,
        "sms_api_base_url": providers.url,
    }
    configure(admin, **{**fields, **extra})


def rows(server: LiveServer, channel: str | None = None) -> list[Notification]:
    """Every notification row, oldest first."""
    with server.services.db.session(write=False) as db:
        query = select(Notification).order_by(Notification.created_at, Notification.id)
        if channel is not None:
            query = query.where(Notification.channel == channel)
        found = list(db.scalars(query))
        for row in found:
            db.expunge(row)
        return found


def user_id(client: IpcClient) -> str:
    return str(client.call("auth_validate_session", {})["user"]["id"])
