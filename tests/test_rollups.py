"""The statistics rollups stay exactly equal to the raw records, whatever writes them: inserts,
a session going live later, a live time moved, deletions, sign-ins (triggers, both databases)."""
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from app.models import ActivityBlock, ActivityHour, ClassAttendance, HelpRequest, LiveClass, Question, SchoolDay, SignIn, SignInBlock, SignInHour, TutoringSession
from app.stats.rollups import rebuild

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


async def snapshot(db):  # type: ignore[no-untyped-def]
    rows = (await db.execute(select(ActivityHour.hour, ActivityHour.student_id, ActivityHour.school_id,
                                    ActivityHour.one_to_one, ActivityHour.questions, ActivityHour.attendances))).all()
    signed = (await db.execute(select(SignInHour.hour, SignInHour.user_id))).all()
    days = (await db.execute(select(SchoolDay.school_id, SchoolDay.day, SchoolDay.one_to_one, SchoolDay.questions,
                                    SchoolDay.attendances))).all()
    blocks = (await db.execute(select(ActivityBlock.block, ActivityBlock.school_id, ActivityBlock.student_id,
                                      ActivityBlock.o_days, ActivityBlock.q_days, ActivityBlock.a_days))).all()
    sign_in_blocks = (await db.execute(select(SignInBlock.block, SignInBlock.user_id, SignInBlock.days))).all()
    return [sorted(map(tuple, x)) for x in (rows, signed, days, blocks, sign_in_blocks)]


async def test_triggers_keep_the_rollups_equal_to_a_rebuild(factory, client):  # type: ignore[no-untyped-def]
    rng = random.Random(5)
    org = await factory.org()
    tutor = await factory.tutor(org)
    students = [await factory.user("student", org, school=i % 4) for i in range(6)]
    # Over 130 days, so the 63-day blocks of the day rollups are crossed; some days get several records.
    when = lambda: T0 + timedelta(minutes=rng.choice([rng.randint(0, 60 * 24 * 130), rng.randint(0, 60 * 24 * 2)]))  # noqa: E731
    async with factory.session() as db:
        sessions = []
        for _ in range(40):
            u = rng.choice(students)
            req = HelpRequest(student_id=u.id, subject_code="math", text="?", status="matched")
            db.add(req)
            await db.flush()
            s = TutoringSession(request_id=req.id, student_id=u.id, tutor_id=tutor.id, subject_code="math",
                                state="ended", matched_at=T0, live_at=rng.choice([None, when()]))
            db.add(s)
            sessions.append(s)
        questions = [Question(student_id=rng.choice(students).id, subject_code="math", text="?", created_at=when()) for _ in range(20)]
        db.add_all(questions)
        klass = LiveClass(tutor_id=tutor.id, subject_code="math", title="课", starts_at=T0)
        db.add(klass)
        await db.flush()
        db.add_all([ClassAttendance(live_class_id=klass.id, student_id=u.id, joined_at=when()) for u in students[:4]])
        db.add_all([SignIn(user_id=rng.choice(students).id, method="password", at=when()) for _ in range(30)])
        await db.commit()
        # Sessions go live later (ORM and Core updates), a live time is corrected, records are deleted.
        for s in sessions[:10]:
            s.live_at = when()
        await db.commit()
        await db.execute(update(TutoringSession).where(TutoringSession.id == sessions[10].id).values(live_at=None))
        await db.execute(delete(TutoringSession).where(TutoringSession.id == sessions[11].id))
        await db.execute(delete(Question).where(Question.id == questions[0].id))
        await db.execute(delete(ClassAttendance).where(ClassAttendance.student_id == students[0].id))
        await db.commit()

        kept = await snapshot(db)
        assert all(kept)  # every rollup has rows
        totals = [sum(r[i] for r in kept[0]) for i in (3, 4, 5)]
        live = (await db.execute(select(TutoringSession).where(TutoringSession.live_at.is_not(None)))).scalars().all()
        assert totals == [len(live), 19, 3]
        assert all(r[3] or r[4] or r[5] for r in kept[0])  # no empty rows left behind by deletions
        conn = await db.connection()
        await rebuild(conn)
        assert await snapshot(db) == kept
        await db.rollback()


async def test_a_removal_racing_an_addition_on_the_same_day_keeps_the_day(factory, client):  # type: ignore[no-untyped-def]
    """One transaction adds a question for a student on a day while another deletes that
    student's only session of the same day: whichever waits for the other, the day rollups must
    end as a rebuild would make them (the question's day bit set, the session's gone)."""
    import asyncio

    org = await factory.org()
    tutor = await factory.tutor(org)
    student = await factory.user("student", org)
    day = datetime(2026, 11, 3, 11, 0, tzinfo=timezone.utc)  # 19:00 in Shanghai
    async with factory.session() as db:
        req = HelpRequest(student_id=student.id, subject_code="math", text="?", status="matched")
        db.add(req)
        await db.flush()
        session = TutoringSession(request_id=req.id, student_id=student.id, tutor_id=tutor.id, subject_code="math",
                                  state="ended", matched_at=day, live_at=day)
        db.add(session)
        await db.commit()
        session_id = session.id

    async def delete_the_session() -> None:
        async with factory.session() as other:
            await other.execute(delete(TutoringSession).where(TutoringSession.id == session_id))
            await other.commit()

    async with factory.session() as adder:
        adder.add(Question(student_id=student.id, subject_code="math", text="?", created_at=day + timedelta(hours=1)))
        await adder.flush()  # the addition's triggers ran; its transaction stays open
        remover = asyncio.create_task(delete_the_session())
        await asyncio.sleep(0.5)  # the removal runs its triggers and waits for the adder's locks
        await adder.commit()
    await asyncio.wait_for(remover, 30)

    async with factory.session() as db:
        blocks = (await db.execute(select(ActivityBlock.o_days, ActivityBlock.q_days).where(
            ActivityBlock.student_id == student.id))).all()
        assert len(blocks) == 1 and blocks[0].o_days == 0 and blocks[0].q_days != 0
        kept = await snapshot(db)
        await rebuild(await db.connection())
        assert await snapshot(db) == kept
        await db.rollback()
