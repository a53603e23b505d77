"""Secrets never reach the logs: uvicorn writes every request's path with its query string, and
the websocket's ticket travels there (`/ws?ticket=…`)."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"((?:^|[?&])ticket=)[^&\s\"]+")


def redact(text: str) -> str:
    return _SECRET.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """uvicorn's access log ("GET /ws?ticket=…") and its websocket lines ("WebSocket /ws?ticket=…"
    [accepted]), whichever of them the server configured."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
