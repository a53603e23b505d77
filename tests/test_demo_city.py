"""The demo city a newcomer starts with: its history is real records that every table agrees with."""
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.live.service import points_for
from app.models import Answer, District, LiveClass, PointsEntry, TutoringSession, User, utcnow
from app.seed.demo import DEMO_PASSWORD, seed_demo


async def test_the_demo_history_shows_in_every_table(client, factory, app_settings):  # type: ignore[no-untyped-def]
    async with factory.session() as db:
        await seed_demo(db, app_settings)
        await db.commit()
    r = await client.post("/api/auth/sign-in", json={"username": "city_admin", "password": DEMO_PASSWORD})
    admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
    today = utcnow().astimezone(ZoneInfo(app_settings.timezone)).date()
    period = {"from": str(today - timedelta(days=45)), "to": str(today + timedelta(days=1))}

    rows = (await client.get("/api/stats/participation", headers=admin, params=period)).json()["rows"]
    async with factory.session() as db:
        sessions = (await db.execute(select(TutoringSession))).scalars().all()
        tutors = dict((await db.execute(select(User.id, User.district_id).where(User.role == "tutor"))).all())
        districts = (await db.execute(select(District.id))).scalars().all()
        tutor_id = sessions[0].tutor_id
        archive_size = sum([sum(s.tutor_id == tutor_id for s in sessions),
                            (await db.execute(select(func.count()).select_from(LiveClass).where(LiveClass.tutor_id == tutor_id))).scalar_one(),
                            (await db.execute(select(func.count()).select_from(Answer).where(Answer.tutor_id == tutor_id))).scalar_one()])
        ledger = (await db.execute(select(func.sum(PointsEntry.points)))).scalar_one()
    assert len(sessions) == 320 and sum(r["one_to_one_sessions"] for r in rows) == 320
    assert len(rows) == 6 and all(r["participants"] > 0 for r in rows)
    assert len({r["participation_rate"] for r in rows}) > 1  # schools differ, so the ranking means something

    # Every district's payroll is the points policy applied to its tutors' sessions, and the ledger agrees.
    paid = Decimal(0)
    for district in districts:
        pay = (await client.get("/api/stats/payroll", headers=admin, params={**period, "district_id": district})).json()
        expected = sum((points_for(app_settings, s.duration_s or 0, s.rating) for s in sessions if tutors[s.tutor_id] == district), Decimal(0))
        assert Decimal(str(pay["total_points"])) == expected
        paid += expected
    assert paid == Decimal(ledger) > 0

    trend = (await client.get("/api/stats/trend", headers=admin, params=period)).json()["rows"]
    assert sum(d["participations"] for d in trend) == sum(r["participations"] for r in rows)
    archive = (await client.get("/api/stats/archive", headers=admin, params={**period, "tutor_id": tutor_id})).json()["rows"]
    assert len(archive) == archive_size
