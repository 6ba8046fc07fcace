"""Notification commands (seed: "Notification Commands"; issue [8/8]). Thin: validate,
call the service, answer; pushes and the worker's wake-up leave after the commit."""

from __future__ import annotations

from collections.abc import Sequence

from rpma.core.commands import EmptyRequest, command
from rpma.core.context import CommandContext
from rpma.core.events import Event
from rpma.domains.notifications import configuration, worker
from rpma.domains.notifications.outbox import send_now
from rpma.domains.notifications.providers import Message
from rpma.domains.notifications.schemas import (
    DeadLetterListRequest,
    DeadLetterListResponse,
    MarkedCount,
    MarkReadRequest,
    NotificationConfigOut,
    NotificationConfigRequest,
    NotificationListRequest,
    NotificationListResponse,
    NotificationOut,
    PreferencesOut,
    PreferencesUpdateRequest,
    RetryDeadLettersRequest,
    SendNotificationRequest,
    TemplateOut,
    TemplateUpdateRequest,
    TestNotificationConfigRequest,
)
from rpma.domains.notifications.service import NotificationService, channel_of

AUTH = ["AUTH_FORBIDDEN", "AUTH_SESSION_INVALID", "AUTH_SESSION_EXPIRED"]


def _service(ctx: CommandContext) -> NotificationService:
    return NotificationService(ctx.db, ctx.services, ctx.actor_id)


def _release(ctx: CommandContext, pushes: Sequence[Event], queued: bool) -> None:
    services = ctx.services
    for event in pushes:
        ctx.publish_after_commit(event)
    if queued:
        ctx.after_commit(lambda: worker.wake(services))


@command(
    "initialize_notification_service",
    request=NotificationConfigRequest,
    response=None,
    permission="notification.admin",
    errors=[
        "VALIDATION_ERROR",
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_PHONE_INVALID",
        configuration.CODE_UNSUPPORTED,
        *AUTH,
    ],
)
def initialize_notification_service(ctx: CommandContext, req: NotificationConfigRequest) -> None:
    """Configure the notification providers (admin). Email: `sendgrid` or `mailgun`
    (`email_api_key`, and for Mailgun `email_domain`, default the from address's domain)
    or `smtp` (`smtp_host`, `smtp_port`, `smtp_username`, `smtp_password`,
    `smtp_starttls`); SMS: `twilio` (`sms_account_sid`, `sms_api_key` = the auth token,
    `sms_from_number` in E.164). `aws_sns` is refused (not supported). Also
    `email_from_email`, `email_from_name`, `email_api_base_url`, `sms_api_base_url`
    (default: the providers' public endpoints), `push_enabled`, `quiet_hours_start` and
    `quiet_hours_end` (HH:MM), `timezone` (IANA; default the shop's), `notify_clients`.
    Fields left out keep their value; a provider set to `null` turns its channel off.
    Keys are stored encrypted and never returned."""
    configuration.configure(
        ctx.db, ctx.services.secret_box(configuration.SECRET_PURPOSE), req, ctx.actor_id
    )


@command(
    "get_notification_config",
    response=NotificationConfigOut,
    permission="notification.admin",
    writes=False,
    errors=AUTH,
)
def get_notification_config(ctx: CommandContext, req: EmptyRequest) -> NotificationConfigOut:
    """The notification configuration (admin); keys only as their last four characters."""
    return configuration.view(ctx.db, configuration.load(ctx.db))


@command(
    "send_notification",
    request=SendNotificationRequest,
    response=None,
    permission="notification.send",
    errors=[
        "VALIDATION_ERROR",
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_PHONE_INVALID",
        configuration.CODE_NOT_CONFIGURED,
        "NOT_FOUND_USER",
        *AUTH,
    ],
)
def send_notification(ctx: CommandContext, req: SendNotificationRequest) -> None:
    """Send a notification to a user (admin, supervisor): `notification_type`
    (`task_assigned`, `task_updated`, `task_completed`, `system_alert`) rendered from its
    template with `variables`, to `recipient` (an email address, or an E.164 phone number
    for SMS), plus an in-app copy unless `in_app: false`. The message is queued in the
    outbox and delivered by the background worker (retries, quiet hours); an unknown or
    missing template variable is refused."""
    service = _service(ctx)
    rows = service.send(req)
    _release(ctx, service.pushes(rows), queued=True)


@command(
    "test_notification_config",
    request=TestNotificationConfigRequest,
    response=str,
    permission="notification.admin",
    writes=False,
    errors=[
        "VALIDATION_ERROR",
        "VALIDATION_EMAIL_INVALID",
        "VALIDATION_PHONE_INVALID",
        configuration.CODE_NOT_CONFIGURED,
        *AUTH,
    ],
)
def test_notification_config(ctx: CommandContext, req: TestNotificationConfigRequest) -> str:
    """Send a test message through the configured `channel` (`email` or `sms`) to
    `recipient` right away (no outbox, no quiet hours) and answer the provider's reply:
    accepted with its status and message id, or refused with its status and error."""
    channel, recipient = channel_of(req.recipient)
    if channel != req.channel:
        raise configuration.invalid("recipient", f"is not an address for the {req.channel} channel")
    config = configuration.load(ctx.db)
    if not configuration.channel_ready(config, channel):
        raise configuration.invalid(
            "channel", f"no {channel} provider is configured", configuration.CODE_NOT_CONFIGURED
        )
    senders = configuration.senders(config, ctx.services.secret_box(configuration.SECRET_PURPOSE))
    ctx.db.rollback()  # hold no transaction while the provider answers
    text = "This is a test message from RPMA: your notification settings work."
    message = Message(channel, recipient, "RPMA test message", text, f"<p>{text}</p>")
    answer = send_now(senders, message, ctx.services.settings.notification_provider_timeout_seconds)
    return answer.describe()


