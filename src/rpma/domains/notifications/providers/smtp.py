"""A shop's own mail server: smtplib, STARTTLS when asked, implicit TLS on port 465."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from rpma.domains.notifications.providers import EmailSettings, Message, ProviderAnswer

IMPLICIT_TLS_PORT = 465


def _build(settings: EmailSettings, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((settings.from_name or "", settings.from_email))
    mail["To"] = message.recipient
    mail["Subject"] = message.subject
    domain = settings.from_email.rpartition("@")[2] or None
    mail["Message-ID"] = make_msgid(domain=domain)
    mail.set_content(message.body_text)
    if message.body_html:
        mail.add_alternative(message.body_html, subtype="html")
    return mail


def send_smtp(settings: EmailSettings, message: Message, timeout: float) -> ProviderAnswer:
    host, port = settings.smtp_host or "localhost", settings.smtp_port or 25
    mail = _build(settings, message)
    try:
        server: smtplib.SMTP
        if port == IMPLICIT_TLS_PORT:
            server = smtplib.SMTP_SSL(host, port, timeout=timeout)
        else:
            server = smtplib.SMTP(host, port, timeout=timeout)
        with server:
            if settings.smtp_starttls and port != IMPLICIT_TLS_PORT:
                server.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                server.login(settings.smtp_username, settings.secret)
            refused = server.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return _refusal(code, text)
    except smtplib.SMTPResponseException as exc:
        return _refusal(exc.smtp_code, exc.smtp_error)
    except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
        detail = "timed out" if isinstance(exc, TimeoutError) else "server disconnected"
        return ProviderAnswer("smtp", False, error=detail, retryable=True)
    except (OSError, smtplib.SMTPException) as exc:
        return ProviderAnswer(
            "smtp", False, error=f"network error: {type(exc).__name__}", retryable=True
        )
    if refused:
        code, text = next(iter(refused.values()))
        return _refusal(code, text)
    return ProviderAnswer("smtp", True, 250, message_id=str(mail["Message-ID"]))


def _refusal(code: int, text: bytes | str) -> ProviderAnswer:
    detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    # 4xx is the server's "try later"; 5xx is final.
    return ProviderAnswer("smtp", False, code, error=detail[:300], retryable=400 <= code < 500)
