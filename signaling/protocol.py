"""The closed set of messages a client may send over its websocket, parsed in one place.

Anything else — unknown type, missing field, oversized frame, bad JSON — is answered with an
error frame `{"type": "error", "error": Code, "detail": …, "ref": <the message's ref>}` and
nothing is stored. See docs/websocket.md for every message with an example.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_FRAME_BYTES = 64 * 1024


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(default=None, max_length=64, description="echoed in the reply or error")


class Ping(_Msg):
    type: Literal["ping"]


class Pong(_Msg):
    type: Literal["pong"]


MAX_ID = 2**63 - 1  # ids are 64-bit in the database; a larger number is a bad message, not a crash


class _InSession(_Msg):
    session_id: int = Field(ge=1, le=MAX_ID)


class Signal(_InSession):
    """WebRTC negotiation, relayed only to the other participant of the session."""

    type: Literal["signal"]
    kind: Literal["offer", "answer", "candidate", "ice_restart"]
    sdp: str | None = Field(default=None, max_length=32_000)
    candidate: dict[str, Any] | None = None  # {"candidate": "...", "sdpMid": "0", "sdpMLineIndex": 0}


class Media(_InSession):
    """The client's own view of its media: both sides `connected` makes the session live;
    `muted` / `unmuted` (its microphone) are passed to the other side as they are."""

    type: Literal["media"]
    state: Literal["connected", "disconnected", "muted", "unmuted"]


class Chat(_InSession):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=1000)


Point = Annotated[list[Annotated[int, Field(ge=0, le=10_000)]], Field(min_length=2, max_length=2)]


class Stroke(_InSession):
    """One whiteboard stroke: points in a 10000×10000 board, compact integer pairs."""

    type: Literal["stroke"]
    id: str = Field(min_length=1, max_length=40)
    tool: Literal["pen", "eraser"] = "pen"
    color: str = Field(default="#000000", pattern=r"^#[0-9a-fA-F]{6}$")
    width: int = Field(default=4, ge=1, le=60)
    points: list[Point] = Field(min_length=1, max_length=2000)


class Board(_InSession):
    type: Literal["board"]
    action: Literal["undo", "clear"]
    stroke_id: str | None = Field(default=None, max_length=40, description="the stroke undone")


class ShareImage(_InSession):
    type: Literal["image"]
    image_id: str = Field(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")


class Hangup(_InSession):
    type: Literal["hangup"]


# --- one-to-many classes (app/classes/live.py handles them; see docs/websocket.md) ---------------
class _InClass(_Msg):
    class_id: int


class ClassJoin(_InClass):
    """Enter the class room (the tutor's join opens it); the reply carries the board so far."""

    type: Literal["class_join"]


class ClassLeave(_InClass):
    type: Literal["class_leave"]


class ClassSignal(_InClass):
    """WebRTC negotiation with the service's media room (one connection per participant)."""

    type: Literal["class_signal"]
    kind: Literal["offer", "candidate"]
    sdp: str | None = Field(default=None, max_length=32_000)
    candidate: dict[str, Any] | None = None


class ClassChat(_InClass):
    type: Literal["class_chat"]
    text: str = Field(min_length=1, max_length=1000)


class ClassStroke(_InClass):
    """A stroke on the class board (the tutor's board; same shape as `stroke`)."""

    type: Literal["class_stroke"]
    id: str = Field(min_length=1, max_length=40)
    tool: Literal["pen", "eraser"] = "pen"
    color: str = Field(default="#000000", pattern=r"^#[0-9a-fA-F]{6}$")
    width: int = Field(default=4, ge=1, le=60)
    points: list[Point] = Field(min_length=1, max_length=2000)


class ClassBoard(_InClass):
    type: Literal["class_board"]
    action: Literal["undo", "clear"]
    stroke_id: str | None = Field(default=None, max_length=40)


class ClassHand(_InClass):
    type: Literal["class_hand"]
    up: bool


class ClassFloor(_InClass):
    """The tutor gives the floor to a student (`student_id`) or takes it back (null)."""

    type: Literal["class_floor"]
    student_id: int | None = None


class ClassMute(_InClass):
    """The tutor mutes (or unmutes) the class chat (`student_id` null) or one student's chat; with
    `audio` true, one student's voice instead (heard by nobody, even holding the floor)."""

    type: Literal["class_mute"]
    student_id: int | None = None
    muted: bool
    audio: bool = False


class ClassEnd(_InClass):
    type: Literal["class_end"]


ClassMessage = ClassJoin | ClassLeave | ClassSignal | ClassChat | ClassStroke | ClassBoard | ClassHand | ClassFloor | ClassMute | ClassEnd
CLASS_MESSAGES: tuple[type[_InClass], ...] = get_args(ClassMessage)  # the same set, for isinstance (app/live/socket.py)
# --- end of one-to-many classes --------------------------------------------------------------------


ClientMessage = Annotated[Ping | Pong | Signal | Media | Chat | Stroke | Board | ShareImage | Hangup | ClassMessage, Field(discriminator="type")]
_adapter: TypeAdapter[Any] = TypeAdapter(ClientMessage)


class ProtocolError(Exception):
    def __init__(self, code: str, detail: str, ref: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code, self.detail, self.ref, self.extra = code, detail, ref, extra

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "error": self.code, "detail": self.detail, "ref": self.ref, **self.extra}


def parse(raw: str | bytes) -> Any:
    """One client frame as its message model, or ProtocolError. A valid frame is read and
    validated in one pass by pydantic's own JSON parser (`json.loads` and then
    `validate_python` built every dict, list and string twice over: ~40 % more CPU per chat);
    a frame it refuses is read again the slow way below, which words the error."""
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError("FrameTooLarge", f"frames are limited to {MAX_FRAME_BYTES} bytes")
    try:
        return _adapter.validate_json(raw)
    except (ValidationError, ValueError, RecursionError):
        return _parse_slowly(raw)


def _parse_slowly(raw: str | bytes) -> Any:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("InvalidMessage", "not JSON") from None
    except RecursionError:  # 30,000 nested brackets fit in a frame
        raise ProtocolError("InvalidMessage", "JSON nested too deeply") from None
    ref = data.get("ref") if isinstance(data, dict) and isinstance(data.get("ref"), str) else None
    try:
        return _adapter.validate_python(data)
    except RecursionError:
        raise ProtocolError("InvalidMessage", "JSON nested too deeply", ref) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ProtocolError("InvalidMessage", f"{where}: {first['msg']}" if where else first["msg"], ref) from None