@command(
    "notification_get_templates",
    response=list[TemplateOut],
    permission="notification.admin",
    writes=False,
    errors=AUTH,
)
def notification_get_templates(ctx: CommandContext, req: EmptyRequest) -> list[TemplateOut]:
    """The four templates (subject, plain-text and HTML bodies), each with the variables
    it may use and whether it was edited."""
    return _service(ctx).list_templates()


@command(
    "notification_update_template",
    request=TemplateUpdateRequest,
    response=TemplateOut,
    permission="notification.admin",
    errors=["VALIDATION_ERROR", *AUTH],
)
def notification_update_template(ctx: CommandContext, req: TemplateUpdateRequest) -> TemplateOut:
    """Edit one template (`subject`, `body_text`, `body_html`; `{variable}` fields, `{{`
    for a brace) or put it back with `reset: true`. A variable the type does not know is
    refused."""
    return _service(ctx).update_template(req)


@command(
    "notification_list",
    request=NotificationListRequest,
    response=NotificationListResponse,
    permission="notification.own",
    writes=False,
    errors=["VALIDATION_ERROR", *AUTH],
)
def notification_list(
    ctx: CommandContext, req: NotificationListRequest
) -> NotificationListResponse:
    """The caller's in-app notifications, newest first (`page`, `page_size`,
    `unread_only`), with the unread count."""
    items, unread, info = _service(ctx).inbox(ctx.user.user_id, req.unread_only, req)
    return NotificationListResponse(notifications=items, unread_count=unread, pagination=info)


@command(
    "notification_mark_read",
    request=MarkReadRequest,
    response=NotificationOut,
    permission="notification.own",
    errors=["VALIDATION_ERROR", "NOT_FOUND_NOTIFICATION", *AUTH],
)
def notification_mark_read(ctx: CommandContext, req: MarkReadRequest) -> NotificationOut:
    """Mark one of the caller's in-app notifications read."""
    return _service(ctx).mark_read(ctx.user.user_id, req.notification_id)


@command(
    "notification_mark_all_read",
    response=MarkedCount,
    permission="notification.own",
    errors=AUTH,
)
def notification_mark_all_read(ctx: CommandContext, req: EmptyRequest) -> MarkedCount:
    """Mark every in-app notification of the caller read; answers how many changed."""
    return MarkedCount(updated=_service(ctx).mark_all_read(ctx.user.user_id))


@command(
    "notification_get_preferences",
    response=PreferencesOut,
    permission="notification.own",
    writes=False,
    errors=AUTH,
)
def notification_get_preferences(ctx: CommandContext, req: EmptyRequest) -> PreferencesOut:
    """The caller's choices for each notification type and channel (`email`, `sms`,
    `in_app`); defaults: in-app and email on, SMS off."""
    return PreferencesOut(preferences=_service(ctx).preferences(ctx.user.user_id))


@command(
    "notification_update_preferences",
    request=PreferencesUpdateRequest,
    response=PreferencesOut,
    permission="notification.own",
    errors=["VALIDATION_ERROR", *AUTH],
)
def notification_update_preferences(
    ctx: CommandContext, req: PreferencesUpdateRequest
) -> PreferencesOut:
    """Change the caller's choices: `preferences: [{notification_type, channel,
    enabled}]`; answers all of them."""
    service = _service(ctx)
    service.update_preferences(ctx.user.user_id, req.preferences)
    return PreferencesOut(preferences=service.preferences(ctx.user.user_id))


@command(
    "notification_list_dead_letters",
    request=DeadLetterListRequest,
    response=DeadLetterListResponse,
    permission="notification.admin",
    writes=False,
    errors=["VALIDATION_ERROR", *AUTH],
)
def notification_list_dead_letters(
    ctx: CommandContext, req: DeadLetterListRequest
) -> DeadLetterListResponse:
    """Messages the outbox gave up on (the provider refused them, or every retry
    failed), newest first, with the provider's last answer."""
    items, info = _service(ctx).dead_letters(req)
    return DeadLetterListResponse(dead_letters=items, pagination=info)


@command(
    "notification_retry_dead_letters",
    request=RetryDeadLettersRequest,
    response=MarkedCount,
    permission="notification.admin",
    errors=["VALIDATION_ERROR", "NOT_FOUND_NOTIFICATION", *AUTH],
)
def notification_retry_dead_letters(
    ctx: CommandContext, req: RetryDeadLettersRequest
) -> MarkedCount:
    """Queue dead letters again (`ids`, or `all: true`) with a fresh set of attempts."""
    count = _service(ctx).retry(req.ids, req.all)
    _release(ctx, [], queued=count > 0)
    return MarkedCount(updated=count)
