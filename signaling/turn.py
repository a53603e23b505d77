"""ICE servers for clients, with TURN credentials in the time-limited shared-secret scheme of
coturn's REST API (`use-auth-secret` / `static-auth-secret`): username = "<expiry>:<user>",
password = base64(HMAC-SHA1(secret, username)). coturn checks both; nothing is stored."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any


def turn_credentials(secret: str, user_id: int, now: float, ttl_s: int) -> tuple[str, str]:
    username = f"{int(now) + ttl_s}:{user_id}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def credentials_valid(secret: str, username: str, password: str, now: float) -> bool:
    """What coturn checks: the signature, and that the expiry in the username is not past."""
    expiry, _, _ = username.partition(":")
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, password) and expiry.isdigit() and int(expiry) > now


def ice_servers(stun: list[str], turn: list[str], secret: str | None, user_id: int, now: float, ttl_s: int) -> dict[str, Any]:
    servers: list[dict[str, Any]] = [{"urls": stun}] if stun else []
    if turn and secret:
        username, password = turn_credentials(secret, user_id, now, ttl_s)
        servers.append({"urls": turn, "username": username, "credential": password})
    return {"ice_servers": servers, "ttl_s": ttl_s}
