"""The media of a one-to-many class, behind one small interface.

Each participant holds ONE WebRTC connection to the service. The tutor *publishes* (sends the
class its voice, hears the floor holder); a student *subscribes* (hears the tutor and the floor
holder, and sends its own microphone, which is forwarded only while it holds the floor). The
browser's protocol is always the service's websocket (`class_signal`), whatever backend runs
the media: `aiortc` (in this process, aiortc_room.py) or `janus` (the native media server,
janus.py: packets relayed in C, never decoded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .errors import MediaUnavailable


class MediaBackend(Protocol):
    name: str

    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        """Idempotent. `record_to`: keep the class's audio (the tutor and the floor) there."""

    async def publish(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        """The tutor's connection: returns the SDP answer."""

    async def subscribe(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        """A student's connection: returns the SDP answer."""

    async def give_floor(self, room_id: int, user_id: int) -> None: ...

    async def take_floor(self, room_id: int) -> None: ...

    async def leave(self, room_id: int, user_id: int) -> None: ...

    async def close_room(self, room_id: int) -> None: ...

    def stats(self, room_id: int) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


class NoMedia:
    """Signaling only: rooms exist, connections are refused (e.g. an instance that serves no
    media, or tests of the class rules)."""

    name = "none"

    async def create_room(self, room_id: int, *, record_to: Path | None = None) -> None:
        return None

    async def publish(self, room_id: int, user_id: int, offer_sdp: str) -> str:
        raise MediaUnavailable("this service runs classes without media")

    subscribe = publish

    async def give_floor(self, room_id: int, user_id: int) -> None:
        return None

    async def take_floor(self, room_id: int) -> None:
        return None

    async def leave(self, room_id: int, user_id: int) -> None:
        return None

    async def close_room(self, room_id: int) -> None:
        return None

    def stats(self, room_id: int) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        return None


def make_backend(name: str, **options: Any) -> MediaBackend:
    """`options` go to the backend that takes them (janus: url, api_secret, room_prefix, timeout_s)."""
    if name == "aiortc":
        from .aiortc_room import AiortcBackend

        return AiortcBackend()
    if name == "janus":
        from .janus import JanusBackend

        return JanusBackend(**options)
    if name == "none":
        return NoMedia()
    raise ValueError(f"unknown class media backend {name!r} (aiortc, janus, none)")
