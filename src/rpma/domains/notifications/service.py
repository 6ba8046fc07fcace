"""The rules: compose from templates, honour preferences and quiet hours, write every
message to the outbox or the inbox in the caller's transaction. Services flush, never
commit; in-app pushes leave as events after the commit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from rpma.core.clock import clock, to_ms
from rpma.core.errors import NotFound, ValidationFailed
from rpma.core.events import Event
from rpma.core.pagination import PageInfo, Pagination
from rpma.core.services import Services
from rpma.core.validation import FieldValidationError, validate_email
from rpma.domains.notifications import configuration, templates
from rpma.domains.notifications.models import (
    Notification,
    NotificationConfig,
    NotificationPreference,
    NotificationTemplate,
)
from rpma.domains.notifications.repository import (
    DEAD,
    DELIVERED,
    IN_APP,
    PENDING,
    NotificationRepository,
)
from rpma.domains.notifications.schemas import (
    NotificationOut,
    OutboxEntry,
    Preference,
    PreferenceChange,
    SendNotificationRequest,
    TemplateOut,
    TemplateUpdateRequest,
    validate_phone,
)
from rpma.domains.settings.service import company_name
from rpma.domains.users.repository import UserRepository

CHANNELS = ("email", "sms", IN_APP)
# Without a stored choice: in-app and email on, SMS (it costs the shop) off.
DEFAULT_PREFERENCES = {"email": True, "sms": False, IN_APP: True}
SYSTEM_EVENT = "system_notification"
LEVELS = {"system_alert": "warning"}


def channel_of(recipient: str) -> tuple[str, str]:
    """(channel, normalised recipient): an email address or an E.164 phone number."""
    try:
        if recipient.strip().startswith("+"):
            return "sms", validate_phone(recipient)
        if "@" in recipient:
            return "email", validate_email(recipient)
    except FieldValidationError as exc:
        raise ValidationFailed(
            exc.code,
            f"recipient: {exc.message}",
            fields=[{"field": "recipient", "message": exc.message}],
        ) from None
    message = "expected an email address or an E.164 phone number (+14155550123)"
    raise ValidationFailed(
        message=f"recipient: {message}", fields=[{"field": "recipient", "message": message}]
    )


def push_event(row: Notification) -> Event:
    """The seed's SystemNotificationMessage, for the recipient only."""
    assert row.user_id is not None
    data = {
        "title": row.subject,
        "message": row.body_text,
        "level": row.level,
        "timestamp": row.created_at,
        "notification_id": row.id,
        "notification_type": row.notification_type,
        "task_id": row.task_id,
    }
    return Event(SYSTEM_EVENT, data, audience_users=frozenset({row.user_id}))


