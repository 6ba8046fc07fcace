"""Real-transport tests: raw HTTP and WebSocket against a live uvicorn server.

Shared here: lowering the compressed-envelope threshold for one test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import LiveServer


@contextmanager
def compression_threshold(server: LiveServer, threshold: int) -> Iterator[None]:
    """Set ``compression_threshold_bytes`` on the running server, restored afterwards."""
    settings = server.services.settings
    previous = settings.compression_threshold_bytes
    settings.compression_threshold_bytes = threshold
    try:
        yield
    finally:
        settings.compression_threshold_bytes = previous
