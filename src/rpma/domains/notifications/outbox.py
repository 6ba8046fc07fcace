"""The outbox worker's one pass, ``deliver_due(services, now)``: claim due rows, send
each outside any transaction, record the answer.

Claiming is one atomic UPDATE per row (``WHERE id = :id AND`` still claimable) that
sets a lease; of several server processes only one sees ``rowcount == 1``. A lease that
runs out (the process died mid-send) makes the row claimable again, so a crash can
repeat a send but never lose one. Retries back off per ``notification_retry_seconds``;
network errors, timeouts, 5xx (and 429) retry, other 4xx go straight to ``dead``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update

from rpma.core.clock import clock, to_ms
from rpma.core.errors import AppError
from rpma.core.services import Services
from rpma.domains.notifications import configuration
from rpma.domains.notifications.configuration import SECRET_PURPOSE, Senders
from rpma.domains.notifications.models import Notification
from rpma.domains.notifications.providers import Message, ProviderAnswer
from rpma.domains.notifications.providers.http_providers import (
    send_mailgun,
    send_sendgrid,
    send_twilio,
)
from rpma.domains.notifications.providers.smtp import send_smtp
from rpma.domains.notifications.repository import (
    DEAD,
    DELIVERED,
    PENDING,
    SENDING,
    NotificationRepository,
    claimable,
)

log = logging.getLogger(__name__)
BATCH = 50


@dataclass
class PassReport:
    delivered: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    deferred: int = 0


def send_now(senders: Senders, message: Message, timeout: float) -> ProviderAnswer:
    """One message through the configured provider of its channel."""
    if message.channel == "email":
        if senders.email is None:
            return ProviderAnswer(
                "none", False, error="no email provider is configured", retryable=True
            )
        send = {"sendgrid": send_sendgrid, "mailgun": send_mailgun, "smtp": send_smtp}
        return send[senders.email.provider](senders.email, message, timeout)
    if senders.sms is None:
        return ProviderAnswer("none", False, error="no SMS provider is configured", retryable=True)
    return send_twilio(senders.sms, message, timeout)


def deliver_due(
    services: Services, now: datetime | None = None, *, owner: str | None = None
) -> PassReport:
    """Deliver every outbox row due at ``now`` (the clock's now by default)."""
    moment = now or clock.now()
    now_ms = to_ms(moment)
    owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
    report = PassReport()
    settings = services.settings
    with services.db.session(write=False) as db:
        due = NotificationRepository(db).due_ids(now_ms, BATCH)
        if not due:
            return report
        config = configuration.load(db)
        tz = configuration.zone(db, config)
        quiet_end = configuration.quiet_until(
            moment,
            config.quiet_hours_start if config else None,
            config.quiet_hours_end if config else None,
            tz,
        )
        try:
            senders = configuration.senders(config, services.secret_box(SECRET_PURPOSE))
        except AppError:  # the server key changed: nothing can be sent, nothing is lost
            log.exception("notification secrets cannot be opened; the outbox waits")
            return report
        db.rollback()
    if quiet_end is not None:
        report.deferred = _defer(services, now_ms, to_ms(quiet_end))
        return report
    lease_ms = int(settings.notification_lease_seconds * 1000)
    for row_id in due:
        row = _claim(services, row_id, now_ms, owner, lease_ms)
        if row is None:
            continue
        message = Message(
            row.channel, row.recipient or "", row.subject, row.body_text, row.body_html
        )
        answer = send_now(senders, message, settings.notification_provider_timeout_seconds)
        outcome = _record(services, row, answer, owner, moment)
        getattr(report, outcome).append(row.id)
    return report


def _defer(services: Services, now_ms: int, until_ms: int) -> int:
    """Quiet hours: every due row waits for their end (no attempt is spent)."""
    with services.db.session(write=True) as db:
        result = db.execute(
            update(Notification)
            .where(Notification.status == PENDING, Notification.next_attempt_at <= now_ms)
            .values(next_attempt_at=until_ms)
        )
        db.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _claim(
    services: Services, row_id: str, now_ms: int, owner: str, lease_ms: int
) -> Notification | None:
    with services.db.session(write=True) as db:
        result = db.execute(
            update(Notification)
            .where(Notification.id == row_id, claimable(now_ms))
            .values(
                status=SENDING,
                lease_owner=owner,
                lease_until=now_ms + lease_ms,
                attempts=Notification.attempts + 1,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()
            return None  # another worker has it
        db.commit()
        row = db.get(Notification, row_id)
        if row is not None:
            db.expunge(row)
        return row


def _record(
    services: Services, row: Notification, answer: ProviderAnswer, owner: str, moment: datetime
) -> str:
    settings = services.settings
    schedule = settings.notification_retry_seconds
    now_ms = to_ms(moment)
    values: dict[str, object] = {
        "lease_owner": None,
        "lease_until": None,
        "provider": answer.provider,
    }
    if answer.ok:
        outcome = "delivered"
        values.update(status=DELIVERED, delivered_at=now_ms, provider_message_id=answer.message_id)
    elif answer.retryable and row.attempts <= len(schedule):
        outcome = "retried"
        delay = timedelta(seconds=schedule[row.attempts - 1])
        values.update(status=PENDING, next_attempt_at=to_ms(moment + delay))
        values["last_error"] = answer.describe()
    else:
        outcome = "dead"
        values.update(status=DEAD, dead_at=now_ms, last_error=answer.describe())
    with services.db.session(write=True) as db:
        result = db.execute(
            update(Notification)
            .where(
                Notification.id == row.id,
                Notification.status == SENDING,
                Notification.lease_owner == owner,
            )
            .values(**values)
        )
        db.commit()
    if result.rowcount != 1:  # type: ignore[attr-defined]
        log.warning("notification %s: lease lost before its result was recorded", row.id)
    elif outcome != "delivered":
        log.warning("notification %s %s: %s", row.id, outcome, answer.describe())
    return outcome
