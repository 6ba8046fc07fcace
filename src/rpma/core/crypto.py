"""Secrets at rest (TOTP secrets, provider API keys): AES-256-GCM with a key derived
from the server's signing key by HKDF, one derived key per purpose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rpma.core.errors import ConfigurationError

VERSION = "v1"


class SecretBox:
    def __init__(self, server_key: str, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"rpma-at-rest", info=purpose.encode()
        ).derive(server_key.encode())
        self._aead = AESGCM(key)
        self._aad = purpose.encode()

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), self._aad)
        return f"{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, _, body = token.partition(":")
        if version != VERSION:
            raise ConfigurationError(message="Unknown encryption format")
        raw = base64.urlsafe_b64decode(body)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], self._aad).decode()
        except InvalidTag:
            # The server key changed since this was stored: say so, never guess.
            raise ConfigurationError(
                message="A stored secret cannot be decrypted; was RPMA_SECRET_KEY changed?"
            ) from None


def keyed_digest(server_key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under a key derived for ``purpose``.

    For high-entropy random secrets (2FA backup codes) a keyed hash is as safe as Argon2
    against a stolen database (the key is not in it) and lets the server find a code with
    one indexed lookup instead of verifying ten slow hashes per attempt.
    """
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"rpma-digest", info=purpose.encode()
    ).derive(server_key.encode())
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