class NotificationService:
    def __init__(self, db: Session, services: Services, actor_id: str | None) -> None:
        self.db = db
        self.services = services
        self.actor_id = actor_id
        self.repo = NotificationRepository(db)
        self._config: NotificationConfig | None = None
        self._config_loaded = False
        # Read once per service: automatic notifications reuse one service for a whole
        # transaction (a bulk import), where a missing row would be asked for again
        # and again (the session's identity map keeps only the rows that exist).
        self._templates: dict[str, templates.Template] = {}
        self._company_name: str | None = None
        self._preferences: dict[str, dict[tuple[str, str, str], bool]] = {}

    @property
    def config(self) -> NotificationConfig | None:
        if not self._config_loaded:
            self._config, self._config_loaded = configuration.load(self.db), True
        return self._config

    # Templates ------------------------------------------------------------------------
    def template(self, kind: str) -> templates.Template:
        if kind not in self._templates:
            row = self.repo.template(kind)
            self._templates[kind] = (
                templates.DEFAULTS[kind]
                if row is None
                else templates.Template(row.subject, row.body_text, row.body_html)
            )
        return self._templates[kind]

    def stored_preferences(self, user_id: str) -> dict[tuple[str, str, str], bool]:
        if user_id not in self._preferences:
            self._preferences[user_id] = self.repo.preferences([user_id])
        return self._preferences[user_id]

    def list_templates(self) -> list[TemplateOut]:
        stored = self.repo.templates()
        return [self._template_out(kind, stored.get(kind)) for kind in templates.TYPES]

    def _template_out(self, kind: str, row: NotificationTemplate | None) -> TemplateOut:
        shown = templates.DEFAULTS[kind] if row is None else row
        return TemplateOut(
            notification_type=kind,
            subject=shown.subject,
            body_text=shown.body_text,
            body_html=shown.body_html,
            variables=sorted(templates.VARIABLES[kind]),
            customized=row is not None,
            updated_at=row.updated_at if row is not None else None,
        )

    def update_template(self, req: TemplateUpdateRequest) -> TemplateOut:
        kind = req.notification_type
        row = self.repo.template(kind)
        if req.reset:
            if row is not None:
                self.db.delete(row)
                self.db.flush()
            return self._template_out(kind, None)
        current = self.template(kind)
        wanted = templates.Template(
            subject=req.subject if req.subject is not None else current.subject,
            body_text=req.body_text if req.body_text is not None else current.body_text,
            body_html=req.body_html if req.body_html is not None else current.body_html,
        )
        templates.check(kind, wanted)
        if row is None:
            row = NotificationTemplate(notification_type=kind)
            self.db.add(row)
        row.subject, row.body_text, row.body_html = (
            wanted.subject,
            wanted.body_text,
            wanted.body_html,
        )
        row.updated_at, row.updated_by = clock.now_ms(), self.actor_id
        self.db.flush()
        return self._template_out(kind, row)

    def compose(
        self, kind: str, variables: dict[str, str], recipient_name: str
    ) -> templates.Rendered:
        template = self.template(kind)
        if self._company_name is None:
            self._company_name = company_name(self.db)
        values = {"company_name": self._company_name, "recipient_name": recipient_name}
        values.update(variables)
        templates.check_variables(kind, template, values)
        return templates.render(template, values)

    # Preferences ------------------------------------------------------------------------
    def preferences(self, user_id: str) -> list[Preference]:
        stored = self.repo.preferences([user_id])
        return [
            Preference(
                notification_type=kind,
                channel=channel,
                enabled=stored.get((user_id, kind, channel), DEFAULT_PREFERENCES[channel]),
            )
            for kind in templates.TYPES
            for channel in CHANNELS
        ]

    def update_preferences(self, user_id: str, changes: Sequence[PreferenceChange]) -> None:
        now = clock.now_ms()
        for change in changes:
            row = self.repo.preference(user_id, change.notification_type, change.channel)
            if row is None:
                row = NotificationPreference(
                    user_id=user_id,
                    notification_type=change.notification_type,
                    channel=change.channel,
                )
                self.db.add(row)
            row.enabled, row.updated_at = change.enabled, now
        self.db.flush()

    # Writing messages -------------------------------------------------------------------
    def enqueue(
        self,
        kind: str,
        channel: str,
        rendered: templates.Rendered,
        *,
        recipient: str | None = None,
        user_id: str | None = None,
        client_id: str | None = None,
        task_id: str | None = None,
    ) -> Notification:
        """One message in the caller's transaction: an outbox row (email, SMS) due now or
        when the quiet hours end, or an in-app row, delivered as it is written."""
        now = clock.now()
        row = Notification(
            id=str(uuid.uuid4()),
            user_id=user_id,
            client_id=client_id,
            task_id=task_id,
            notification_type=kind,
            channel=channel,
            recipient=recipient,
            subject=rendered.subject,
            body_text=rendered.body_text,
            body_html=rendered.body_html if channel == "email" else None,
            level=LEVELS.get(kind, "info"),
            attempts=0,
            created_at=to_ms(now),
            created_by=self.actor_id,
        )
        if channel == IN_APP:
            row.status, row.delivered_at = DELIVERED, row.created_at
        else:
            config = self.config
            wait = configuration.quiet_until(
                now,
                config.quiet_hours_start if config else None,
                config.quiet_hours_end if config else None,
                configuration.zone(self.db, config),
            )
            row.status, row.next_attempt_at = PENDING, to_ms(wait or now)
        self.db.add(row)
        return row

    def pushes(self, rows: Sequence[Notification]) -> list[Event]:
        """The live pushes of new in-app rows (none when the admin turned push off)."""
        config = self.config
        if config is not None and not config.push_enabled:
            return []
        return [push_event(row) for row in rows if row.channel == IN_APP]

    def send(self, req: SendNotificationRequest) -> list[Notification]:
        user = UserRepository(self.db).get(req.user_id)
        if user is None or user.deleted_at is not None:
            raise NotFound("NOT_FOUND_USER", "User not found", user_id=req.user_id)
        channel, recipient = channel_of(req.recipient)
        if not configuration.channel_ready(self.config, channel):
            raise configuration.invalid(
                "recipient",
                f"no {channel} provider is configured (initialize_notification_service)",
                configuration.CODE_NOT_CONFIGURED,
            )
        rendered = self.compose(req.notification_type, dict(req.variables), user.full_name)
        rows = [
            self.enqueue(
                req.notification_type, channel, rendered, recipient=recipient, user_id=user.id
            )
        ]
        if req.in_app:
            rows.append(self.enqueue(req.notification_type, IN_APP, rendered, user_id=user.id))
        self.db.flush()
        return rows

    # The inbox --------------------------------------------------------------------------
    def inbox(
        self, user_id: str, unread_only: bool, page: Pagination
    ) -> tuple[list[NotificationOut], int, PageInfo]:
        rows, total = self.repo.inbox(
            user_id, unread_only=unread_only, offset=page.offset, limit=page.page_size
        )
        unread = total if unread_only else self.repo.unread_count(user_id)
        return [notification_out(r) for r in rows], unread, PageInfo.of(page, total)

    def mark_read(self, user_id: str, notification_id: str) -> NotificationOut:
        row = self.repo.own(user_id, notification_id)
        if row is None:  # another user's notification is as good as absent
            raise NotFound(
                "NOT_FOUND_NOTIFICATION", "Notification not found", notification_id=notification_id
            )
        if row.read_at is None:
            row.read_at = clock.now_ms()
            self.db.flush()
        return notification_out(row)

    def mark_all_read(self, user_id: str) -> int:
        return self.repo.mark_all_read(user_id, clock.now_ms())

    # Dead letters -----------------------------------------------------------------------
    def dead_letters(self, page: Pagination) -> tuple[list[OutboxEntry], PageInfo]:
        rows, total = self.repo.dead(offset=page.offset, limit=page.page_size)
        return [outbox_entry(r) for r in rows], PageInfo.of(page, total)

    def retry(self, ids: Sequence[str], every: bool) -> int:
        if not every and not ids:
            raise configuration.invalid("ids", "name the dead letters to retry, or all: true")
        rows = self.repo.all_dead() if every else self.repo.dead_by_ids(list(dict.fromkeys(ids)))
        if not every:
            found = {r.id: r for r in rows}
            for wanted in ids:
                row = found.get(wanted)
                if row is None:
                    raise NotFound(
                        "NOT_FOUND_NOTIFICATION", "Notification not found", notification_id=wanted
                    )
                if row.status != DEAD:
                    raise configuration.invalid(
                        "ids", f"{wanted} is {row.status}, not a dead letter"
                    )
        now = clock.now_ms()
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = PENDING, 0, now
            row.dead_at, row.lease_owner, row.lease_until = None, None, None
        self.db.flush()
        return len(rows)


def notification_out(row: Notification) -> NotificationOut:
    return NotificationOut(
        id=row.id,
        notification_type=row.notification_type,
        channel=row.channel,
        title=row.subject,
        message=row.body_text,
        level=row.level,
        task_id=row.task_id,
        created_at=row.created_at,
        read_at=row.read_at,
        is_read=row.read_at is not None,
    )


def outbox_entry(row: Notification) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        notification_type=row.notification_type,
        channel=row.channel,
        recipient=row.recipient,
        subject=row.subject,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        dead_at=row.dead_at,
    )
