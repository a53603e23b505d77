"""Micro-lessons in the tutor's main archive and workload (app/stats): lessons first published in
the period and the complete views of a tutor's lessons in the period, against counts made here
from random raw records, on both setups, and in the exports."""
from __future__ import annotations

import io
import random
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from app.models import Lesson, LessonView, PointsEntry

SH = ZoneInfo("Asia/Shanghai")
START, END = datetime(2026, 11, 2, tzinfo=SH), datetime(2026, 11, 9, tzinfo=SH)
PERIOD = {"from": "2026-11-02", "to": "2026-11-09"}
SUBJECTS = {"math": "数学", "physics": "物理"}


async def test_lessons_and_their_views_in_the_tutors_archive_workload_and_exports(client, factory) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(20)
    org = await factory.org()
    tutors = [await factory.tutor(org, school=s) for s in (0, 0, 2)]  # districts 0, 0, 1
    students = [await factory.user("student", org, school=s) for s in (0, 1, 2, 3, 0)]
    inside = lambda at: at is not None and START <= at < END  # noqa: E731
    when = lambda: rng.choice([None, START - timedelta(hours=1), START + timedelta(days=rng.uniform(0, 7)), END])  # noqa: E731
    per_tutor: dict[int, dict[str, Any]] = {t.id: {"lessons": 0, "lesson_views": 0, "points": Decimal(0)} for t in tutors}
    blank = lambda: {"tutors": set(), "lessons": 0, "lesson_views": 0, "points": Decimal(0)}  # noqa: E731
    by: dict[str, dict[Any, dict[str, Any]]] = {"subject": defaultdict(blank), "district": defaultdict(blank)}
    archive: dict[int, list[tuple[str, str, int, str, str, Decimal]]] = {t.id: [] for t in tutors}  # (at, kind, id, subject, detail, points)
    async with factory.session() as db:
        for n in range(14):
            tutor, subject, published = rng.choice(tutors), rng.choice(list(SUBJECTS)), when()
            lesson = Lesson(tutor_id=tutor.id, school_id=tutor.school_id, district_id=tutor.district_id, subject_code=subject,
                            band="junior", title=f"第{n}课", media_status="ready", duration_s=rng.uniform(60, 900),
                            review_status="approved" if published else "pending", published_at=published)
            db.add(lesson)
            await db.flush()
            groups = (by["subject"][subject], by["district"][tutor.district_id])
            if published is not None:
                db.add(PointsEntry(tutor_id=tutor.id, district_id=tutor.district_id, source_kind="lesson", source_id=lesson.id,
                                   points=Decimal("1.00"), created_at=published))
            if inside(published):
                per_tutor[tutor.id]["lessons"] += 1
                per_tutor[tutor.id]["points"] += Decimal("1.00")
                for g in groups:
                    g["tutors"].add(tutor.id)
                    g["lessons"] += 1
                    g["points"] += Decimal("1.00")
                archive[tutor.id].append((published.astimezone(SH).strftime("%Y-%m-%d %H:%M"), "微课发布", lesson.id,
                                          SUBJECTS[subject], lesson.title, Decimal("1.00")))
            if published is None:
                continue
            seen, last, points = 0, None, Decimal(0)
            for student in rng.sample(students, rng.randint(0, len(students))):
                completed = when()
                view = LessonView(lesson_id=lesson.id, student_id=student.id, school_id=student.school_id, covered_s=0,
                                  completed_at=completed)
                db.add(view)
                await db.flush()
                if completed is None:
                    continue
                db.add(PointsEntry(tutor_id=tutor.id, district_id=tutor.district_id, source_kind="lesson_view", source_id=view.id,
                                   points=Decimal("0.05"), created_at=completed))
                if inside(completed):
                    seen += 1
                    last = max(completed, last or completed)
                    points += Decimal("0.05")
            if seen:
                per_tutor[tutor.id]["lesson_views"] += seen
                per_tutor[tutor.id]["points"] += points
                for g in groups:
                    g["lesson_views"] += seen
                    g["points"] += points
                assert last is not None
                archive[tutor.id].append((last.astimezone(SH).strftime("%Y-%m-%d %H:%M"), "微课观看", lesson.id,
                                          SUBJECTS[subject], f"{lesson.title}（{seen} 次完整观看）", points))
        await db.commit()
    assert sum(e["lessons"] for e in per_tutor.values()) > 0 and sum(e["lesson_views"] for e in per_tutor.values()) > 0

    admin = await factory.sign_in(await factory.user("city_admin", org))
    rows = {r["tutor_id"]: r for r in (await client.get("/api/stats/tutors", headers=admin, params=PERIOD)).json()["rows"]}
    for t in tutors:
        r, e = rows[t.id], per_tutor[t.id]
        assert (r["lessons"], r["lesson_views"], Decimal(str(r["points"]))) == (e["lessons"], e["lesson_views"], e["points"]), t.id
        mine = (await client.get("/api/stats/tutors/me", headers=await factory.sign_in(t), params=PERIOD)).json()
        assert (mine["lessons"], mine["lesson_views"]) == (e["lessons"], e["lesson_views"])

    for kind, groups in by.items():
        got = {row[kind]: row for row in (await client.get("/api/stats/tutors/totals", headers=admin,
                                                           params={**PERIOD, "by": kind})).json()["rows"]}
        expected = {k: g for k, g in groups.items() if g["tutors"] or g["lesson_views"] or g["points"]}
        assert set(got) == set(expected), kind
        for key, e in expected.items():
            row = got[key]
            assert (row["tutors"], row["lessons"], row["lesson_views"], Decimal(str(row["points"]))) == (
                len(e["tutors"]), e["lessons"], e["lesson_views"], e["points"]), (kind, key)

    for t in tutors:
        got = (await client.get("/api/stats/archive", headers=admin, params={**PERIOD, "tutor_id": t.id})).json()["rows"]
        assert [(r["at"], r["kind"], r["id"], r["subject"], r["detail"], Decimal(str(r["points"]))) for r in got] == \
            sorted(archive[t.id]), t.id

    # The exports carry the same.
    busiest = max(tutors, key=lambda t: len(archive[t.id]))
    csv = (await client.get("/api/stats/archive", headers=admin, params={**PERIOD, "tutor_id": busiest.id, "format": "csv"})).text
    lines = csv.lstrip("\ufeff").strip().splitlines()
    assert len(lines) == 1 + len(archive[busiest.id]) and sum("微课发布" in line for line in lines) == \
        sum(1 for a in archive[busiest.id] if a[1] == "微课发布")
    xlsx = await client.get("/api/stats/tutors", headers=admin, params={**PERIOD, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    table = {row[0]: dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    for t in tutors:
        assert (table[t.id]["发布微课数"], table[t.id]["微课完整观看次数"]) == (per_tutor[t.id]["lessons"], per_tutor[t.id]["lesson_views"])
