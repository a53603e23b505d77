"""Every user-facing string is in one file per language, and both languages have every key."""
from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "app" / "web" / "static" / "js"


def keys(lang: str) -> set[str]:
    return set(re.findall(r"^\s*'([a-zA-Z0-9_.]+)':", (STATIC / "lang" / f"{lang}.js").read_text(), re.M))


def test_both_languages_have_the_same_keys() -> None:
    zh, en = keys("zh-CN"), keys("en")
    assert len(zh) > 150
    assert zh - en == set() and en - zh == set()


def test_every_key_the_pages_use_exists() -> None:
    used: set[str] = set()
    for js in STATIC.rglob("*.js"):
        if "lang" not in js.parts:
            used |= set(re.findall(r"\bt\('([a-zA-Z0-9_.]+)'", js.read_text()))
    assert used, "no t('…') calls found"
    assert used - keys("zh-CN") == set()


def test_no_chinese_text_outside_the_language_files() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    offenders = []
    for js in STATIC.rglob("*.js"):
        if "lang" in js.parts:
            continue
        for n, line in enumerate(js.read_text().splitlines(), 1):
            if han.search(line) and not line.strip().startswith("//"):
                offenders.append(f"{js.name}:{n}: {line.strip()}")
    assert offenders == []
