"""The dashboard's rollups (migration 0008) stay exactly equal to a rebuild from the raw records
whatever writes them, on both databases; and the migration's frozen SQL is what
app/stats/rollups.py generates."""
import importlib.util
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from app.models import (ClassAttendance, ClassMonth, HelpRequest, HelpRequestKnowledgePoint, KnowledgePointDay, LiveClass, PointsEntry, PointsMonth, Question, QuestionKnowledgePoint, SchoolDayStudents,
                        SchoolMonth, StudentDay, StudentMonth, StudentRegistration, TutorDay, TutorMonth, TutoringSession, User)
from app.stats import rollups
from app.stats.rollups import rebuild

from .factories import _HASH

T0 = datetime(2026, 10, 20, 10, 0, tzinfo=timezone.utc)
MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "2026_11_26_1900-0008_dashboard_rollups.py"
HOT_SPOTS = MIGRATION.parent / "2026_11_26_2200-0011_question_hot_spots.py"


CHAIN = MIGRATION.parent / "2026_11_26_2200-0013_rollup_chain.py"
CHANGES = MIGRATION.parent / "2026_11_27_0100-0019_stats_changes.py"


def _frozen() -> list[tuple[Path, dict[str, Callable[[str], str]]]]:
    """Each migration that freezes generated SQL, with the generator of each frozen name
    (`<PG|SQLITE>_<NAME>`)."""
    from app.stats import changes, rollup_chain

    return [
        (MIGRATION, {"REBUILD": rollups.dashboard_rebuild_sql, "TRIGGERS": rollups.dashboard_trigger_sql,
                     "DROP": rollups.dashboard_drop_sql}),
        (CHAIN, {"DROP_REPLACED": rollup_chain.chain_drop_replaced_sql, "TRIGGERS": rollup_chain.chain_trigger_sql,
                 "DROP": rollup_chain.chain_drop_sql, "RESTORE": rollup_chain.chain_restore_sql}),
        (CHANGES, {"TRIGGERS": changes.trigger_sql, "DROP": changes.drop_sql}),
        (HOT_SPOTS, {"REBUILD": rollups.hot_spot_rebuild_sql, "TRIGGERS": rollups.question_hot_spot_trigger_sql,
                     "DROP": rollups.question_hot_spot_drop_sql, "DOWN_REBUILD": rollups.help_hot_spot_rebuild_sql}),
    ]


@pytest.mark.parametrize("index", range(4), ids=["0008 dashboard", "0013 chain", "0019 change counters", "0011 hot spots"])
def test_each_migration_froze_the_sql_its_module_generates(index: int) -> None:
    path, generators = _frozen()[index]
    spec = importlib.util.spec_from_file_location(f"frozen_{index}", path)
    m = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]  # spec is found: the path exists
    spec.loader.exec_module(m)  # type: ignore[union-attr]  # as above
    for dialect, tag in (("postgresql", "PG"), ("sqlite", "SQLITE")):
        for name, generate in generators.items():
            assert getattr(m, f"{tag}_{name}") == generate(dialect), f"{path.name}: {tag}_{name}"
    assert "from app" not in path.read_text() and "import app" not in path.read_text()




def test_months_and_days() -> None:
    from datetime import date
    d = rollups.day_number
    assert rollups.split_months(d(date(2026, 12, 1)), d(date(2027, 1, 1))) == (rollups.month_number(date(2026, 12, 1)),
                                                                              rollups.month_number(date(2027, 1, 1)), [])
    m0, m1, edges = rollups.split_months(d(date(2026, 9, 15)), d(date(2027, 1, 16)))
    assert (rollups.month_start(m0), rollups.month_start(m1)) == (date(2026, 10, 1), date(2027, 1, 1))
    assert edges == [(d(date(2026, 9, 15)), d(date(2026, 10, 1))), (d(date(2027, 1, 1)), d(date(2027, 1, 16)))]
    assert rollups.split_months(d(date(2026, 11, 3)), d(date(2026, 11, 10)))[2] == [(d(date(2026, 11, 3)), d(date(2026, 11, 10)))]
    assert rollups.single_month(d(date(2026, 2, 1)), d(date(2026, 3, 1))) == rollups.month_number(date(2026, 2, 1))
    assert rollups.single_month(d(date(2026, 2, 1)), d(date(2026, 2, 28))) is None


async def snapshot(db):  # type: ignore[no-untyped-def]
    out = []
    for model in (StudentDay, StudentMonth, SchoolMonth, ClassMonth, TutorDay, TutorMonth, PointsMonth, StudentRegistration, SchoolDayStudents, KnowledgePointDay):
        cols = [c for c in model.__table__.columns]
        out.append(sorted(tuple(r) for r in (await db.execute(select(*cols))).all()))
    return out


