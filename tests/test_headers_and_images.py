"""Security headers on every page, no metadata in any image format, no username oracle in the
public tutor application (issue 15, finding 6)."""
from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

SECRET = b"HOME-ADDRESS-42"


def _jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "blue").save(out, "JPEG", comment=SECRET)
    return out.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET.decode())
    info.add_itxt("Location", SECRET.decode())
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (255, 0, 0, 128)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _webp_with_exif_and_xmp() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = SECRET.decode()  # ImageDescription
    out = io.BytesIO()
    Image.new("RGB", (20, 20), "green").save(out, "WEBP", exif=exif.tobytes(), xmp=b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>")
    return out.getvalue()


async def test_no_metadata_survives_in_any_format(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    for name, data in [("a.jpg", _jpeg_with_comment()), ("a.png", _png_with_text()), ("a.webp", _webp_with_exif_and_xmp())]:
        assert SECRET in data
        r = await client.post("/api/images", headers=student, files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == 201, r.text
        stored = (await client.get(r.json()["url"], headers=student)).content
        assert SECRET not in stored, name
        assert Image.open(io.BytesIO(stored)).size == (20, 20)


async def test_every_page_and_answer_carries_the_security_headers(client):  # type: ignore[no-untyped-def]
    for path in ("/", "/static/js/main.js", "/api/subjects", "/api/nothing-here", "/healthz"):
        r = await client.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp, path
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
    r = await client.post("/api/auth/sign-in", content=b"x" * (1 << 20), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["x-frame-options"] == "DENY"


async def test_the_public_application_cannot_be_used_to_enumerate_usernames(client, factory):  # type: ignore[no-untyped-def]
    """Applicants do not choose usernames (one is assigned), so no answer depends on whether an
    account exists; the anonymous endpoint is also throttled per address: 10 a minute, 50 a day."""
    from app.kit.throttle import APPLY_ADDRESS

    from .test_tutor_review import application

    org = await factory.org()
    taken = await factory.user("student", org)
    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code, username=taken.username))
    assert r.status_code == 201 and r.json()["username"] != taken.username  # a chosen name is not even read
    probes = [await client.post("/api/tutors/applications", json=application("NO-SUCH-SCHOOL"))
              for _ in range(APPLY_ADDRESS[0].amount - 1)]
    assert {r.status_code for r in probes} == {422}
    r = await client.post("/api/tutors/applications", json=application(org.schools[0].code))
    assert r.status_code == 429 and r.json()["error"] == "TooManyRequests" and int(r.headers["retry-after"]) >= 1
