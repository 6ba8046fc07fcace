"""Knobs of the live-update hub and the close codes of the /ws protocol (docs/LIVE.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Final

# Close codes: 4000 + the HTTP status they resemble, so they read at a glance.
CLOSE_GOING_AWAY: Final = 1001  # the server is shutting down
CLOSE_AUTH: Final = 4401  # no token, a bad, expired or revoked one, an inactive account
CLOSE_TIMEOUT: Final = 4408  # no auth frame in time, or no answer to the heartbeats
CLOSE_SLOW: Final = 4429  # the client read too slowly: its send queue filled up


@dataclass
class LiveConfig:
    """Read from ``RPMA_LIVE_<NAME>`` environment variables; tests change the fields of
    a running hub (each loop reads them afresh)."""

    heartbeat_seconds: float = 20.0  # a {"type": "ping"} this often
    heartbeat_timeout_seconds: float = 50.0  # silent this long (no frame at all): dropped
    auth_timeout_seconds: float = 10.0  # for the first {"type": "auth"} frame
    queue_size: int = 256  # messages waiting per connection before it counts as slow
    replay_size: int = 1000  # events kept for clients that reconnect
    revalidate_seconds: float = 30.0  # sessions re-checked (revoked, expired, role changed)
    close_timeout_seconds: float = 5.0  # for the close frame to reach a slow client
    namespace: str = "rpma:live"  # Redis keys and channel

    @classmethod
    def from_env(cls) -> LiveConfig:
        config = cls()
        for spec in fields(cls):
            raw = os.environ.get(f"RPMA_LIVE_{spec.name.upper()}")
            if raw is None:
                continue
            current = getattr(config, spec.name)
            setattr(config, spec.name, type(current)(raw))
        return config
