"""Provider calls: one function per provider, each answering a ProviderAnswer and never
raising for what the provider or the network does (the outbox decides what to retry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

EMAIL_PROVIDERS: Final = ("sendgrid", "mailgun", "smtp")
SMS_PROVIDERS: Final = ("twilio",)
# Named by the seed, refused: signing AWS requests needs botocore, which RPMA does not ship.
UNSUPPORTED: Final = {"aws_sns": "AWS SNS is not supported (it needs AWS request signing)"}
DEFAULT_BASE_URLS: Final = {
    "sendgrid": "https://api.sendgrid.com",
    "mailgun": "https://api.mailgun.net",
    "twilio": "https://api.twilio.com",
}


@dataclass(frozen=True)
class Message:
    channel: str  # email | sms
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None


@dataclass(frozen=True)
class EmailSettings:
    provider: str
    secret: str  # API key, or the SMTP password ("" for none)
    from_email: str
    from_name: str | None
    base_url: str | None = None
    domain: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_username: str | None = None
    smtp_starttls: bool = False


@dataclass(frozen=True)
class SmsSettings:
    provider: str
    account_sid: str
    secret: str
    from_number: str
    base_url: str | None = None


@dataclass(frozen=True)
class ProviderAnswer:
    provider: str
    ok: bool
    status: int | None = None  # HTTP status or SMTP reply code; None: no answer
    message_id: str | None = None
    error: str | None = None
    # Worth trying again later: network errors, timeouts, 5xx, 429, SMTP 4xx.
    retryable: bool = False

    def describe(self) -> str:
        if self.ok:
            shown = f", message id {self.message_id}" if self.message_id else ""
            return f"{self.provider} accepted the message (status {self.status}{shown})"
        status = f"status {self.status}: " if self.status is not None else ""
        return f"{self.provider} refused the message ({status}{self.error})"
