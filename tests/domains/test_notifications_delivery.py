"""The outbox: delivery through real local SendGrid, Mailgun, Twilio and SMTP servers,
retries with backoff, dead letters, quiet hours, claims between workers, a crashed
worker's lease, a restart, and test_notification_config."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from rpma.client import IpcClient
from rpma.core.clock import clock
from rpma.domains.notifications import outbox
from rpma.domains.notifications import worker as outbox_worker
from rpma.domains.notifications.outbox import deliver_due
from rpma.domains.notifications.providers import ProviderAnswer
from tests.conftest import LiveServer, make_user
from tests.fakes.notifications import (  # noqa: F401 - fixtures
    TECH_PHONE,
    TWILIO_FROM,
    configure,
    paused_fixture,
    providers_fixture,
    rows,
    sendgrid,
    smtp_inbox_fixture,
    twilio,
    user_id,
)
from tests.fakes.providers import (
    MAILGUN_KEY,
    SENDGRID_KEY,
    SMTP_PASSWORD,
    SMTP_USER,
    TWILIO_SID,
    TWILIO_TOKEN,
    ProviderServer,
    SmtpInbox,
    self_signed,
    serve_smtp,
)
from tests.helpers import refused

NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # a Monday, noon UTC (13:00 in Paris)
ALERT = {"title": "Booth closed", "message": "The booth is closed on Friday."}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def frozen(server: LiveServer) -> Iterator[None]:
    """Ask for it before ``admin``: the sign-in happens at NOW."""
    clock.freeze(NOW)
    yield
    clock.reset()


@pytest.fixture
def tech_id(admin: IpcClient, server: LiveServer) -> str:
    client = make_user(admin, server, "technician", "tina@shop.example")
    try:
        return user_id(client)
    finally:
        client.close()


@pytest.fixture
def short_retries(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = server.services.settings
    monkeypatch.setattr(settings, "notification_retry_seconds", [30, 120])
    monkeypatch.setattr(settings, "notification_provider_timeout_seconds", 0.5)


def send(admin: IpcClient, to: str, recipient: str, **variables: str) -> None:
    admin.call(
        "send_notification",
        {
            "user_id": to,
            "notification_type": "system_alert",
            "recipient": recipient,
            "variables": {**ALERT, **variables},
            "in_app": False,
        },
    )


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def state(server: LiveServer) -> list[tuple[str, int, int | None, str | None]]:
    return [(r.status, r.attempts, r.next_attempt_at, r.last_error) for r in rows(server)]


# Each provider's API ------------------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused")
def test_sendgrid_delivery(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    send(admin, tech_id, "tina@shop.example")
    report = deliver_due(server.services)
    [row] = rows(server)
    assert report.delivered == [row.id]
    [request] = providers.requests
    assert (request.path, request.headers["authorization"]) == (
        "/v3/mail/send",
        f"Bearer {SENDGRID_KEY}",
    )
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "personalizations": [{"to": [{"email": "tina@shop.example"}], "subject": "Booth closed"}],
        "from": {"email": "noreply@shop.example", "name": "PPF Shop"},
        "content": [
            {"type": "text/plain", "value": "The booth is closed on Friday.\n\nRPMA Workshop"},
            {
                "type": "text/html",
                "value": "<p>The booth is closed on Friday.</p><p>RPMA Workshop</p>",
            },
        ],
    }
    assert (row.status, row.attempts, row.provider, row.provider_message_id) == (
        "delivered",
        1,
        "sendgrid",
        "sg-1",
    )
    assert (row.delivered_at, row.lease_owner, row.last_error) == (ms(NOW), None, None)
    assert deliver_due(server.services).delivered == []  # once
    assert len(providers.requests) == 1


@pytest.mark.usefixtures("frozen", "paused")
def test_mailgun_delivery(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    configure(
        admin,
        email_provider="mailgun",
        email_api_key=MAILGUN_KEY,
        email_from_email="noreply@shop.example",
        email_from_name="PPF Shop",
        email_domain="mg.shop.example",
        email_api_base_url=providers.url + "/",
    )
    send(admin, tech_id, "tina@shop.example")
    deliver_due(server.services)
    [request] = providers.requests
    assert request.path == "/v3/mg.shop.example/messages"
    assert request.headers["authorization"] == basic("api", MAILGUN_KEY)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "from": "PPF Shop <noreply@shop.example>",
        "to": "tina@shop.example",
        "subject": "Booth closed",
        "text": "The booth is closed on Friday.\n\nRPMA Workshop",
        "html": "<p>The booth is closed on Friday.</p><p>RPMA Workshop</p>",
    }
    [row] = rows(server)
    assert (row.status, row.provider, row.provider_message_id) == (
        "delivered",
        "mailgun",
        "<mg-1@mg.shop.example>",
    )


@pytest.mark.usefixtures("frozen", "paused")
def test_twilio_delivery(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    twilio(admin, providers)
    send(admin, tech_id, TECH_PHONE)
    deliver_due(server.services)
    [request] = providers.requests
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.headers["authorization"] == basic(TWILIO_SID, TWILIO_TOKEN)
    assert request.form() == {
        "To": TECH_PHONE,
        "From": TWILIO_FROM,
        "Body": "The booth is closed on Friday.\n\nRPMA Workshop",
    }
    [row] = rows(server)
    assert (row.channel, row.status, row.provider, row.provider_message_id) == (
        "sms",
        "delivered",
        "twilio",
        "SM" + "1".zfill(32),
    )


@pytest.mark.usefixtures("frozen", "paused")
def test_smtp_delivery_with_login(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    smtp_inbox: SmtpInbox,
) -> None:
    configure(
        admin,
        email_provider="smtp",
        email_from_email="noreply@shop.example",
        email_from_name="PPF Shop",
        smtp_host="127.0.0.1",
        smtp_port=smtp_inbox.port,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    assert admin.call("get_notification_config", {})["email_api_key_last4"] == "4321"
    send(admin, tech_id, "tina@shop.example", title="Ça <marche>")
    deliver_due(server.services)
    [(envelope, mail)] = smtp_inbox.messages
    assert (envelope.mail_from, envelope.rcpt_tos) == (
        "noreply@shop.example",
        ["tina@shop.example"],
    )
    subject = str(make_header(decode_header(mail["Subject"])))
    assert (mail["From"], mail["To"], subject) == (
        "PPF Shop <noreply@shop.example>",
        "tina@shop.example",
        "Ça <marche>",
    )
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in mail.walk()}
    # SMTP carries lines ending in CRLF.
    assert parts["text/plain"] == b"The booth is closed on Friday.\r\n\r\nRPMA Workshop\r\n"
    assert parts["text/html"] == b"<p>The booth is closed on Friday.</p><p>RPMA Workshop</p>\r\n"
    [row] = rows(server)
    assert (row.status, row.provider, row.provider_message_id) == (
        "delivered",
        "smtp",
        mail["Message-ID"],
    )


@pytest.mark.usefixtures("frozen", "paused", "short_retries")
def test_smtp_temporary_and_permanent_refusals(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    smtp_inbox: SmtpInbox,
) -> None:
    configure(
        admin,
        email_provider="smtp",
        email_from_email="noreply@shop.example",
        smtp_host="127.0.0.1",
        smtp_port=smtp_inbox.port,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    smtp_inbox.script = ["451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such user"]
    send(admin, tech_id, "tina@shop.example")
    deliver_due(server.services)
    assert state(server) == [
        (
            "pending",
            1,
            ms(NOW + timedelta(seconds=30)),
            "smtp refused the message (status 451: 4.3.0 Mailbox busy, try later)",
        )
    ]
    clock.advance(timedelta(seconds=30))
    deliver_due(server.services)
    assert state(server) == [
        (
            "dead",
            2,
            ms(NOW + timedelta(seconds=30)),
            "smtp refused the message (status 550: 5.1.1 No such user)",
        )
    ]
    assert smtp_inbox.messages == []
    # Wrong credentials: 535 is final.
    configure(admin, smtp_password="wrong-password")
    admin.call("notification_retry_dead_letters", {"all": True})
    deliver_due(server.services)
    [row] = rows(server)
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error is not None
    assert row.last_error.startswith("smtp refused the message (status 535")


# Retries, backoff, dead letters ---------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused", "short_retries")
def test_5xx_retries_with_backoff_then_dead_letter_then_retry(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    send(admin, tech_id, "tina@shop.example")
    providers.script = [500, 503, 502]
    error = "sendgrid refused the message (status {}: forced {})"
    deliver_due(server.services)
    assert state(server) == [
        ("pending", 1, ms(NOW + timedelta(seconds=30)), error.format(500, 500))
    ]
    clock.advance(timedelta(seconds=29))
    assert deliver_due(server.services).delivered == []  # not due yet
    assert len(providers.requests) == 1
    clock.advance(timedelta(seconds=1))
    deliver_due(server.services)
    after_second = ms(NOW + timedelta(seconds=30 + 120))
    assert state(server) == [("pending", 2, after_second, error.format(503, 503))]
    clock.advance(timedelta(seconds=120))
    report = deliver_due(server.services)
    [row] = rows(server)
    assert report.dead == [row.id]
    assert (row.status, row.attempts, row.dead_at) == ("dead", 3, ms(clock.now()))
    assert row.last_error == error.format(502, 502)
    assert len(providers.requests) == 3
    # Visible to the admin, and retried on request.
    letters = admin.call("notification_list_dead_letters", {})
    assert letters["pagination"]["total"] == 1
    assert letters["dead_letters"][0] | {"id": row.id} == {
        "id": row.id,
        "notification_type": "system_alert",
        "channel": "email",
        "recipient": "tina@shop.example",
        "subject": "Booth closed",
        "status": "dead",
        "attempts": 3,
        "next_attempt_at": after_second,
        "provider": "sendgrid",
        "provider_message_id": None,
        "last_error": error.format(502, 502),
        "created_at": ms(NOW),
        "delivered_at": None,
        "dead_at": ms(clock.now()),
    }
    retry = partial(admin.call, "notification_retry_dead_letters")
    refused(server.services, partial(retry, {}), "VALIDATION_ERROR", 400)
    refused(server.services, partial(retry, {"ids": ["nope"]}), "NOT_FOUND_NOTIFICATION", 404)
    assert retry({"ids": [row.id]}) == {"updated": 1}
    refused(server.services, partial(retry, {"ids": [row.id]}), "VALIDATION_ERROR", 400)
    deliver_due(server.services)
    [row] = rows(server)
    assert (row.status, row.attempts, row.provider_message_id) == ("delivered", 1, "sg-4")
    assert admin.call("notification_list_dead_letters", {})["dead_letters"] == []
    assert len(providers.requests) == 4


@pytest.mark.usefixtures("frozen", "paused")
def test_401_is_dead_at_once(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers, email_api_key="SG.revoked-key")
    send(admin, tech_id, "tina@shop.example")
    deliver_due(server.services)
    assert state(server) == [
        (
            "dead",
            1,
            ms(NOW),
            "sendgrid refused the message (status 401: The provided authorization grant is "
            "invalid, expired, or revoked)",
        )
    ]
    assert providers.requests[0].headers["authorization"] == "Bearer SG.revoked-key"


@pytest.mark.usefixtures("frozen", "paused", "short_retries")
def test_hang_and_network_errors_retry(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    twilio(admin, providers)
    providers.script = ["hang"]
    send(admin, tech_id, TECH_PHONE)
    deliver_due(server.services)
    assert state(server) == [
        (
            "pending",
            1,
            ms(NOW + timedelta(seconds=30)),
            "twilio refused the message (timed out after 0.5 s)",
        )
    ]
    # Nobody listening at all: a network error, retried too.
    with socket_closed() as url:
        configure(admin, sms_api_base_url=url)
        clock.advance(timedelta(seconds=30))
        deliver_due(server.services)
    [row] = rows(server)
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        2,
        "twilio refused the message (network error: ConnectError)",
    )
    configure(admin, sms_api_base_url=providers.url)
    clock.advance(timedelta(seconds=120))
    deliver_due(server.services)
    [row] = rows(server)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert len(providers.requests) == 2  # the hung one, then the good one


class socket_closed:
    """A loopback URL where nothing listens."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        return None


