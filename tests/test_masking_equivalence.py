"""The masking speed-up changed how the work is done, not what it gives: for every corpus text,
every split of a contact case over two messages, random multi-message windows and generated
texts (hypothesis), `screen` and `Recent.screen` give the same masked text and the same kinds,
in the same order, as the frozen copy of the code before it (tests/safety_before.py)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.kit import safety

from . import safety_before as before
from .masking_corpus import CONTACTS, ORDINARY

# Contact details the corpus has no case of, in shapes the faster code's shortcuts must not miss
# (found by weakening each shortcut in turn: a number spread wide, each weak keyword, 口口).
EXTRA = [
    "1 / 3 / 8 / 0 / 0 / 1 / 3 / 8 / 0 / 0 / 0", "0 1 0 - 6 2 7 5 1 2 3 4", "110101 20080101 123x",
    "line: kid_2010_x", "ins：lily2010", "tg号 tom2010", "fb: jack2010", "v: abc2010", "威 abc2010",
    "口口 12345678", "蔻蔻：12345678", "q：12345678", "12345678 艾特 扣扣", "小红书 @xhs_2010", "我的号 ab2010",
    "幸福小区3期", "建国路 88 号", "3 号楼 2 单元 101", "kid.lee 艾特 163 点 com",
]
TEXTS = [t for t, _ in CONTACTS] + EXTRA + ORDINARY
SPLITS = ["我的号", "138", "0013", "8000", "微", "信 kid2010bj", "朝阳路", "12号", "扣扣", "1234", "5678", "x", "11010120080101123"]


def same(new: safety.Screened, old: before.Screened) -> bool:
    return (new.text, new.found) == (old.text, old.found)


def test_every_corpus_text_alone_and_after_each_other():
    for text in TEXTS:
        assert same(safety.screen(text), before.screen(text)), text
    for previous in TEXTS[::7]:
        for text in TEXTS:
            assert same(safety.screen(text, [previous]), before.screen(text, [previous])), (previous, text)


def test_every_contact_case_split_over_two_and_three_messages():
    for text in [t for t, _ in CONTACTS] + EXTRA:
        for i in range(1, len(text)):
            for parts in ([text[:i], text[i:]], [text[:i], "，", text[i:]], [text[: i // 2], text[i // 2 : i], text[i:]]):
                new, old = safety.Recent(), before.Recent()
                for part in parts:
                    assert same(new.screen("k", part), old.screen("k", part)), parts


def test_random_windows_of_several_senders():
    rng = random.Random(2026)
    lines = TEXTS + SPLITS + [f"第{k}步 u{k % 7}: 先把方程两边同时乘以二, 再移项" for k in range(40)] + ["长" * 150 + "13800138000" + "尾" * 60]
    new, old = safety.Recent(per_key=3, keys=5), before.Recent(per_key=3, keys=5)  # few keys: eviction too
    for _ in range(6000):
        key, text = rng.randint(0, 6), rng.choice(lines)
        assert same(new.screen(key, text), old.screen(key, text)), (key, text, old.get(key))
        assert new.get(key) == old.get(key)


# Pieces a generated text is made of: what the detectors look for, split and mixed with what
# folds irregularly (to several characters, or to none) and with the corpus' own texts.
FRAGMENTS = [
    *"0123456789xX ",
    "138", "0013", "8000", "13800138000", "010", "62751234", "110101", "20080101", "123x", "1,380,000",
    "一三八", "零零", "幺", "洞", "壹叁捌", "１３８", "①③⑧", "٣", "²",
    "-", "/", "_", ",", ".", "，", "。", "、", "·", "~", "～", "(", ")", "【", "】", "\n", "\t", "\u3000", "  ",
    "\u200b", "\u200d", "\u00ad", "\ufeff", "ﬁ", "㎞", "½", "İ", "Ⅻ", "㈠", "ß", "Ａ", "ｑｑ",
    "微信", "微", "信", "薇", "威", "vx", "wx", "v", "wechat", "weixin", "ins", "tg", "line", "fb", "抖音", "b站",
    "qq", "q", "Q", "扣扣", "口口", "line:", "ins：", "tg号", "fb:", "v:",
    "扣", "企鹅", "球球", "q号", "号", "号码", "账号", "id", "是", ":", "：", "@", "加", "搜",
    "加我", "联系我", "找我", "电话", "手机", "tel", "call me", "add me", "is", "吧",
    "(at)", " at ", "at", "艾特", "dot", " dot ", "点", "com", "cn", "qq.com", "163", "gmail",
    "路", "街", "大道", "胡同", "号楼", "栋", "幢", "座", "单元", "室", "层", "小区", "花园", "苑", "期", "弄", "里",
    "kid2010", "lily_2010_bj", "abc_12345", "hello", "every", "day", "wechat every day", "zhang san",
    "第", "步", "u523", "先把方程两边同时乘以二", "再移项", "老师", "中关村", "阳光", "朝阳区建国",
]
pieces = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.from_regex(r"\d{1,12}", fullmatch=True),
    st.text(st.sampled_from("0123456789 -/.,qx@微信号路栋单元\u200b"), max_size=6),
    st.tuples(st.sampled_from(TEXTS), st.integers(0, 40), st.integers(0, 40)).map(lambda t: t[0][t[1] : t[1] + t[2]]),
)
texts = st.lists(pieces, max_size=10).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, st.lists(texts, max_size=3))
def test_generated_texts_with_generated_windows(text, recent):
    assert same(safety.screen(text, recent), before.screen(text, recent))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), texts | st.sampled_from(SPLITS)), max_size=12))
def test_generated_conversations(messages):
    new, old = safety.Recent(per_key=3, keys=2), before.Recent(per_key=3, keys=2)
    for key, text in messages:
        assert same(new.screen(key, text), old.screen(key, text))
        assert new.get(key) == old.get(key)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=4), st.integers(150, 260))
def test_long_lines_kept_truncated(parts, size):
    """Recent keeps a line's last 200 characters: a long line's window is the truncated text."""
    new, old = safety.Recent(), before.Recent()
    for part in parts:
        text = (part * (size // max(len(part), 1) + 1))[:size] if part else "长" * size
        assert same(new.screen("k", text), old.screen("k", text))
