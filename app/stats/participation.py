"""The participation table (DOMAIN.md, "Participation statistics"), exactly as defined there.

Period [from, to) in days of the service's time zone (00:00 Asia/Shanghai). A one-to-one session
belongs to the period in which it went live (`live_at`); one that never went live does not
count. A question belongs to the period it was posted in. One-to-many classes are counted once
that feature records attendances (zero until then, never estimated). `enrolled` is the
students registered at the school before the period's end.

Ranking rule: schools of the city are ranked by participation rate as shown (two decimals),
highest first; equal rates share a rank and the next rank is skipped (1, 2, 2, 4); a school
with no students has rate 0.00.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import District, Question, School, TutoringSession, User

COLUMNS = [
    ("school_id", "学校ID"), ("school", "学校"), ("district", "区"),
    ("one_to_one_students", "参与一对一辅导人数"), ("question_students", "学生提问人数"),
    ("one_to_many_students", "参与一对多人数"), ("participants", "总参与人数"),
    ("one_to_one_sessions", "发起一对一辅导次数"), ("questions", "问题数"),
    ("one_to_many_attendances", "参加一对多辅导次数"), ("participations", "参与总次数"),
    ("enrolled", "各校总人数"), ("participation_rate", "参与率(%)"), ("per_participant", "人均参与次数"),
    ("per_enrolled", "校均参与次数"), ("city_rank", "全市参与率排名"),
]

@dataclass
class Row:
    school_id: int
    school: str
    district: str
    one_to_one_students: int = 0
    question_students: int = 0
    one_to_many_students: int = 0
    participants: int = 0
    one_to_one_sessions: int = 0
    questions: int = 0
    one_to_many_attendances: int = 0
    participations: int = 0
    enrolled: int = 0
    participation_rate: Decimal = Decimal("0.00")
    per_participant: Decimal = Decimal("0.00")
    per_enrolled: Decimal = Decimal("0.00")
    city_rank: int = 0
    district_id: int = 0

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("district_id")
        return d

def ratio(a: int, b: int, scale: int = 1) -> Decimal:
    if b == 0:
        return Decimal("0.00")
    return (Decimal(a * scale) / Decimal(b)).quantize(Decimal("0.01"), ROUND_HALF_UP)

def bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    return datetime.combine(start, time(0), zone), datetime.combine(end, time(0), zone)

async def city_table(db: AsyncSession, city_id: int, start: date, end: date, tz: str) -> list[Row]:
    """Every school of the city, sorted by rank."""
    f, t = bounds(start, end, tz)
    schools = (await db.execute(select(School, District.name, District.id).join(District, District.id == School.district_id)
                                .where(District.city_id == city_id))).all()
    rows = {s.id: Row(school_id=s.id, school=s.name, district=dname, district_id=did) for s, dname, did in schools}
    if not rows:
        return []
    in_city = list(rows)

    went_live = select(TutoringSession.student_id.label("student_id")).where(
        TutoringSession.live_at >= f, TutoringSession.live_at < t)
    asked = select(Question.student_id.label("student_id")).where(Question.created_at >= f, Question.created_at < t)
    sessions, questions, anyone = went_live.subquery(), asked.subquery(), union(went_live, asked).subquery()

    async def per_school(sub, distinct: bool) -> dict[int, int]:  # type: ignore[no-untyped-def]
        counted = func.count(func.distinct(sub.c.student_id)) if distinct else func.count()
        q = (select(User.school_id, counted).select_from(sub).join(User, User.id == sub.c.student_id)
             .where(User.school_id.in_(in_city)).group_by(User.school_id))
        return dict((await db.execute(q)).all())

    one_students, one_sessions = await per_school(sessions, True), await per_school(sessions, False)
    q_students, q_count = await per_school(questions, True), await per_school(questions, False)
    participants = await per_school(anyone, True)
    enrolled = dict((await db.execute(select(User.school_id, func.count()).where(
        User.role == "student", User.school_id.in_(in_city), User.created_at < t).group_by(User.school_id))).all())

    for sid, r in rows.items():
        r.one_to_one_students, r.one_to_one_sessions = one_students.get(sid, 0), one_sessions.get(sid, 0)
        r.question_students, r.questions = q_students.get(sid, 0), q_count.get(sid, 0)
        r.participants, r.enrolled = participants.get(sid, 0), enrolled.get(sid, 0)
        r.participations = r.one_to_one_sessions + r.questions + r.one_to_many_attendances
        r.participation_rate = ratio(r.participants, r.enrolled, 100)
        r.per_participant = ratio(r.participations, r.participants)
        r.per_enrolled = ratio(r.participations, r.enrolled)
    ordered = sorted(rows.values(), key=lambda r: (-r.participation_rate, r.school_id))
    for i, r in enumerate(ordered):
        r.city_rank = ordered[i - 1].city_rank if i and r.participation_rate == ordered[i - 1].participation_rate else i + 1
    return ordered