async def test_triggers_keep_the_dashboard_rollups_equal_to_a_rebuild(factory, client):  # type: ignore[no-untyped-def]
    rng = random.Random(8)
    org = await factory.org()
    tutors = [await factory.tutor(org, school=i) for i in range(2)]
    students = [await factory.user("student", org, school=i % 4) for i in range(8)]
    idle = await factory.user("student", org, school=0)
    points = [await factory.knowledge_point("math"), await factory.knowledge_point("physics")]
    # Over 100 days around month ends (Shanghai evenings cross UTC midnight at 16:00 UTC), several records a day.
    when = lambda: T0 + timedelta(minutes=rng.choice([rng.randint(0, 60 * 24 * 100), rng.randint(0, 60 * 24 * 2)]))  # noqa: E731
    async with factory.session() as db:
        sessions = []
        for _ in range(50):
            u = rng.choice(students)
            req = HelpRequest(student_id=u.id, subject_code="math", text="?", status="matched", created_at=when())
            db.add(req)
            await db.flush()
            db.add_all([HelpRequestKnowledgePoint(request_id=req.id, knowledge_point_id=k) for k in points if rng.random() < 0.6])
            live = rng.choice([None, when(), when()])
            s = TutoringSession(request_id=req.id, student_id=u.id, tutor_id=rng.choice(tutors).id, subject_code="math",
                                state="ended", matched_at=T0, live_at=live, duration_s=rng.choice([None, 300, 901]) if live else None,
                                rating=rng.choice([None, 3, 5]) if live else None)
            db.add(s)
            sessions.append(s)
        questions = [Question(student_id=rng.choice(students).id, subject_code="math", text="?", created_at=when()) for _ in range(20)]
        db.add_all(questions)
        await db.flush()
        # Questions' tags count in the hot spots too, except those of a question converted from a request.
        questions[1].source_request_id = sessions[6].request_id
        await db.flush()
        db.add_all([QuestionKnowledgePoint(question_id=q.id, knowledge_point_id=k) for q in questions for k in points
                    if rng.random() < 0.7])
        klass = LiveClass(tutor_id=tutors[0].id, subject_code="math", title="课", starts_at=T0)
        db.add(klass)
        await db.flush()
        db.add_all([ClassAttendance(live_class_id=klass.id, student_id=u.id, joined_at=when()) for u in students[:5]])
        await db.flush()
        entries = [PointsEntry(tutor_id=s.tutor_id, district_id=org.districts[rng.randint(0, 1)].id, source_kind="one_to_one",
                               source_id=s.id, points=Decimal(rng.choice(["0.50", "1.25", "2.00"])), created_at=when())
                   for s in sessions[:20]]
        db.add_all(entries)
        await db.commit()
        # Sessions go live later, end (duration), get rated, a live time moves to another month,
        # records are deleted, a student changes class, a student registers, a ledger entry is corrected.
        for s in sessions[20:30]:
            s.live_at, s.duration_s = when(), 600
        await db.commit()
        for s in sessions[30:40]:
            s.rating = 4
        await db.commit()
        await db.execute(update(TutoringSession).where(TutoringSession.id == sessions[0].id).values(live_at=T0 + timedelta(days=45)))
        await db.execute(update(TutoringSession).where(TutoringSession.id == sessions[1].id).values(live_at=None))
        await db.execute(update(TutoringSession).where(TutoringSession.id == sessions[2].id).values(tutor_id=tutors[1].id))
        await db.execute(delete(TutoringSession).where(TutoringSession.id == sessions[3].id))
        await db.execute(delete(QuestionKnowledgePoint).where(QuestionKnowledgePoint.question_id.in_([questions[0].id, questions[2].id])))
        await db.execute(delete(Question).where(Question.id == questions[0].id))
        await db.execute(delete(HelpRequestKnowledgePoint).where(HelpRequestKnowledgePoint.request_id == sessions[5].request_id))
        await db.execute(delete(ClassAttendance).where(ClassAttendance.student_id == students[0].id))
        await db.execute(update(PointsEntry).where(PointsEntry.id == entries[0].id).values(points=Decimal("3.10")))
        await db.execute(delete(PointsEntry).where(PointsEntry.id == entries[1].id))
        # (A student without records changes class: activity keeps the class it happened in, which
        # a rebuild cannot know, so the students with records stay put here.)
        await db.execute(update(User).where(User.id == idle.id).values(class_id=org.classes[3].id, school_id=org.schools[3].id))
        db.add(User(username=f"late{rng.random()}", password_hash=_HASH, role="student", real_name="新生", city_id=org.city.id,
                    district_id=org.schools[2].district_id, school_id=org.schools[2].id, class_id=org.classes[2].id, grade=8,
                    created_at=T0 + timedelta(days=40)))
        await db.commit()

        kept = await snapshot(db)
        assert all(kept)  # every rollup has rows
        await rebuild(await db.connection())
        rebuilt = await snapshot(db)
        for i, (a, b) in enumerate(zip(rebuilt, kept)):
            assert a == b, (i, set(a) ^ set(b))
        await db.rollback()
