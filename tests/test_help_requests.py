import io

from PIL import Image
from sqlalchemy import func, select

from app.models import HelpRequest

from .images import jpeg_with_gps, png


async def upload(client, auth, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    return await client.post("/api/images", headers=auth, files={"file": (name, data, ctype)})


async def test_png_named_jpg_is_accepted_by_content(client, factory):
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    r = await upload(client, auth, png(), name="question.jpg", ctype="image/jpeg")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/png" and (r.json()["width"], r.json()["height"]) == (40, 30)
    served = await client.get(r.json()["url"], headers=auth)
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).format == "PNG"


async def test_text_file_named_png_is_rejected(client, factory):
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    r = await upload(client, auth, b"my phone is 13800138000\n" * 10, name="photo.png", ctype="image/png")
    assert r.status_code == 422 and r.json()["error"] == "ImageRejected"


async def test_oversized_image_is_rejected_with_its_limit(client, factory, app):
    app.state.settings.max_image_bytes = 50_000
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    noisy = Image.effect_noise((400, 400), 100).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "PNG")
    assert len(out.getvalue()) > 50_000
    r = await upload(client, auth, out.getvalue(), name="big.png", ctype="image/png")
    assert r.status_code == 413
    assert r.json()["error"] == "ImageTooLarge" and r.json()["limit_bytes"] == 50_000
    assert "50000" in r.json()["detail"]


async def test_location_metadata_is_stripped_and_orientation_applied(client, factory):
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    original = jpeg_with_gps((40, 30))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the fixture really has GPS
    r = await upload(client, auth, original)
    assert r.status_code == 201
    served = Image.open(io.BytesIO((await client.get(r.json()["url"], headers=auth)).content))
    assert not served.getexif()  # no GPS, no camera maker, nothing
    assert served.size == (30, 40)  # turned the way the phone held it


async def test_file_request_with_photo_list_and_cancel(client, factory):
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    kp = await factory.knowledge_point("physics", "焦耳定律")
    image = (await upload(client, auth, png())).json()
    r = await client.post("/api/help-requests", headers=auth, json={
        "subject": "physics", "text": "这道焦耳定律的题怎么做？", "knowledge_point_ids": [kp], "image_ids": [image["id"]]})
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "open" and req["knowledge_point_ids"] == [kp] and req["images"][0]["id"] == image["id"]
    listed = (await client.get("/api/help-requests", headers=auth)).json()
    assert [x["id"] for x in listed] == [req["id"]]

    r = await client.post(f"/api/help-requests/{req['id']}/cancel", headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await client.post(f"/api/help-requests/{req['id']}/cancel", headers=auth)
    assert r.status_code == 409 and r.json()["status"] == "cancelled"
    # The image cannot be reused for a second request.
    r = await client.post("/api/help-requests", headers=auth, json={"subject": "physics", "text": "again", "image_ids": [image["id"]]})
    assert r.status_code == 422 and r.json()["field"] == "image_ids"


async def test_bad_requests_are_refused_and_nothing_is_stored(client, factory):
    org = await factory.org()
    auth = await factory.sign_in(await factory.user("student", org))
    math_kp = await factory.knowledge_point("math")
    images = [(await upload(client, auth, png())).json()["id"] for _ in range(4)]
    cases = [
        ({"subject": "astrology", "text": "?"}, "subject"),
        ({"subject": "physics", "text": "?", "knowledge_point_ids": [math_kp]}, "knowledge_point_ids"),
        ({"subject": "physics", "text": ""}, None),
        ({"subject": "physics", "text": "x" * 2001}, None),
        ({"subject": "physics", "text": "?", "image_ids": images}, None),
        ({"subject": "physics", "text": "?", "image_ids": ["0" * 32]}, "image_ids"),
        ({"subject": "physics", "text": "?", "mode": "chosen"}, "tutor_id"),
    ]
    for body, field in cases:
        r = await client.post("/api/help-requests", headers=auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"] == "InvalidInput"
        if field:
            assert r.json()["field"] == field
    async with factory.session() as db:
        assert (await db.execute(select(func.count()).select_from(HelpRequest))).scalar() == 0


async def test_a_request_changes_status_only_along_the_allowed_transitions(factory):
    """The one guarded transition (models.request_transition): from open to matched, cancelled,
    expired or refused, once; to converted only from refused, expired or cancelled. A second
    writer racing the first matches no row."""
    from app.models import RequestStatus, request_transition
    from app.models.base import utcnow

    org = await factory.org()
    student = await factory.user("student", org)
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="math", text="?", status=RequestStatus.OPEN)
        db.add(req)
        await db.commit()
        rid = req.id

    async def move(to: RequestStatus) -> int:
        async with factory.session() as db:
            done = await db.execute(request_transition(rid, to, closed_at=utcnow()) if to != RequestStatus.CONVERTED
                                    else request_transition(rid, to, wants_question=True))
            await db.commit()
            return done.rowcount

    async def status() -> str:
        async with factory.session() as db:
            return (await db.execute(select(HelpRequest.status).where(HelpRequest.id == rid))).scalar_one()

    assert await move(RequestStatus.CONVERTED) == 0 and await status() == "open"  # an open request is not a question
    assert await move(RequestStatus.CANCELLED) == 1 and await status() == "cancelled"
    for late in (RequestStatus.MATCHED, RequestStatus.EXPIRED, RequestStatus.CANCELLED, RequestStatus.REFUSED):
        assert await move(late) == 0  # the accept or the expiry that lost the race changes nothing
    assert await status() == "cancelled"
    assert await move(RequestStatus.CONVERTED) == 1 and await status() == "converted"
    assert await move(RequestStatus.CONVERTED) == 0  # once
