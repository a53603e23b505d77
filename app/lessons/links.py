"""Signed links to lesson files. A `<video>` or `<img>` element cannot send the Authorization
header, so the API hands a player a link that names the file and an expiry, signed with the
service's secret: checking it costs one HMAC and no database query, which keeps ranged streaming
as cheap as serving a plain file (see loadtest/lessons.py). The API decides who may see a
lesson before it signs; a link lives `TUTORING_LESSON_STREAM_TTL_S` (the player asks for a
fresh one when it expires)."""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, key: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def link(secret: str, key: str, now: float, ttl_s: int) -> str:
    expires = int(now) + ttl_s
    return f"/api/lessons/files/{key}?e={expires}&s={sign(secret, key, expires)}"


def valid(secret: str, key: str, expires: int, signature: str, now: float) -> bool:
    return expires >= now and hmac.compare_digest(sign(secret, key, expires), signature)
