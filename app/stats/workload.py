"""The tutors' figures: workload (per tutor, and summed per subject or district) and a tutor's
archive (辅导档案). They read the raw records of the period (sessions, classes, answers, lessons,
the points ledger) and follow the tutors shown. (The other tables have their own modules:
online.py, payroll.py, weekly.py, hot_spots.py.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    Answer,
    ClassAttendance,
    District,
    Lesson,
    LessonView,
    LiveClass,
    PointsEntry,
    Question,
    Role,
    School,
    Subject,
    TutoringSession,
    User,
)
from app.models.records import NOT_HELD_CLASS_STATES
from app.schools.names import grade_name

from .period import bounds
from .rounding import ratio, two_places
from .scope import users_scoped


async def tutor_workload(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, tutor_id: int | None, start: date, end: date, tz: str
) -> list[dict[str, object]]:
    """Per tutor for the period: one-to-one sessions that went live, live minutes, one-to-many
    classes started, answers, average rating of those sessions, micro-lessons first published
    and complete views of their lessons (app/lessons), points booked."""
    f, t = bounds(start, end, tz)
    tutors = users_scoped(select(User.id, User.real_name, User.school_id).where(User.role == Role.TUTOR), city_id, district_id, school_id)
    if tutor_id is not None:
        tutors = tutors.where(User.id == tutor_id)
    people = (await db.execute(tutors.order_by(User.id))).all()
    ids = [p.id for p in people]
    if not ids:
        return []
    sessions = dict(
        (row[0], row[1:])
        for row in (
            await db.execute(
                select(
                    TutoringSession.tutor_id,
                    func.count(),
                    func.coalesce(func.sum(TutoringSession.duration_s), 0),
                    func.avg(TutoringSession.rating),
                    func.count(TutoringSession.rating),
                )
                .where(TutoringSession.tutor_id.in_(ids), TutoringSession.live_at >= f, TutoringSession.live_at < t)
                .group_by(TutoringSession.tutor_id)
            )
        ).all()
    )
    answers = dict(
        (
            await db.execute(
                select(Answer.tutor_id, func.count())
                .where(Answer.tutor_id.in_(ids), Answer.created_at >= f, Answer.created_at < t)
                .group_by(Answer.tutor_id)
            )
        ).all()
    )
    points = dict(
        (
            await db.execute(
                select(PointsEntry.tutor_id, func.sum(PointsEntry.points))
                .where(PointsEntry.tutor_id.in_(ids), PointsEntry.created_at >= f, PointsEntry.created_at < t)
                .group_by(PointsEntry.tutor_id)
            )
        ).all()
    )
    classes = dict(
        (
            await db.execute(
                select(LiveClass.tutor_id, func.count())
                .where(LiveClass.tutor_id.in_(ids), LiveClass.starts_at >= f, LiveClass.starts_at < t, LiveClass.state.not_in(NOT_HELD_CLASS_STATES))
                .group_by(LiveClass.tutor_id)
            )
        ).all()
    )
    lessons, lesson_views = await _lesson_work(db, ids, f, t)
    out = []
    for p in people:
        n, seconds, avg, rated = sessions.get(p.id, (0, 0, None, 0))
        out.append(
            {
                "tutor_id": p.id,
                "name": p.real_name,
                "school_id": p.school_id,
                "sessions": n,
                "live_minutes": ratio(int(seconds), 60),
                "classes": classes.get(p.id, 0),
                "answers": answers.get(p.id, 0),
                "lessons": lessons.get(p.id, 0),
                "lesson_views": lesson_views.get(p.id, 0),
                "ratings": rated,
                "average_rating": two_places(avg),
                "points": Decimal(points.get(p.id) or 0).quantize(Decimal("0.01")),
            }
        )
    return out


async def _lesson_work(db: AsyncSession, tutor_ids: list[int], f: datetime, t: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """Per tutor: lessons first published (approved) in [f, t), and complete views of their
    lessons counted in [f, t) (a view counts when it completes, as in app/lessons/stats.py)."""
    published = dict(
        (
            await db.execute(
                select(Lesson.tutor_id, func.count())
                .where(Lesson.tutor_id.in_(tutor_ids), Lesson.published_at >= f, Lesson.published_at < t)
                .group_by(Lesson.tutor_id)
            )
        ).all()
    )
    views = dict(
        (
            await db.execute(
                select(Lesson.tutor_id, func.count())
                .join(LessonView, LessonView.lesson_id == Lesson.id)
                .where(Lesson.tutor_id.in_(tutor_ids), LessonView.completed_at >= f, LessonView.completed_at < t)
                .group_by(Lesson.tutor_id)
            )
        ).all()
    )
    return published, views


async def workload_totals(
    db: AsyncSession, city_id: int, district_id: int | None, school_id: int | None, by: str, start: date, end: date, tz: str
) -> list[dict[str, object]]:
    """Tutor workload summed per subject or per district, over the tutors in scope: tutors who
    worked (a session, a class, an answer or a lesson published), sessions gone live, live
    minutes, classes, answers, lessons published and their complete views, rated sessions and
    their average, points. By subject, points follow their source (the session's, class's,
    question's or lesson's subject; other entries under no subject); by district,
    points go to the district that pays them (the ledger's), the rest to the tutor's district."""
    f, t = bounds(start, end, tz)
    question, session, klass = Question.__table__.alias("q"), TutoringSession.__table__.alias("ts"), LiveClass.__table__.alias("lc")
    lesson, viewed = Lesson.__table__.alias("ls"), Lesson.__table__.alias("lv")

    def scoped(q: Select, tutor_col: Any) -> Select:
        """Limited to the records of tutors (User) employed in the scope."""
        return users_scoped(q.join(User, User.id == tutor_col), city_id, district_id, school_id)

    by_subject = by == "subject"
    s_key = TutoringSession.subject_code if by_subject else User.district_id
    c_key = LiveClass.subject_code if by_subject else User.district_id
    a_key = Question.subject_code if by_subject else User.district_id
    l_key = Lesson.subject_code if by_subject else User.district_id
    sessions = scoped(
        select(
            s_key.label("k"), TutoringSession.tutor_id.label("tid"), TutoringSession.duration_s.label("secs"), TutoringSession.rating.label("rating")
        ).where(TutoringSession.live_at >= f, TutoringSession.live_at < t),
        TutoringSession.tutor_id,
    ).subquery()
    classes = scoped(
        select(c_key.label("k"), LiveClass.tutor_id.label("tid")).where(
            LiveClass.starts_at >= f, LiveClass.starts_at < t, LiveClass.state.not_in(NOT_HELD_CLASS_STATES)
        ),
        LiveClass.tutor_id,
    ).subquery()
    answers = scoped(
        select(a_key.label("k"), Answer.tutor_id.label("tid"))
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.created_at >= f, Answer.created_at < t),
        Answer.tutor_id,
    ).subquery()
    lessons = scoped(
        select(l_key.label("k"), Lesson.tutor_id.label("tid")).select_from(Lesson).where(Lesson.published_at >= f, Lesson.published_at < t),
        Lesson.tutor_id,
    ).subquery()
    lesson_views = scoped(
        select(l_key.label("k"))
        .select_from(Lesson)
        .join(LessonView, LessonView.lesson_id == Lesson.id)
        .where(LessonView.completed_at >= f, LessonView.completed_at < t),
        Lesson.tutor_id,
    ).subquery()
    p_key = (
        func.coalesce(session.c.subject_code, klass.c.subject_code, question.c.subject_code, lesson.c.subject_code, viewed.c.subject_code)
        if by_subject
        else PointsEntry.district_id
    )
    points = scoped(
        select(p_key.label("k"), PointsEntry.points.label("points"))
        .outerjoin(session, and_(PointsEntry.source_kind == "one_to_one", session.c.id == PointsEntry.source_id))
        .outerjoin(klass, and_(PointsEntry.source_kind == "class", klass.c.id == PointsEntry.source_id))
        .outerjoin(Answer, and_(PointsEntry.source_kind == "answer", Answer.id == PointsEntry.source_id))
        .outerjoin(question, question.c.id == Answer.question_id)
        .outerjoin(lesson, and_(PointsEntry.source_kind == "lesson", lesson.c.id == PointsEntry.source_id))
        .outerjoin(LessonView, and_(PointsEntry.source_kind == "lesson_view", LessonView.id == PointsEntry.source_id))
        .outerjoin(viewed, viewed.c.id == LessonView.lesson_id)
        .where(PointsEntry.created_at >= f, PointsEntry.created_at < t),
        PointsEntry.tutor_id,
    ).subquery()
    groups: dict[object, dict[str, object]] = {}

    def group(k: object) -> dict[str, object]:
        return groups.setdefault(
            k,
            {
                "key": k,
                "tutors": 0,
                "sessions": 0,
                "live_minutes": Decimal("0.00"),
                "classes": 0,
                "answers": 0,
                "lessons": 0,
                "lesson_views": 0,
                "ratings": 0,
                "average_rating": None,
                "points": Decimal("0.00"),
            },
        )

    for k, n, secs, rated, avg in (
        await db.execute(
            select(
                sessions.c.k, func.count(), func.coalesce(func.sum(sessions.c.secs), 0), func.count(sessions.c.rating), func.avg(sessions.c.rating)
            ).group_by(sessions.c.k)
        )
    ).all():
        group(k).update(sessions=n, live_minutes=ratio(int(secs), 60), ratings=rated, average_rating=two_places(avg))
    for sub, col in ((classes, "classes"), (answers, "answers"), (lessons, "lessons"), (lesson_views, "lesson_views")):
        for k, n in (await db.execute(select(sub.c.k, func.count()).group_by(sub.c.k))).all():
            group(k)[col] = n
    for k, total in (await db.execute(select(points.c.k, func.sum(points.c.points)).group_by(points.c.k))).all():
        group(k)["points"] = Decimal(total or 0).quantize(Decimal("0.01"))
    worked = union_all(*[select(x.c.k, x.c.tid) for x in (sessions, classes, answers, lessons)]).subquery()
    for k, n in (await db.execute(select(worked.c.k, func.count(func.distinct(worked.c.tid))).group_by(worked.c.k))).all():
        group(k)["tutors"] = n
    names: dict[Any, str] = dict(
        (
            await db.execute(
                select(Subject.code, Subject.name_zh) if by_subject else select(District.id, District.name).where(District.city_id == city_id)
            )
        ).all()
    )
    out = []
    for k, row in sorted(groups.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        out.append({by: k, "name": names.get(k, "其他") if k is not None else "其他", **{c: v for c, v in row.items() if c != "key"}})
    return out


async def archive(db: AsyncSession, tutor_id: int, start: date, end: date, tz: str) -> list[dict[str, object]]:
    """A tutor's archive (辅导档案) for [from, to): every one-to-one session gone live, one-to-many
    class started, answer posted and micro-lesson first published, and per lesson the complete
    views it got in the period (at the last of them), in time order, with its minutes, rating
    and the points booked for it from the ledger. Students appear by grade and school only
    (they are minors)."""
    f, t = bounds(start, end, tz)
    zone = ZoneInfo(tz)
    ledger: dict[tuple[str, int], Decimal] = {}
    for kind, source, points in (
        await db.execute(select(PointsEntry.source_kind, PointsEntry.source_id, PointsEntry.points).where(PointsEntry.tutor_id == tutor_id))
    ).all():
        ledger[(kind, source)] = ledger.get((kind, source), Decimal(0)) + Decimal(points)
    subjects = dict((await db.execute(select(Subject.code, Subject.name_zh))).all())
    rows: list[tuple[datetime, str, int, dict[str, object]]] = []  # sorted by time, then kind and id

    def add(
        at: datetime | None,
        kind: str,
        source: tuple[str, int],
        subject: str,
        detail: str,
        seconds: int | None,
        rating: int | None = None,
        points: Decimal | None = None,
    ) -> None:
        if at is None:  # never: every record is selected by its time
            return
        rows.append(
            (
                at,
                kind,
                source[1],
                {
                    "at": at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    "kind": kind,
                    "id": source[1],
                    "subject": subjects.get(subject, subject),
                    "detail": detail,
                    "minutes": ratio(seconds, 60) if seconds is not None else None,
                    "rating": rating,
                    "points": (ledger.get(source, Decimal(0)) if points is None else points).quantize(Decimal("0.01")),
                },
            )
        )

    for s, grade, school in (
        await db.execute(
            select(TutoringSession, User.grade, School.name)
            .join(User, User.id == TutoringSession.student_id)
            .outerjoin(School, School.id == User.school_id)
            .where(TutoringSession.tutor_id == tutor_id, TutoringSession.live_at >= f, TutoringSession.live_at < t)
        )
    ).all():
        add(s.live_at, "一对一辅导", ("one_to_one", s.id), s.subject_code, f"{school or ''} {grade_name(grade)}学生".strip(), s.duration_s, s.rating)
    for c, attended in (
        await db.execute(
            select(LiveClass, func.count(ClassAttendance.id))
            .outerjoin(ClassAttendance, ClassAttendance.live_class_id == LiveClass.id)
            .where(LiveClass.tutor_id == tutor_id, LiveClass.starts_at >= f, LiveClass.starts_at < t, LiveClass.state.not_in(NOT_HELD_CLASS_STATES))
            .group_by(LiveClass.id)
        )
    ).all():
        seconds = int((c.ended_at - (c.live_at or c.starts_at)).total_seconds()) if c.ended_at else None
        add(c.starts_at, "一对多课堂", ("class", c.id), c.subject_code, f"{c.title}（{attended} 人参加）", seconds)
    for a, subject in (
        await db.execute(
            select(Answer, Question.subject_code)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.tutor_id == tutor_id, Answer.created_at >= f, Answer.created_at < t)
        )
    ).all():
        add(a.created_at, "答疑", ("answer", a.id), subject, a.text[:40], None)
    for x in (await db.execute(select(Lesson).where(Lesson.tutor_id == tutor_id, Lesson.published_at >= f, Lesson.published_at < t))).scalars():
        add(x.published_at, "微课发布", ("lesson", x.id), x.subject_code, x.title, round(x.duration_s or 0))
    views: dict[int, list[int]] = {}
    last: dict[int, datetime] = {}
    for view_id, lesson_id, completed in (
        await db.execute(
            select(LessonView.id, LessonView.lesson_id, LessonView.completed_at)
            .join(Lesson, Lesson.id == LessonView.lesson_id)
            .where(Lesson.tutor_id == tutor_id, LessonView.completed_at >= f, LessonView.completed_at < t)
        )
    ).all():
        if completed is None:  # never: selected by it
            continue
        views.setdefault(lesson_id, []).append(view_id)
        last[lesson_id] = max(completed, last.get(lesson_id, completed))
    for x in (await db.execute(select(Lesson).where(Lesson.id.in_(list(views))))).scalars():
        add(
            last[x.id],
            "微课观看",
            ("lesson", x.id),
            x.subject_code,
            f"{x.title}（{len(views[x.id])} 次完整观看）",
            None,
            points=sum((ledger.get(("lesson_view", v), Decimal(0)) for v in views[x.id]), Decimal(0)),
        )
    return [row for *_, row in sorted(rows, key=lambda r: r[:3])]
