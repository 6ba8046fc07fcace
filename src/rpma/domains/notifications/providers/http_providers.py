"""SendGrid (v3 mail/send, JSON, Bearer key), Mailgun (messages, form, basic auth
``api:key``) and Twilio (Messages.json, form, basic auth ``AccountSid:AuthToken``), each
through its documented HTTP API with httpx."""

from __future__ import annotations

from typing import Any

import httpx

from rpma.domains.notifications.providers import (
    DEFAULT_BASE_URLS,
    EmailSettings,
    Message,
    ProviderAnswer,
    SmsSettings,
)

ERROR_TEXT_LIMIT = 300


def _base(provider: str, configured: str | None) -> str:
    return (configured or DEFAULT_BASE_URLS[provider]).rstrip("/")


def _error_text(response: httpx.Response) -> str:
    """The provider's own words, shortened: SendGrid ``errors[].message``, Twilio and
    Mailgun ``message``, else the body."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:ERROR_TEXT_LIMIT] or response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", errors[0]))[:ERROR_TEXT_LIMIT]
        if "message" in body:
            return str(body["message"])[:ERROR_TEXT_LIMIT]
    return str(body)[:ERROR_TEXT_LIMIT]


def _post(provider: str, url: str, timeout: float, id_of: Any, **kwargs: Any) -> ProviderAnswer:
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, **kwargs)
    except httpx.TimeoutException:
        return ProviderAnswer(
            provider, False, error=f"timed out after {timeout:g} s", retryable=True
        )
    except httpx.HTTPError as exc:
        return ProviderAnswer(
            provider, False, error=f"network error: {type(exc).__name__}", retryable=True
        )
    status = response.status_code
    if 200 <= status < 300:
        return ProviderAnswer(provider, True, status, message_id=id_of(response))
    retryable = status >= 500 or status in (408, 429)
    return ProviderAnswer(provider, False, status, error=_error_text(response), retryable=retryable)


def _json_field(name: str) -> Any:
    def read(response: httpx.Response) -> str | None:
        try:
            value = response.json().get(name)
        except (ValueError, AttributeError):
            return None
        return str(value) if value is not None else None

    return read


def send_sendgrid(settings: EmailSettings, message: Message, timeout: float) -> ProviderAnswer:
    sender: dict[str, str] = {"email": settings.from_email}
    if settings.from_name:
        sender["name"] = settings.from_name
    # SendGrid wants text/plain before text/html.
    content = [{"type": "text/plain", "value": message.body_text}]
    if message.body_html:
        content.append({"type": "text/html", "value": message.body_html})
    payload = {
        "personalizations": [{"to": [{"email": message.recipient}], "subject": message.subject}],
        "from": sender,
        "content": content,
    }
    return _post(
        "sendgrid",
        f"{_base('sendgrid', settings.base_url)}/v3/mail/send",
        timeout,
        lambda response: response.headers.get("X-Message-Id"),
        json=payload,
        headers={"Authorization": f"Bearer {settings.secret}"},
    )


def send_mailgun(settings: EmailSettings, message: Message, timeout: float) -> ProviderAnswer:
    sender = settings.from_email
    if settings.from_name:
        sender = f"{settings.from_name} <{settings.from_email}>"
    form = {"from": sender, "to": message.recipient, "subject": message.subject}
    form["text"] = message.body_text
    if message.body_html:
        form["html"] = message.body_html
    domain = settings.domain or settings.from_email.rpartition("@")[2]
    return _post(
        "mailgun",
        f"{_base('mailgun', settings.base_url)}/v3/{domain}/messages",
        timeout,
        _json_field("id"),
        data=form,
        auth=("api", settings.secret),
    )


def send_twilio(settings: SmsSettings, message: Message, timeout: float) -> ProviderAnswer:
    url = (
        f"{_base('twilio', settings.base_url)}/2010-04-01/Accounts/"
        f"{settings.account_sid}/Messages.json"
    )
    return _post(
        "twilio",
        url,
        timeout,
        _json_field("sid"),
        data={"To": message.recipient, "From": settings.from_number, "Body": message.body_text},
        auth=(settings.account_sid, settings.secret),
    )
