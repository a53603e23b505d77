"""Every statistics table as JSON, CSV (UTF-8 with BOM, so Excel opens Chinese correctly) or XLSX."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from fastapi import Response
from openpyxl import Workbook
from openpyxl.styles import Font

Format = Literal["json", "csv", "xlsx"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# A text cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV Injection"): `=HYPERLINK(…)`, `=cmd|' /C calc'!A0`, `@SUM(…)`, `+1+1`, `-1+1`, and a
# leading tab or carriage return that hides one. Names, school names and application text come
# from anonymous applicants, so every text cell is neutralised.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(text: str) -> str:
    """Text that no spreadsheet reads as a formula: a leading quote makes it plain text (OWASP)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell(v: Any, csv_text: bool = False) -> Any:
    if isinstance(v, Decimal):  # CSV keeps the figure as shown (84.50); XLSX gets a number shown so
        return str(v) if csv_text else float(v)
    if isinstance(v, (list, dict)):
        v = str(v)
    if isinstance(v, str):
        return neutral(v)
    return v


def table(name: str, fmt: Format, columns: list[tuple[str, str]], rows: list[dict[str, Any]], from_: date, to: date, **extra: Any) -> Any:
    """`columns`: (key, Chinese header) in order. JSON carries the rows as they are."""
    if fmt == "json":
        return {"from": from_, "to": to, **extra, "rows": rows}
    filename = f"{name}_{from_}_{to}.{fmt}"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)  # names are user text: nothing that ends the header value
    headers = {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}
    if fmt == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow([h for _, h in columns])
        for r in rows:
            w.writerow([_cell(r.get(k), csv_text=True) for k, _ in columns])
        return Response(("\ufeff" + out.getvalue()).encode(), media_type="text/csv; charset=utf-8", headers=headers)
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\\/*?:\[\]]", "_", name)[:31]  # Excel forbids these in a sheet name (names are user text)
    ws.append([h for _, h in columns])
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([_cell(r.get(k)) for k, _ in columns])
        for (k, _), c in zip(columns, ws[ws.max_row]):
            if isinstance(r.get(k), Decimal):
                c.number_format = "0.00"
            elif isinstance(c.value, str):
                c.data_type = "s"  # openpyxl stores any text starting with "=" as a formula otherwise
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), media_type=XLSX, headers=headers)


ONLINE = [("group", "分组"), ("online", "上线用户"), ("registered", "平台用户"), ("rate", "上线率(%)")]
PAYROLL = [("tutor_id", "教师ID"), ("name", "姓名"), ("entries", "积分记录数"), ("points", "积分"), ("amount_cny", "金额(元)")]
# A tutor's work, the same columns on each tutor's row and on the totals.
_WORK = [
    ("sessions", "一对一辅导次数"),
    ("live_minutes", "辅导分钟"),
    ("classes", "一对多课堂"),
    ("answers", "答疑数"),
    ("lessons", "发布微课数"),
    ("lesson_views", "微课完整观看次数"),
    ("ratings", "评价数"),
    ("average_rating", "平均评分"),
    ("points", "积分"),
]
WORKLOAD = [("tutor_id", "教师ID"), ("name", "姓名"), ("school_id", "学校ID"), *_WORK]
WEEKLY = [
    ("week_of", "周（周一）"),
    ("class_id", "班级ID"),
    ("class", "班级"),
    ("participants", "参与人数"),
    ("sessions", "一对一辅导次数"),
    ("questions", "提问数"),
    ("attendances", "参加一对多辅导次数"),
]
ARCHIVE = [
    ("at", "时间"),
    ("kind", "类别"),
    ("id", "编号"),
    ("subject", "学科"),
    ("detail", "内容"),
    ("minutes", "分钟"),
    ("rating", "评分"),
    ("points", "积分"),
]
WORKLOAD_TOTALS = [("tutors", "辅导教师数"), *_WORK]
HOT = [("knowledge_point_id", "知识点ID"), ("name", "知识点"), ("subject", "学科"), ("asked", "提问次数")]
BOARD = [
    ("rank", "名次"),
    ("id", "ID"),
    ("name", "名称"),
    ("school", "学校"),
    ("participants", "参与人数"),
    ("participations", "参与次数"),
    ("enrolled", "人数"),
    ("rate", "参与率(%)"),
    ("sessions", "辅导次数"),
    ("live_minutes", "辅导分钟"),
    ("average_rating", "平均评分"),
]
STARS = [("award", "称号"), ("rank", "名次"), ("id", "ID"), ("name", "姓名/班级"), ("school", "学校"), ("figure", "依据")]
TREND = [("day", "日期"), ("participations", "参与次数"), ("participants", "参与人数")]
