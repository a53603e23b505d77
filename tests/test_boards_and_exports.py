"""Leaderboards and the month's stars against brute-force counts; every table as CSV and XLSX."""
import csv
import io
from collections import Counter
from datetime import datetime, timedelta

from openpyxl import load_workbook

from app.models import HelpRequest, TutoringSession

from .test_participation import END, SH, START, build

PERIOD = {"from": "2026-11-02", "to": "2026-11-09"}


def events(sessions, questions):  # type: ignore[no-untyped-def]
    """(student, time) of every participation: sessions gone live, questions, attendances."""
    return [(u, t) for _, u, t in sessions if t is not None] + [(u, t) for _, u, t, *_ in questions]


def ranked(counts: Counter, limit: int, minimum: int = 1):  # type: ignore[no-untyped-def]
    order = sorted(((n, u) for u, n in counts.items() if n >= minimum), key=lambda x: (-x[0], x[1]))[:limit]
    out, prev = [], None
    for i, (n, u) in enumerate(order):
        rank = out[-1][2] if prev == n else i + 1
        out.append((u, n, rank))
        prev = n
    return out


async def test_student_and_class_leaderboards_match_brute_force(client, factory):  # type: ignore[no-untyped-def]
    org, schools, students, sessions, questions = await build(factory, 11)
    admin = await factory.sign_in(await factory.user("city_admin", org))
    inside = Counter(u for u, t in events(sessions, questions) if START <= t < END)
    r = await client.get("/api/stats/leaderboards/students", headers=admin, params={**PERIOD, "limit": 5})
    assert r.status_code == 200, r.text
    assert [(x["id"], x["participations"], x["rank"]) for x in r.json()["rows"]] == ranked(inside, 5)

    r = await client.get("/api/stats/leaderboards/classes", headers=admin, params=PERIOD)
    got = {x["id"]: (x["participants"], x["participations"], x["enrolled"]) for x in r.json()["rows"]}
    school_of = {u: sid for sid, us in students.items() for u in us}
    for i, school in enumerate(schools[:-1]):
        mine = {u: n for u, n in inside.items() if school_of[u] == school.id}
        assert got[org.classes[i].id] == (len(mine), sum(mine.values()), len(students[school.id]))
    rates = [x["rate"] for x in r.json()["rows"]]
    assert rates == sorted(rates, key=lambda v: -float(v))


async def test_the_months_stars_follow_the_documented_rule(client, factory):  # type: ignore[no-untyped-def]
    org, schools, students, sessions, questions = await build(factory, 12)
    good, so_so = await factory.tutor(org), await factory.tutor(org)
    student = students[schools[0].id][0]
    async with factory.session() as db:
        for tutor, rating, minutes in [(good, 5, 20)] * 5 + [(so_so, 4, 29)] * 6:
            req = HelpRequest(student_id=student, subject_code="math", text="?", status="matched")
            db.add(req)
            await db.flush()
            live = START + timedelta(days=1)
            db.add(TutoringSession(request_id=req.id, student_id=student, tutor_id=tutor.id, subject_code="math", state="ended",
                                   matched_at=live, live_at=live, duration_s=minutes * 60, rating=rating))
            sessions.append((schools[0].id, student, live))
        await db.commit()
    admin = await factory.sign_in(await factory.user("city_admin", org))
    r = await client.get("/api/stats/stars", headers=admin, params={"month": "2026-11"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    november = Counter(u for u, t in events(sessions, questions)
                       if datetime(2026, 11, 1, tzinfo=SH) <= t < datetime(2026, 12, 1, tzinfo=SH))
    learn = [(x["id"], x["rank"]) for x in rows if x["award"] == "学习之星"]
    assert learn == [(u, rank) for u, _, rank in ranked(november, 10, minimum=3)]
    teach = [x["id"] for x in rows if x["award"] == "辅导之星"]
    assert teach == [good.id]  # the other has more minutes but averages 4.0 < 4.5
    big_enough = {org.classes[i].id for i, s in enumerate(schools[:-1]) if len(students[s.id]) >= 10}
    assert {x["id"] for x in rows if x["award"] == "活跃班级"} == big_enough  # the rule asks for 10 students
    assert (await client.get("/api/stats/stars", headers=admin, params={"month": "2026-13"})).status_code == 422


async def test_every_table_exports_as_csv_and_xlsx(client, factory):  # type: ignore[no-untyped-def]
    org, schools, students, sessions, questions = await build(factory, 13)
    city = await factory.sign_in(await factory.user("city_admin", org))
    school_admin = await factory.sign_in(await factory.user("school_admin", org))
    tables = [
        ("/api/stats/participation", city, {}, "参与一对一辅导人数"),
        ("/api/stats/online-rate", city, {}, "上线率(%)"),
        ("/api/stats/payroll", city, {"district_id": org.districts[0].id}, "金额(元)"),
        ("/api/stats/tutors", city, {}, "平均评分"),
        ("/api/stats/classes/weekly", school_admin, {}, "参与人数"),
        ("/api/stats/hot-spots", city, {}, "知识点"),
        ("/api/stats/leaderboards/students", city, {}, "参与次数"),
    ]
    for path, headers, extra, header in tables:
        params = {**PERIOD, **extra}
        data = (await client.get(path, headers=headers, params=params)).json()
        n = len(data.get("rows", data.get("tutors", [])))
        r = await client.get(path, headers=headers, params={**params, "format": "csv"})
        assert r.status_code == 200 and r.content.startswith("\ufeff".encode()), path
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert header in rows[0], path
        r = await client.get(path, headers=headers, params={**params, "format": "xlsx"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats"), path
        sheet = load_workbook(io.BytesIO(r.content)).active
        values = list(sheet.values)
        assert header in values[0] and len(values) == len(rows), path
        expected_rows = n + (1 if path.endswith("payroll") else 0)  # payroll adds a total line
        assert len(rows) == 1 + expected_rows, path
    # The spreadsheet holds the same figures as the JSON.
    data = (await client.get("/api/stats/participation", headers=city, params=PERIOD)).json()["rows"]
    r = await client.get("/api/stats/participation", headers=city, params={**PERIOD, "format": "xlsx"})
    sheet = list(load_workbook(io.BytesIO(r.content)).active.values)
    assert [(row[0], row[6]) for row in sheet[1:]] == [(d["school_id"], d["participants"]) for d in data]
    r = await client.get("/api/stats/participation", headers=city, params={**PERIOD, "format": "pdf"})
    assert r.status_code == 422
