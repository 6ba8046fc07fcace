"""Keep tokens out of the logs.

uvicorn logs a WebSocket's path with its query string (`"WebSocket /ws?token=eyJ..."
[accepted]`), and `/ws` and `/ipc` accept the session token there. A filter on uvicorn's
loggers rewrites any `token=` (or `access_token=`, `session_token=`) value before a
handler sees the record.
"""

from __future__ import annotations

import logging
import re
from typing import Final

_SECRET_IN_QUERY: Final = re.compile(
    r"((?:^|[?&;\s])(?:token|access_token|session_token|refresh_token)=)[^&;\s\"']+",
    re.IGNORECASE,
)
REDACTED: Final = "[redacted]"
UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    return _SECRET_IN_QUERY.sub(rf"\g<1>{REDACTED}", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(names: tuple[str, ...] = UVICORN_LOGGERS) -> None:
    """Add the filter once to each logger (a filter sees only its own logger's records)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
