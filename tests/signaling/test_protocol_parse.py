"""`parse` reads a valid frame in one pass (pydantic's JSON parser) and words a refused one the
way the two-pass reading does: for every generated frame of the abuse test, and for valid
frames of every type, both readings give the same message or the same error."""
import json
import random

import pytest

from signaling.protocol import ProtocolError, _parse_slowly, parse
from tests.live.test_socket_abuse import frames

VALID = [
    {"type": "chat", "session_id": 5, "text": "第3步: 先把方程两边同时乘以二", "ref": "c1"},
    {"type": "stroke", "session_id": 5, "id": "s1", "color": "#1f6feb", "width": 4, "points": [[1, 2], [3, 4]]},
    {"type": "stroke", "session_id": 5, "id": "s1", "tool": "eraser", "points": [[10000, 0]]},
    {"type": "signal", "session_id": 5, "kind": "offer", "sdp": "v=0"},
    {"type": "media", "session_id": 5, "state": "connected"},
    {"type": "ping", "ref": "p"},
    {"type": "pong"},
    {"type": "hangup", "session_id": 5},
]


def outcome(read, raw):  # type: ignore[no-untyped-def]
    try:
        return ("ok", read(raw))
    except ProtocolError as exc:
        return ("error", exc.frame())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_pass_and_two_pass_readings_agree_on_every_frame(seed: int) -> None:
    raws = frames(77, random.Random(seed)) + [json.dumps(m, ensure_ascii=False) for m in VALID]
    raws += [r.encode() for r in raws[:50]] + [b"\xff\xfe{", '{"type":"chat","text":"\\ud800","session_id":1}']
    oks = 0
    for raw in raws:
        fast, slow = outcome(parse, raw), outcome(_parse_slowly, raw)
        assert fast == slow, raw[:200]
        oks += fast[0] == "ok"
    assert oks >= len(VALID)  # the valid frames did take the one-pass reading


def test_every_message_about_a_class_is_routed_as_a_class_message() -> None:
    # app/live/socket.py routes a message to the class dispatcher by `isinstance(msg, CLASS_MESSAGES)`
    # (it used to ask for a `class_id`): a message with a class_id outside the ClassMessage union
    # would reach the one-to-one path, one inside it without a class_id would reach the dispatcher.
    from typing import get_args

    from signaling.protocol import CLASS_MESSAGES, ClientMessage

    models = get_args(get_args(ClientMessage)[0])
    assert len(models) > len(CLASS_MESSAGES) > 0
    for model in models:
        assert issubclass(model, CLASS_MESSAGES) == ("class_id" in model.model_fields), model.__name__
