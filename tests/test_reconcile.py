"""No request is stranded: open requests matching never heard of are re-submitted or expired."""
from datetime import timedelta

from sqlalchemy import select

from app.live.service import ts
from app.match.reconcile import SETTLE_S, reconcile
from app.models import HelpRequest


async def _stranded(factory, student, created_at=None) -> int:  # type: ignore[no-untyped-def]
    """An open request stored without reaching matching (a crash between commit and submit)."""
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="physics", text="受力分析", mode="auto", status="open")
        if created_at is not None:
            req.created_at = created_at
        db.add(req)
        await db.commit()
        return req.id


async def test_a_stranded_request_is_resubmitted_and_rings(client, factory, app, clock):
    org = await factory.org()
    student = await factory.user("student", org, school=1)
    tutor = await factory.tutor(org, subjects=("physics",))
    t = await factory.sign_in(tutor)
    assert (await client.post("/api/duty", headers=t)).status_code == 200
    rid = await _stranded(factory, student)
    await reconcile(app)  # seen once: might be a filing in flight
    assert (await client.get("/api/offers", headers=t)).json() == []
    clock.advance(SETTLE_S)
    assert (await reconcile(app))["resubmitted"] == 1
    assert [o["request_id"] for o in (await client.get("/api/offers", headers=t)).json()] == [rid]
    assert (await reconcile(app))["resubmitted"] == 0  # known to matching now


async def test_a_stranded_request_past_its_wait_is_expired_and_the_student_told(client, factory, app, clock):
    org = await factory.org()
    student = await factory.user("student", org, school=1)
    old = ts(clock.now()) - timedelta(seconds=app.state.settings.match_max_wait_s + 60)
    rid = await _stranded(factory, student, created_at=old)
    await reconcile(app)
    clock.advance(SETTLE_S)
    assert (await reconcile(app))["expired"] == 1
    async with factory.session() as db:
        assert (await db.execute(select(HelpRequest.status).where(HelpRequest.id == rid))).scalar_one() == "expired"
    assert app.state.matcher.sink.last(student.id, "request_expired").data == {"request_id": rid, "can_ask_question": True}