# Quiet hours -----------------------------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused")
def test_quiet_hours_hold_email_and_sms_not_in_app(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(
        admin,
        providers,
        quiet_hours_start="13:30",
        quiet_hours_end="15:00",
        timezone="Europe/Paris",
    )
    # Queued at 13:00 in Paris, but the worker only gets to it at 13:45, in the quiet hours.
    send(admin, tech_id, "tina@shop.example")
    clock.advance(timedelta(minutes=45))
    report = deliver_due(server.services)
    after = ms(datetime(2027, 1, 4, 14, 0, tzinfo=UTC))  # 15:00 in Paris
    assert (report.deferred, providers.requests) == (1, [])
    assert state(server) == [("pending", 0, after, None)]
    # Sent during the quiet hours: email waits for their end; the in-app copy is immediate.
    admin.call(
        "send_notification",
        {
            "user_id": tech_id,
            "notification_type": "system_alert",
            "recipient": "tina@shop.example",
            "variables": ALERT,
        },
    )
    email = [r for r in rows(server, "email") if r.created_at == ms(clock.now())]
    assert [(r.status, r.next_attempt_at) for r in email] == [("pending", after)]
    [in_app] = rows(server, "in_app")
    assert (in_app.status, in_app.delivered_at) == ("delivered", ms(clock.now()))
    clock.freeze(datetime(2027, 1, 4, 13, 59, tzinfo=UTC))
    assert deliver_due(server.services).delivered == []
    clock.freeze(datetime(2027, 1, 4, 14, 0, tzinfo=UTC))
    assert len(deliver_due(server.services).delivered) == 2
    assert len(providers.requests) == 2


# Several workers, a crashed worker ------------------------------------------------------------
@pytest.mark.usefixtures("frozen", "paused")
def test_concurrent_workers_deliver_each_message_once(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    for number in range(12):
        send(admin, tech_id, f"tina+{number}@shop.example")
    reports: list[outbox.PassReport] = []
    start = threading.Barrier(3)

    def run(owner: str) -> None:
        start.wait()
        reports.append(deliver_due(server.services, owner=owner))

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivered = [row_id for report in reports for row_id in report.delivered]
    assert sorted(delivered) == sorted(r.id for r in rows(server))
    recipients = sorted(
        r.json()["personalizations"][0]["to"][0]["email"] for r in providers.requests
    )
    assert recipients == sorted(f"tina+{n}@shop.example" for n in range(12))
    assert {r.status for r in rows(server)} == {"delivered"}


@pytest.mark.usefixtures("frozen", "paused")
def test_a_crashed_workers_lease_runs_out_and_the_row_is_sent_once(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    sendgrid(admin, providers)
    send(admin, tech_id, "tina@shop.example")
    [row] = rows(server)
    lease = int(server.services.settings.notification_lease_seconds * 1000)
    claimed = outbox._claim(server.services, row.id, ms(NOW), "crashed", lease)
    assert claimed is not None
    assert claimed.attempts == 1
    assert outbox._claim(server.services, row.id, ms(NOW), "other", lease) is None
    assert deliver_due(server.services).delivered == []  # the lease holds
    clock.advance(timedelta(milliseconds=lease + 1))
    assert deliver_due(server.services).delivered == [row.id]
    # The crashed worker's late answer cannot overwrite the delivery.
    late = ProviderAnswer("sendgrid", False, 500, error="late", retryable=True)
    outbox._record(server.services, claimed, late, "crashed", clock.now())
    [row] = rows(server)
    assert (row.status, row.attempts, len(providers.requests)) == ("delivered", 2, 1)


def wait_until(predicate: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the background worker did not deliver"
        time.sleep(0.02)


def test_background_worker_delivers_and_a_restart_delivers_what_was_left(
    server: LiveServer, admin: IpcClient, tech_id: str, providers: ProviderServer
) -> None:
    sendgrid(admin, providers)
    # The real worker thread, woken by the commit.
    send(admin, tech_id, "first@shop.example")
    wait_until(lambda: [r.status for r in rows(server)] == ["delivered"])
    # The server stops with a message still queued...
    outbox_worker.worker_for(server.services).close()
    send(admin, tech_id, "second@shop.example")
    assert [r.status for r in rows(server)] == ["delivered", "pending"]
    # ...and the next start delivers it, once.
    started = outbox_worker.start(server.services)
    assert started is not None
    wait_until(lambda: [r.status for r in rows(server)] == ["delivered", "delivered"])
    started.run_once()
    sent = [r.json()["personalizations"][0]["to"][0]["email"] for r in providers.requests]
    assert sent == ["first@shop.example", "second@shop.example"]


# test_notification_config ------------------------------------------------------------------
@pytest.mark.usefixtures("short_retries")
def test_config_test_reports_the_providers_answer(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    providers: ProviderServer,
) -> None:
    check = partial(admin.call, "test_notification_config")
    refused(
        server.services,
        partial(check, {"recipient": "tina@shop.example", "channel": "email"}),
        "NOTIFICATION_NOT_CONFIGURED",
        400,
    )
    sendgrid(admin, providers)
    twilio(admin, providers)
    ok = check({"recipient": "tina@shop.example", "channel": "email"})
    assert ok == "sendgrid accepted the message (status 202, message id sg-1)"
    assert providers.requests[0].json()["personalizations"][0]["subject"] == "RPMA test message"
    assert check({"recipient": TECH_PHONE, "channel": "sms"}) == (
        f"twilio accepted the message (status 201, message id SM{'2'.zfill(32)})"
    )
    providers.script = ["hang", 500]
    assert check({"recipient": TECH_PHONE, "channel": "sms"}) == (
        "twilio refused the message (timed out after 0.5 s)"
    )
    assert check({"recipient": TECH_PHONE, "channel": "sms"}) == (
        "twilio refused the message (status 500: forced 500)"
    )
    configure(admin, email_api_key="SG.wrong")
    assert check({"recipient": "tina@shop.example", "channel": "email"}) == (
        "sendgrid refused the message (status 401: The provided authorization grant is "
        "invalid, expired, or revoked)"
    )
    refused(
        server.services,
        partial(check, {"recipient": TECH_PHONE, "channel": "email"}),
        "VALIDATION_ERROR",
        400,
    )
    refused(
        server.services,
        partial(check, {"recipient": "+1234", "channel": "sms"}),
        "VALIDATION_PHONE_INVALID",
        400,
    )
    assert rows(server) == []  # a test goes straight out, never through the outbox


@pytest.mark.usefixtures("frozen", "paused")
def test_smtp_starttls(
    server: LiveServer,
    admin: IpcClient,
    tech_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cert, key = self_signed(tmp_path)
    # The client verifies the server as always; the test's certificate is made trusted.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    inbox_server = serve_smtp((cert, key))
    inbox = next(inbox_server)
    try:
        fields = {
            "email_provider": "smtp",
            "email_from_email": "noreply@shop.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox.port,
            "smtp_username": SMTP_USER,
            "smtp_password": SMTP_PASSWORD,
            "smtp_starttls": False,
        }
        configure(admin, **fields)
        send(admin, tech_id, "tina@shop.example")
        deliver_due(server.services)  # the server requires STARTTLS: 530 is final
        [row] = rows(server)
        assert (row.status, inbox.messages) == ("dead", [])
        assert row.last_error is not None
        assert row.last_error.startswith("smtp refused the message (status 530")
        configure(admin, smtp_starttls=True)
        admin.call("notification_retry_dead_letters", {"all": True})
        deliver_due(server.services)
        [row] = rows(server)
        assert row.status == "delivered"
        assert [envelope.rcpt_tos for envelope, _ in inbox.messages] == [["tina@shop.example"]]
    finally:
        inbox_server.close()
