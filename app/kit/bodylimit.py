"""Request body caps, before anything parses a body: a JSON body is small (256 KB by default,
`TUTORING_MAX_JSON_BYTES`), an upload (multipart, CSV) at most the image or roster limit plus
room for the form. A larger body is refused with 413 in the error envelope — from its
Content-Length when it gives one, else as soon as the bytes received pass the cap — so a 100 MB
JSON document is never read, let alone parsed."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

_UPLOAD_TYPES = (b"multipart/form-data", b"text/csv", b"application/octet-stream")
# Bodies that their endpoint streams to storage under its own cap (a lesson video, up to
# TUTORING_LESSON_MAX_BYTES): passed through unread, never held in memory here.
_STREAMED = re.compile(r"^/api/lessons/\d+/video$")


class BodyLimit:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.json_cap = settings.max_json_bytes
        self.upload_cap = max(settings.max_image_bytes, settings.max_csv_bytes) + 64 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or (scope["method"] == "PUT" and _STREAMED.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        upload = headers.get(b"content-type", b"").split(b";")[0].strip().lower() in _UPLOAD_TYPES
        cap = self.upload_cap if upload else self.json_cap
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        if declared > cap:
            await _too_large(send, cap)
            return
        # Read the body here (the app would read all of it anyway), stopping at the cap.
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks = []
                break
            total += len(message.get("body", b""))
            if total > cap:
                await _too_large(send, cap)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, cap: int) -> None:
    payload: dict[str, Any] = {"error": "PayloadTooLarge", "detail": f"the request body is larger than {cap} bytes", "limit_bytes": cap}
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": data})
