"""Input the drill turned into 500s (issue 15, finding 5), each now a 4xx in the envelope."""
from __future__ import annotations

from app.models import HelpRequest, TutoringSession


async def test_a_non_participant_hanging_up_is_refused(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student, tutor = await factory.user("student", org), await factory.tutor(org)
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="math", text="?", status="matched")
        db.add(req)
        await db.flush()
        s = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="math",
                            state="matched")
        db.add(s)
        await db.commit()
        sid = s.id
    stranger = await factory.sign_in(await factory.user("student", org))
    r = await client.post(f"/api/sessions/{sid}/hangup", headers=stranger)
    assert r.status_code == 403 and r.json()["error"] == "Forbidden"
    assert (await client.post("/api/sessions/999999/hangup", headers=stranger)).status_code == 404


async def test_numbers_beyond_64_bits_and_nul_characters_are_invalid_input(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    for path in (f"/api/help-requests/{2**64}", f"/api/sessions/{10**30}", f"/api/tutors/applications/{2**63}"):
        r = await client.get(path, headers=student)
        assert r.status_code in (404, 422) and r.json()["error"] in ("NotFound", "InvalidInput"), (path, r.text)
    r = await client.post("/api/auth/sign-in", json={"username": "stu\x00dent", "password": "x\x00"})
    assert r.status_code in (401, 422) and r.json()["error"] in ("InvalidCredentials", "InvalidInput")
    r = await client.post("/api/help-requests", headers=student, json={"subject": "math", "text": "a\x00b"})
    assert r.status_code in (201, 422), r.text
