"""Notifications (issue [8/8]): the provider configuration, editable templates, per-user
preferences and one table that is both the outbox (email, SMS) and the in-app inbox."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from rpma.core.db import ID_LENGTH, Base


class NotificationConfig(Base):
    """One row (id 1): the shop's providers. API keys and passwords are AES-GCM sealed
    (``*_secret``); only their last four characters are kept in clear, for display."""

    __tablename__ = "notification_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email_provider: Mapped[str | None] = mapped_column(String(16))  # sendgrid|mailgun|smtp
    email_secret: Mapped[str | None] = mapped_column(Text)
    email_secret_last4: Mapped[str | None] = mapped_column(String(4))
    email_from_email: Mapped[str | None] = mapped_column(String(254))
    email_from_name: Mapped[str | None] = mapped_column(String(200))
    email_api_base_url: Mapped[str | None] = mapped_column(String(500))
    email_domain: Mapped[str | None] = mapped_column(String(253))  # Mailgun's sending domain
    smtp_host: Mapped[str | None] = mapped_column(String(253))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_username: Mapped[str | None] = mapped_column(String(254))
    smtp_starttls: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_provider: Mapped[str | None] = mapped_column(String(16))  # twilio
    sms_account_sid: Mapped[str | None] = mapped_column(String(64))
    sms_secret: Mapped[str | None] = mapped_column(Text)
    sms_secret_last4: Mapped[str | None] = mapped_column(String(4))
    sms_from_number: Mapped[str | None] = mapped_column(String(32))
    sms_api_base_url: Mapped[str | None] = mapped_column(String(500))
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))  # HH:MM
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA; None: the shop's
    notify_clients: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class NotificationTemplate(Base):
    """An edited template; a type without a row uses the built-in default."""

    __tablename__ = "notification_templates"

    notification_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class NotificationPreference(Base):
    """A user's choice for one event and channel; no row means the default."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    notification_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Notification(Base):
    """One message to one recipient on one channel.

    Email and SMS rows are the outbox: ``pending`` until the worker claims one
    (``sending``, with a lease), then ``delivered`` or, after the last attempt or a
    permanent refusal, ``dead``. In-app rows are the user's inbox: ``delivered`` when
    written, ``read_at`` set when read.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_notifications_user_channel_created", "user_id", "channel", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("users.id", ondelete="CASCADE")
    )
    client_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    notification_type: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(8))  # email | sms | in_app
    recipient: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(8), default="info")
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int | None] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[int | None] = mapped_column(BigInteger)
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    delivered_at: Mapped[int | None] = mapped_column(BigInteger)
    dead_at: Mapped[int | None] = mapped_column(BigInteger)
    read_at: Mapped[int | None] = mapped_column(BigInteger)
