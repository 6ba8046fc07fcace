"""Tokens never reach a log, not even in the WebSocket paths uvicorn logs."""

from __future__ import annotations

import logging

import pytest

from rpma.core import logredact


def test_a_websocket_path_is_logged_without_its_token(caplog: pytest.LogCaptureFixture) -> None:
    logredact.install()
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        # Exactly how uvicorn's websockets protocol logs an accepted connection.
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:50000", f"/ws?token={token}&last=4"
        )
    assert token not in caplog.text
    assert '"WebSocket /ws?token=[redacted]&last=4" [accepted]' in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ipc?token=abc", "/ipc?token=[redacted]"),
        ("/ws?last_event_id=3&access_token=abc", "/ws?last_event_id=3&access_token=[redacted]"),
        ("/ws?session_token=a.b.c x", "/ws?session_token=[redacted] x"),
        ("/ws?tokens_seen=2", "/ws?tokens_seen=2"),  # another parameter, left alone
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert logredact.redact(text) == expected


def test_installing_twice_adds_one_filter() -> None:
    logredact.install()
    logredact.install()
    filters = logging.getLogger("uvicorn.error").filters
    assert sum(isinstance(f, logredact.RedactTokens) for f in filters) == 1
