"""Throttles and caps (issue 15, finding 4): 429 with Retry-After in the error envelope, shared
through Redis on the production setup; one open help request per student; body size caps;
abandoned uploads collected."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from app.helprequests.service import collect_unattached_images
from app.kit.throttle import SIGN_IN_ACCOUNT, UPLOADS
from app.models import utcnow

from .images import png


def _throttled(r) -> bool:  # type: ignore[no-untyped-def]
    body = r.json()
    return (r.status_code == 429 and body["error"] == "TooManyRequests" and body["retry_after"] >= 1
            and r.headers["retry-after"] == str(body["retry_after"]))


async def test_wrong_passwords_lock_the_account_then_the_address(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    user = await factory.user("student", org)
    allowed = SIGN_IN_ACCOUNT[0].amount
    for _ in range(allowed):
        r = await client.post("/api/auth/sign-in", json={"username": user.username, "password": "wrong-one"})
        assert r.status_code == 401
    # Locked: even the right password waits (that is the point of the back-off).
    r = await client.post("/api/auth/sign-in", json={"username": user.username, "password": "password123"})
    assert _throttled(r) and 1 <= r.json()["retry_after"] <= 60
    # Another account from the same address still signs in …
    other = await factory.user("student", org)
    assert (await client.post("/api/auth/sign-in", json={"username": other.username, "password": "password123"})).status_code == 200
    # … until the address has failed too often, whatever the usernames.
    answers = [(await client.post("/api/auth/sign-in", json={"username": f"nobody{i}", "password": "x"})).status_code
               for i in range(30)]
    assert answers.count(401) == 30 - allowed and answers[-1] == 429


async def test_uploads_are_throttled_per_user(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    alice = await factory.sign_in(await factory.user("student", org))
    bob = await factory.sign_in(await factory.user("student", org))
    picture = png((8, 8))
    codes = [(await client.post("/api/images", headers=alice, files={"file": ("a.png", picture, "image/png")})).status_code
             for _ in range(UPLOADS[0].amount)]
    assert codes == [201] * UPLOADS[0].amount
    r = await client.post("/api/images", headers=alice, files={"file": ("a.png", picture, "image/png")})
    assert _throttled(r)
    r = await client.post("/api/images", headers=bob, files={"file": ("a.png", picture, "image/png")})
    assert r.status_code == 201


async def test_abandoned_uploads_are_collected_and_used_ones_kept(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    up = [(await client.post("/api/images", headers=student, files={"file": ("a.png", png(), "image/png")})).json()
          for _ in range(2)]
    r = await client.post("/api/help-requests", headers=student,
                          json={"subject": "math", "text": "看图", "image_ids": [up[0]["id"]]})
    assert r.status_code == 201
    async with factory.session() as db:
        assert await collect_unattached_images(db, utcnow() - timedelta(hours=1)) == 0  # young: kept
        assert await collect_unattached_images(db, utcnow() + timedelta(seconds=5)) == 1
        await db.commit()
    assert (await client.get(up[0]["url"], headers=student)).status_code == 200
    assert (await client.get(up[1]["url"], headers=student)).status_code == 404


async def test_a_student_has_one_open_help_request_even_when_asking_many_at_once(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    answers = await asyncio.gather(*[client.post("/api/help-requests", headers=student,
                                                 json={"subject": "math", "text": f"第{i}题"}) for i in range(8)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 7, [r.text for r in answers]
    assert len((await client.get("/api/help-requests", headers=student, params={"status": "open"})).json()) == 1
    first = next(r.json()["id"] for r in answers if r.status_code == 201)
    assert (await client.post(f"/api/help-requests/{first}/cancel", headers=student)).status_code == 200
    r = await client.post("/api/help-requests", headers=student, json={"subject": "math", "text": "再问一次"})
    assert r.status_code == 201


async def test_large_bodies_are_refused_before_they_are_read(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    big = b'{"subject": "math", "text": "' + b"a" * (300 * 1024) + b'"}'
    r = await client.post("/api/help-requests", headers={**student, "content-type": "application/json"}, content=big)
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLarge" and r.json()["limit_bytes"] == 256 * 1024
    r = await client.post("/api/auth/sign-in", headers={"content-type": "application/json"}, content=b" " * (1 << 20))
    assert r.status_code == 413

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(100):
            yield b" " * 8192

    r = await client.post("/api/auth/sign-in", headers={"content-type": "application/json"}, content=chunks())
    assert r.status_code == 413


# --- the per-socket message rate (token buckets, app/kit/throttle.py SocketRate) -------------------

def test_a_socket_gets_its_burst_then_the_sustained_rate_and_a_refused_frame_takes_no_token() -> None:
    import pytest
    from limits import parse_many

    from app.kit.throttle import SocketRate
    from signaling.protocol import ProtocolError

    now = [1000.0]
    rate = SocketRate(parse_many("100/second"), parse_many("5/10 seconds")).for_socket(clock=lambda: now[0])
    for _ in range(5):  # the burst of chat: five lines at once
        rate("chat")
    with pytest.raises(ProtocolError) as refused:
        rate("chat")
    assert refused.value.code == "TooManyMessages" and refused.value.extra["retry_after"] == 2  # 1 token / 0.5 per s
    now[0] += 1.0  # half a token back: still refused
    with pytest.raises(ProtocolError):
        rate("chat")
    now[0] += 1.0  # one token: one line passes, the next is refused again
    rate("chat")
    with pytest.raises(ProtocolError):
        rate("chat")
    now[0] += 60.0  # the bucket refills to its burst, no more
    for _ in range(5):
        rate("chat")
    with pytest.raises(ProtocolError):
        rate("chat")
    rate(None)  # other frames have their own buckets


def test_every_socket_has_its_own_buckets() -> None:
    import pytest
    from limits import parse_many

    from app.kit.throttle import SocketRate
    from signaling.protocol import ProtocolError

    limits = SocketRate(parse_many("2/minute"), parse_many("2/minute"))
    first, second = limits.for_socket(clock=lambda: 0.0), limits.for_socket(clock=lambda: 0.0)
    first(None)
    first(None)
    with pytest.raises(ProtocolError):
        first(None)
    second(None)  # another socket is not throttled by the first one's frames


def test_a_chat_is_a_frame_too_and_a_chat_refused_takes_no_frame_token() -> None:
    import pytest
    from limits import parse_many

    from app.kit.throttle import SocketRate
    from signaling.protocol import ProtocolError

    rate = SocketRate(parse_many("3/minute"), parse_many("1/minute")).for_socket(clock=lambda: 0.0)
    rate("chat")  # frame 1 of 3, chat 1 of 1
    with pytest.raises(ProtocolError) as refused:
        rate("chat")  # the chat bucket is empty
    assert "1 per 1 minute" in refused.value.detail
    rate(None)  # frames 2 and 3 of 3: the refused chat took none
    rate(None)
    with pytest.raises(ProtocolError) as refused:
        rate(None)
    assert "3 per 1 minute" in refused.value.detail
