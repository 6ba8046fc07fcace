"""A loopback HTTP server that speaks the SendGrid v3 mail/send, Mailgun messages and
Twilio Messages APIs (checking each one's authentication as the real one does), and a
real SMTP server (aiosmtpd). Tests script the next answers: a status, or a hang."""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SENDGRID_KEY = "SG.test-key-0123456789-abcd"
MAILGUN_KEY = "key-mailgun-test-9876wxyz"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-5678"
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret-pass-4321"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class ProviderServer:
    """``script`` holds the next answers: an HTTP status to force, or ``"hang"``; when
    empty, the provider behaves (and checks credentials)."""

    requests: list[Recorded] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def answer(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests.append(request)
            count = len(self.requests)
            forced = self.script.pop(0) if self.script else None
        if forced == "hang":
            self.release.wait(30)
            return 503, {}, b""
        if isinstance(forced, int):
            return (
                forced,
                {"Content-Type": "application/json"},
                json.dumps({"message": f"forced {forced}"}).encode(),
            )
        return route(request, count)


def _basic(request: Recorded) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def _json(status: int, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def route(request: Recorded, count: int) -> tuple[int, dict[str, str], bytes]:
    path = request.path
    if path == "/v3/mail/send":
        if request.headers.get("authorization") != f"Bearer {SENDGRID_KEY}":
            message = "The provided authorization grant is invalid, expired, or revoked"
            return _json(401, {"errors": [{"message": message, "field": None}]})
        return 202, {"X-Message-Id": f"sg-{count}"}, b""
    if path.startswith("/v3/") and path.endswith("/messages"):
        if _basic(request) != ("api", MAILGUN_KEY):
            return 401, {"Content-Type": "text/plain"}, b"Forbidden"
        domain = path.split("/")[2]
        return _json(200, {"id": f"<mg-{count}@{domain}>", "message": "Queued. Thank you."})
    if path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
        if _basic(request) != (TWILIO_SID, TWILIO_TOKEN):
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        return _json(201, {"sid": f"SM{count:032d}", "status": "queued"})
    return _json(404, {"message": f"no route {path}"})


def serve_providers() -> Iterator[ProviderServer]:
    state = ProviderServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = state.answer(Recorded("POST", self.path, headers, body))
            try:
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client gave up (a timeout test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()


@dataclass
class SmtpInbox:
    messages: list[tuple[Envelope, Message]] = field(default_factory=list)
    port: int = 0
    # The next RCPT answers, e.g. "451 4.3.0 try later" or "550 5.1.1 no such user".
    script: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SmtpServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.script:
            return self.script.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append((envelope, message_from_bytes(raw)))
        return "250 Message accepted for delivery"


def _authenticator(
    server: SmtpServer, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def serve_smtp(tls: tuple[Path, Path] | None = None) -> Generator[SmtpInbox, None, None]:
    """With ``tls`` (certificate, key), STARTTLS is offered and required."""
    inbox = SmtpInbox()
    extra: dict[str, Any] = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        extra = {"tls_context": context, "require_starttls": True}
    with socket.socket() as probe:  # aiosmtpd wants a port number, not 0
        probe.bind(("127.0.0.1", 0))
        inbox.port = int(probe.getsockname()[1])
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=_authenticator,
        auth_require_tls=False,
        **extra,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
