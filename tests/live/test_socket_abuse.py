"""The websocket under abuse (issue 15, findings 4 and 5): generated frames for every message
type are each answered (an error frame, an ack, or — a chat or an image — the sender's own event
carrying the ref) and the socket stays open; a flood of chat gets
`TooManyMessages` error frames while a stroke stream at drawing speed passes."""
from __future__ import annotations

import json
import random
from typing import Any

from limits import parse_many

from app.kit.throttle import SocketRate

TYPES = ["ping", "pong", "signal", "media", "chat", "stroke", "board", "image", "hangup"]
NASTY: list[Any] = [None, True, 0, -1, 2**63, 2**64 + 1, 10**40, 1.5e308, "", "\x00", "a\x00b", "x" * 5000, "🙂" * 300,
                    [], {}, [[1, 2]] * 3, [[-5, 2**70]], {"candidate": {"a": [1] * 50}}, "<script>alert(1)</script>",
                    "=cmd|' /C calc'!A0", "#zzzzzz", "offer", "connected", "undo", "0" * 32, "f" * 32]
FIELDS = ["session_id", "kind", "sdp", "candidate", "state", "text", "id", "tool", "color", "width", "points", "action",
          "stroke_id", "image_id", "ref", "extra"]


def frames(session_id: int, rng: random.Random) -> list[str]:
    out = []
    for i in range(300):
        msg: dict[str, Any] = {"type": rng.choice(TYPES + ["nope", 7])}
        if rng.random() < 0.7:
            msg["session_id"] = rng.choice([session_id, session_id + 1000, 2**63 - 1, 2**63, 10**30, -3, "1", None])
        for field in rng.sample(FIELDS, rng.randint(0, 5)):
            msg[field] = rng.choice(NASTY)
        msg["ref"] = f"f{i}"
        out.append(json.dumps(msg, ensure_ascii=rng.random() < 0.5))
    # Frames that are not messages at all.
    out += ["[" * 30_000 + "]" * 30_000, '{"type": "chat", "ref": "deep", "session_id": 1, "text": ' + "[" * 5000
            + "]" * 5000 + "}", "null", "[]", '"chat"', "{", "\x00", "{\"type\": \"chat\"}" * 3,
            json.dumps({"type": "signal", "session_id": session_id, "kind": "candidate", "ref": "deepc",
                        "candidate": json.loads("[" * 900 + "]" * 900)}),
            json.dumps({"type": "chat", "session_id": int("9" * 4000), "text": "hi", "ref": "huge"})]
    return out


def _ref(raw: str) -> str | None:
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if isinstance(msg, dict) and set(msg) == {"type", "ref"} and msg["type"] == "pong":
        return None  # a valid pong (the heartbeat's answer) needs no answer
    return msg.get("ref") if isinstance(msg, dict) and isinstance(msg.get("ref"), str) else None


async def test_every_generated_frame_is_answered_and_the_socket_stays(matched, app):  # type: ignore[no-untyped-def]
    student, tutor, sid, *_ = matched
    app.state.socket_rate = SocketRate(parse_many("100000/second"), parse_many("100000/second"))  # fuzz, not flood
    await student.drop()
    await student.connect()
    sent = frames(sid, random.Random(15))
    for raw in sent:
        await student.ws.send(raw)
    await student.send(type="ping", ref="last")
    await student.wait_for(lambda f: f.get("ref") == "last", timeout=60)
    refs = {f.get("ref") for f in student.frames if f.get("type") in ("ack", "error", "pong", "event")}
    missing = [r for r in map(_ref, sent) if r is not None and r not in refs]
    assert missing == []
    assert not [f for f in student.frames if f.get("error") == "ServerError"]
    errors = sum(1 for f in student.frames if f.get("type") == "error")
    assert errors >= len(sent) // 2  # most generated frames are invalid, and each said so
    assert student.ws.close_code is None  # still connected
    assert any(f.get("ref") == "huge" and f.get("error") == "InvalidMessage" for f in student.frames)


async def test_a_chat_flood_gets_error_frames_while_strokes_at_drawing_speed_pass(matched):  # type: ignore[no-untyped-def]
    student, tutor, sid, *_ = matched
    for i in range(30):  # a pen's short batches
        await tutor.send(type="stroke", session_id=sid, id=f"s{i}", points=[[i, i], [i + 1, i + 2]], ref=f"s{i}")
    await tutor.wait_for(lambda f: f.get("ref") == "s29", timeout=60)
    assert all(f.get("type") == "ack" for f in tutor.frames if str(f.get("ref", "")).startswith("s"))
    for i in range(50):
        await student.send(type="chat", session_id=sid, text=f"刷屏 {i}", ref=f"c{i}")
    await student.wait_for(lambda f: f.get("ref") == "c49", timeout=60)
    acks = [f for f in student.frames if f.get("type") == "ack" and str(f.get("ref", "")).startswith("c")]
    assert acks == []  # a chat's answer is the sender's own (masked) copy, carrying the ref
    acks = [f for f in student.frames if f.get("type") == "event" and str(f.get("ref", "")).startswith("c")]
    assert all(f["kind"] == "chat" and f["data"]["text"] == f"刷屏 {f['ref'][1:]}" for f in acks)
    refused = [f for f in student.frames if f.get("error") == "TooManyMessages"]
    assert refused and refused[0]["retry_after"] >= 1
    assert 5 <= len(acks) < 50 and len(acks) + len(refused) == 50
    r = await student.http.get(f"/api/sessions/{sid}/transcript")
    assert len([e for e in r.json() if e["kind"] == "chat"]) == len(acks)
