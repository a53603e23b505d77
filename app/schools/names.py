"""How grades and classes are named where people read them: 初二, 高二(2)班 — not "11年级2班"."""

from __future__ import annotations

import re

GRADE_NAMES = {7: "初一", 8: "初二", 9: "初三", 10: "高一", 11: "高二", 12: "高三"}


def band_of(grade: int | None) -> str:
    """The grade band a student asks, enrols and is matched in: senior from grade 10 (高一) up."""
    return "senior" if grade is not None and grade >= 10 else "junior"


def grade_name(grade: int | None) -> str:
    if grade is None:
        return ""
    return GRADE_NAMES.get(grade, f"{grade}年级")


def class_label(grade: int | None, name: str) -> str:
    """`(11, "2班")` or `(11, "2")` → 高二(2)班; another name keeps its words: 高二 实验班."""
    number = re.fullmatch(r"\s*(\d+)\s*班?\s*", name)
    if number:
        return f"{grade_name(grade)}({int(number.group(1))})班"
    return f"{grade_name(grade)} {name}".strip()
