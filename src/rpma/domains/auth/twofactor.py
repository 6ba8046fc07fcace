"""Two-factor authentication (DOMAIN.md "Users and sessions"): TOTP per RFC 6238
(SHA-1, 6 digits, 30 s, ±1 step) and 10 single-use backup codes.

* The TOTP secret is stored encrypted (AES-GCM, ``services.secret_box("totp")``); it
  leaves the server once, in enable_2fa's answer.
* 2FA is on only after verify_2fa_setup proved that the user's app has the secret.
* A TOTP code is good once: the accepted time step is kept, and a code whose step is
  not after it is refused (no replay within its 90 s of validity).
* Backup codes are hashed like passwords and marked used, never deleted one by one.

Services flush, never commit: the dispatcher owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from rpma.core.clock import clock
from rpma.core.context import ClientInfo
from rpma.core.crypto import keyed_digest
from rpma.core.errors import AppError, AuthenticationError, AuthorizationError, SessionInvalid
from rpma.core.services import Services
from rpma.domains.auth import lockout
from rpma.domains.auth.models import BackupCode
from rpma.domains.auth.schemas import TwoFactorSetup
from rpma.domains.security.service import EventType, record
from rpma.domains.users.models import User
from rpma.domains.users.repository import UserRepository

ISSUER = "RPMA"
TOTP_DIGITS = 6
TOTP_INTERVAL_SECONDS = 30
TOTP_VALID_WINDOW = 1  # steps accepted either side of now: clock drift of the phone
BACKUP_CODE_COUNT = 10
# No 0/o, 1/l/i: codes are read off paper and typed by hand.
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
SECRET_PURPOSE = "totp"
BACKUP_CODE_PURPOSE = "2fa-backup-codes"

_TOTP_FORMAT = re.compile(rf"\d{{{TOTP_DIGITS}}}")
_BACKUP_FORMAT = re.compile(rf"([{BACKUP_ALPHABET}]{{4}})-?([{BACKUP_ALPHABET}]{{4}})")

FailureSink = Callable[[lockout.FailureWrite], None]


class TwoFactorError(AppError):
    status = 400


class TwoFactorInvalidCode(TwoFactorError):
    default_code = "2FA_INVALID_CODE"
    default_message = "Invalid verification code"


class TwoFactorAlreadyEnabled(TwoFactorError):
    default_code = "2FA_ALREADY_ENABLED"
    default_message = "Two-factor authentication is already enabled"


class TwoFactorNotEnabled(TwoFactorError):
    default_code = "2FA_NOT_ENABLED"
    default_message = "Two-factor authentication is not enabled"


def totp_for(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(
        secret, digits=TOTP_DIGITS, digest=hashlib.sha1, interval=TOTP_INTERVAL_SECONDS
    )


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step (within ±1 of ``at``) whose code is ``code`` and that comes after
    ``last_step``; None otherwise. pyotp's verify() says yes or no, but replay refusal
    needs the step itself."""
    totp = totp_for(secret)
    now_step = totp.timecode(at)
    for step in range(now_step - TOTP_VALID_WINDOW, now_step + TOTP_VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_backup_code() -> str:
    chars = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalize_backup_code(code: str) -> str | None:
    """``ABCD EFGH``, ``abcdefgh`` and ``abcd-efgh`` are the same code."""
    match = _BACKUP_FORMAT.fullmatch(code.strip().lower().replace(" ", ""))
    return f"{match.group(1)}-{match.group(2)}" if match else None


def qr_data_url(uri: str) -> str:
    # Always a full QR code (never a Micro QR, which authenticator apps cannot read).
    return str(segno.make_qr(uri, error="m").png_data_uri(scale=5, border=4))


class TwoFactorService:
    def __init__(self, db: Session, services: Services) -> None:
        self.db = db
        self.services = services
        self.users = UserRepository(db)

    # Helpers --------------------------------------------------------------------------
    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None or not user.is_active:  # the session was just resolved: rare race
            raise SessionInvalid(message="This account is no longer active")
        return user

    def _secret(self, user: User) -> str | None:
        if user.two_factor_secret is None:
            return None
        return self.services.secret_box(SECRET_PURPOSE).decrypt(user.two_factor_secret)

    def _replace_backup_codes(self, user_id: str) -> list[str]:
        self.db.execute(delete(BackupCode).where(BackupCode.user_id == user_id))
        now_ms = clock.now_ms()
        codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
        self.db.add_all(
            BackupCode(
                id=str(uuid.uuid4()),
                user_id=user_id,
                code_hash=self._backup_digest(code),
                created_at=now_ms,
                used_at=None,
            )
            for code in codes
        )
        self.db.flush()
        return codes

    @staticmethod
    def _touch(user: User) -> None:
        """two_factor_enabled is part of the user's record: a change is an edit."""
        user.updated_at = clock.now_ms()
        user.updated_by = user.id
        user.version = (user.version or 0) + 1

    def _consume_step(self, user: User, step: int) -> bool:
        """Store ``step`` as the last accepted one, only if it is still newer: of two
        concurrent uses of one code, exactly one wins."""
        result = self.db.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.two_factor_last_step.is_(None), User.two_factor_last_step < step),
            )
            .values(two_factor_last_step=step)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def _backup_digest(self, code: str) -> str:
        return keyed_digest(self.services.server_key, BACKUP_CODE_PURPOSE, code)

    def _consume_backup_code(self, user: User, code: str) -> bool:
        """Mark the matching unused code used; of two concurrent uses exactly one wins."""
        result = self.db.execute(
            update(BackupCode)
            .where(
                BackupCode.user_id == user.id,
                BackupCode.code_hash == self._backup_digest(code),
                BackupCode.used_at.is_(None),
            )
            .values(used_at=clock.now_ms())
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def remaining_backup_codes(self, user_id: str) -> int:
        rows = self.db.scalars(
            select(BackupCode.id).where(BackupCode.user_id == user_id, BackupCode.used_at.is_(None))
        )
        return len(list(rows))

    # Checking a code ------------------------------------------------------------------
    def check(self, user: User, code: str) -> str | None:
        """Accept and consume ``code`` (a TOTP or an unused backup code) for ``user``,
        whose 2FA is on. Answers how it was accepted, ``"totp"`` or ``"backup_code"``,
        or None when it is wrong, replayed or used."""
        secret = self._secret(user)
        if secret is None:
            return None
        candidate = code.strip().replace(" ", "")
        if _TOTP_FORMAT.fullmatch(candidate):
            step = matching_step(secret, candidate, clock.now(), user.two_factor_last_step)
            return "totp" if step is not None and self._consume_step(user, step) else None
        backup = normalize_backup_code(code)
        if backup is not None and self._consume_backup_code(user, backup):
            return "backup_code"
        return None

    def record_success(self, user_id: str, method: str, client: ClientInfo) -> None:
        """The event of a backup code spent (a TOTP success needs none of its own)."""
        if method == "backup_code":
            record(
                self.db,
                EventType.BACKUP_CODE_USED,
                "A 2FA backup code was used",
                user_id=user_id,
                client=client,
                remaining=self.remaining_backup_codes(user_id),
            )

    # Commands -------------------------------------------------------------------------
    def is_enabled(self, user_id: str) -> bool:
        return bool(self._user(user_id).two_factor_enabled)

    def enable(self, user_id: str) -> TwoFactorSetup:
        """A new secret and new backup codes, stored but not yet in force: 2FA turns on
        in confirm_setup, once a code proves the authenticator app has the secret."""
        user = self._user(user_id)
        if user.two_factor_enabled:
            raise TwoFactorAlreadyEnabled()
        secret = pyotp.random_base32()  # 32 base32 characters: 160 bits, RFC 4226's size
        user.two_factor_secret = self.services.secret_box(SECRET_PURPOSE).encrypt(secret)
        user.two_factor_last_step = None
        codes = self._replace_backup_codes(user.id)
        uri = totp_for(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
        return TwoFactorSetup(
            secret=secret, qr_code_url=qr_data_url(uri), otpauth_uri=uri, backup_codes=codes
        )

    def confirm_setup(self, caller_id: str, user_id: str, code: str, client: ClientInfo) -> bool:
        if user_id != caller_id:
            raise AuthorizationError(message="2FA can only be set up for your own account")
        user = self._user(user_id)
        if user.two_factor_enabled:
            raise TwoFactorAlreadyEnabled()
        secret = self._secret(user)
        if secret is None:
            raise TwoFactorNotEnabled(message="Start with enable_2fa to get a secret")
        candidate = code.strip().replace(" ", "")
        step = (
            matching_step(secret, candidate, clock.now(), user.two_factor_last_step)
            if _TOTP_FORMAT.fullmatch(candidate)
            else None
        )
        if step is None:
            raise TwoFactorInvalidCode()
        user.two_factor_enabled = True
        user.two_factor_last_step = step
        self._touch(user)
        record(
            self.db,
            EventType.TWO_FACTOR_ENABLED,
            "Two-factor authentication enabled",
            user_id=user.id,
            client=client,
        )
        self.db.flush()
        return True

    def disable(self, user_id: str, password: str, client: ClientInfo) -> str:
        user = self._user(user_id)
        # The password, not only the session: a borrowed unlocked screen must not be
        # enough to remove the second factor.
        if not self.services.passwords.verify(user.password_hash, password):
            raise AuthenticationError(message="Invalid password")
        if not user.two_factor_enabled and user.two_factor_secret is None:
            raise TwoFactorNotEnabled()
        was_enabled = user.two_factor_enabled
        user.two_factor_enabled = False
        user.two_factor_secret = None
        user.two_factor_last_step = None
        self.db.execute(delete(BackupCode).where(BackupCode.user_id == user.id))
        if was_enabled:
            self._touch(user)
            record(
                self.db,
                EventType.TWO_FACTOR_DISABLED,
                "Two-factor authentication disabled",
                user_id=user.id,
                client=client,
            )
        self.db.flush()
        return "Two-factor authentication disabled"

    def regenerate_backup_codes(self, user_id: str, client: ClientInfo) -> list[str]:
        user = self._user(user_id)
        if not user.two_factor_enabled:
            raise TwoFactorNotEnabled()
        codes = self._replace_backup_codes(user.id)
        record(
            self.db,
            EventType.BACKUP_CODES_REGENERATED,
            "2FA backup codes regenerated; the previous ones no longer work",
            user_id=user.id,
            client=client,
        )
        return codes

    def reverify(
        self, user_id: str, code: str, client: ClientInfo, on_failure: FailureSink
    ) -> bool:
        """A signed-in user proves the second factor again (before a sensitive action).
        Failures count like sign-in failures: a stolen session must not become a way
        to guess codes without limit."""
        user = self._user(user_id)
        if not user.two_factor_enabled:
            raise TwoFactorNotEnabled()
        if lockout.is_locked(user, clock.now_ms()):
            on_failure(
                lockout.failed_attempt(
                    user.id,
                    client,
                    EventType.TWO_FACTOR_FAILED,
                    "2FA code refused: locked",
                    stage="reverify",
                    reason="account_locked",
                )
            )
            raise TwoFactorInvalidCode()
        method = self.check(user, code)
        if method is None:
            on_failure(
                lockout.failed_attempt(
                    user.id,
                    client,
                    EventType.TWO_FACTOR_FAILED,
                    "Wrong 2FA code",
                    stage="reverify",
                )
            )
            raise TwoFactorInvalidCode()
        self.record_success(user.id, method, client)
        return True
