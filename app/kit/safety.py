"""Minors' safety: personal contact details (phone numbers, WeChat/QQ and other accounts,
e-mail, ID numbers, home addresses) never reach the other side of a chat, a help request, a
question or answer, or a display name. They are masked, and the text is flagged so that admins
can review it.

How: the text is read through a *skeleton* — each character NFKC-folded and lower-cased,
zero-width and format characters dropped, Chinese numerals (一三八, 壹贰, 〇, 幺) read as digits
— that remembers where each of its characters came from. Detectors run on the skeleton (and on
a *compact* form without spaces and separators, for keywords split like 微 / 信); what they find
is masked in the ORIGINAL text, so the text keeps its own punctuation and width. Numbers may be
split by spaces, `-`, `/`, `_`, `,` or `.`; a phone number must then still look like one (11
digits 1[3-9]…, grouped like a phone number, not a list such as 1, 3, 5, 7, 9, 11, 13).

`screen(text, recent)` also looks across the sender's last few messages (`recent`, oldest
first): a number or an account typed over several messages is masked in the message that
completes it. `Recent` keeps those windows per (conversation, sender) in memory.

The corpus in tests/test_masking_corpus.py measures recall and the false-positive rate (README,
"Security").
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache

MASK = "***"

_CN_DIGITS = {
    **dict(zip("零〇一二三四五六七八九", "00123456789")),
    **dict(zip("壹贰叁肆伍陆柒捌玖", "123456789")),
    "幺": "1",
    "洞": "0",
    "貳": "2",
    "陸": "6",
}
# Separators a teenager puts between the digits of a number (or the letters of a keyword).
_SEPS = set(" \t\n\r\u3000-_/\\|,.，。、·・~～—–'\"*()（）[]【】<>《》")
_SEP = r"[\s\-_/\\|,.，。、·・~～—–'\"*()（）\[\]【】<>《》]"


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    if ch in _CN_DIGITS:
        return _CN_DIGITS[ch]
    if unicodedata.category(ch) == "Cf":  # zero-width space/joiners, soft hyphen, BOM, bidi marks
        return ""
    return unicodedata.normalize("NFKC", ch).lower()


@dataclass(frozen=True)
class _Folded:
    text: str
    where: Sequence[int]  # index in the source of each character (a range when it is one to one)


class _FoldTable(dict[int, str]):
    """For str.translate: a character's fold, computed on first sight (translate runs in C)."""

    def __missing__(self, o: int) -> str:
        self[o] = f = _fold(chr(o))
        return f


class _IrregularTable(dict[int, str]):
    """For str.translate: "" for a character that folds to exactly one character, the character
    itself otherwise — translating a text with it leaves "" when the fold is one to one."""

    def __missing__(self, o: int) -> str:
        self[o] = v = "" if len(_fold(chr(o))) == 1 else chr(o)
        return v


_FOLD, _IRREGULAR = _FoldTable(), _IrregularTable()


def _skeleton(text: str) -> _Folded:
    """The skeleton with its map back to `text`, made only for a line something was found in
    (`_line` folds without the map)."""
    # Nearly every chat line folds one character to one character: two C passes, no loop.
    if not text.translate(_IRREGULAR):
        return _Folded(text.translate(_FOLD), range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold(ch):
            out.append(c)
            where.append(i)
    return _Folded("".join(out), where)


# What the compact form drops: every separator, except a space between two letters (so that
# "wechat every day" stays three words while "微 / 信" and "q q 1 2 3" close up) — after the
# separator: it was no space, or no letter came before it, or none comes after. (A separator
# first lets the search skip to the next one in C.)
_DROP = re.compile("[" + "".join(re.escape(c) for c in sorted(_SEPS)) + "](?:(?<! )|(?<![a-zA-Z] )|(?![a-zA-Z]))")


def _compact(sk: _Folded) -> _Folded:
    """The skeleton without what `_DROP` matches, with its map."""
    t, w = sk.text, sk.where
    texts: list[str] = []
    where: list[int] = []
    pos = 0
    for m in _DROP.finditer(t):  # a chat line has a few separators: a loop over them, not over characters
        i = m.start()
        texts.append(t[pos:i])
        where.extend(w[pos:i])
        pos = i + 1
    if pos == 0:
        return sk
    texts.append(t[pos:])
    where.extend(w[pos:])
    return _Folded("".join(texts), where)


_Line = tuple[str, str, str]  # a text, its skeleton and its compact form, without maps


def _line(text: str) -> _Line:
    """A text folded for screening: the skeleton is one `str.translate` (a character's fold is
    the same whether or not the text folds one to one), the compact form one `re.sub`. Plain
    strings in a tuple, so that a window `Recent` keeps is no work for the garbage collector
    (CPython stops tracking a tuple of strings); the maps back to the text are made only for
    the rare line that something is found in (`_screen`)."""
    sk = text.translate(_FOLD)
    return text, sk, _DROP.sub("", sk)


# --- phone and ID numbers: digit groups joined by separators -------------------------------
_GROUPS = re.compile(r"(?<![\d.])\d+(?:" + _SEP + r"{1,3}\d+)*")
_DIGIT = re.compile(r"\d")
# Ten digits, each after at most three separators (the last may be an ID number's x): what is
# masked below ends with such a chain (a phone's 11 digits, a landline's 10-12, an ID's 18); a
# chat line of step and problem numbers ("第17步 u523") has none, whatever its count of digits.
_TEN_DIGITS = re.compile(r"\d(?:" + _SEP + r"{0,3}\d){8}" + _SEP + r"{0,3}[\dx]")
_ID_NUMBER = re.compile(r"(?<!\d)\d{6}" + _SEP + r"?\d{8}" + _SEP + r"?\d{3}[\dx](?![\d])")


def _thousands(sizes: list[int], seps: list[str]) -> bool:
    """1,380,000,000 is a quantity, not a phone number."""
    return len(sizes) > 1 and sizes[0] <= 3 and all(n == 3 for n in sizes[1:]) and all(x == "," for x in seps)


def _phones(sk: str, since: int = 0) -> list[tuple[int, int, str]]:
    """`since`: where the new line starts in `sk` (what ends before it is not this message's to
    mask): a number ending in it ends a chain of `_TEN_DIGITS`, at most 37 characters long."""
    if not _TEN_DIGITS.search(sk, max(since - 36, 0)):
        return []
    found = [(m.start(), m.end(), "id_number") for m in _ID_NUMBER.finditer(sk)]
    for m in _GROUPS.finditer(sk):
        if m.end() - m.start() < 10 or len(_DIGIT.findall(m.group())) < 10:  # a phone has 11 digits, a landline 10-12: none here
            continue
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in re.finditer(r"\d+", m.group())]
        sizes = [b - a for a, b in groups]
        seps = [sk[groups[k][1] : groups[k + 1][0]].strip() or " " for k in range(len(groups) - 1)]
        if _thousands(sizes, seps):
            continue
        for i in range(len(groups)):
            total, j = 0, i
            while j < len(groups) and total < 11:
                total += sizes[j]
                j += 1
            if total != 11:
                continue
            digits = "".join(sk[a:b] for a, b in groups[i:j])
            window = sizes[i:j]
            # Split numbers must still look like a phone number: the whole run, chunks of 3+
            # (138 0013 8000) or one digit at a time (1 3 8 0 …) — not a list like 1, 3, 5, …, 11, 13.
            shaped = i == 0 and j == len(groups) or all(n >= 3 for n in window) or all(n == 1 for n in window)
            if shaped and re.fullmatch(r"1[3-9]\d{9}|0\d{10}", digits):
                found.append((groups[i][0], groups[j - 1][1], "phone"))
        joined = "".join(sk[a:b] for a, b in groups)
        if joined[0] == "0" and sizes[0] in (3, 4) and len(groups) <= 3 and 10 <= len(joined) <= 12:
            found.append((m.start(), m.end(), "phone"))  # landline: 0 + area code, 7-8 digit number
    return found


# --- e-mail, also "kid2010 (at) qq dot com", "kid2010艾特qq点com" ----------------------------
_AT = r"(?:\s*(?:@|\(at\)|\[at\]|\{at\}|<at>|艾特|圈a)\s*|\s+at\s+)"
_DOT = r"(?:\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|点|。)\s*|\s+dot\s+)"
_TLD = r"(?:com|cn|net|org|edu|gov|io|me|top|xyz|cc|hk|tw|co|info|email)"
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+\-]*" + _AT + r"[a-z0-9\-]+(?:" + _DOT + r"[a-z0-9\-]+)*" + _DOT + _TLD + r"(?![a-z])")

# --- accounts behind a keyword (on the compact form, so 微 / 信 and q q match) ---------------
_FILL = r"(?:\s*(?:号码|账号|号|id|名|是|为|:|：|加|搜索|搜|@|is)\s*){0,3}\s*"
_TOKEN = r"([a-z0-9][a-z0-9_\-]{4,24})"
_QQ = re.compile(r"(?:q ?q|扣扣|抠抠|寇寇|蔻蔻|口口|企鹅|球球|q号|q码|扣号)" + _FILL + r"(\d{5,12})")
_QQ_WEAK = re.compile(r"(?<![a-z])q\s*(?:[:：]|号)\s*(\d{5,12})")
_QQ_AFTER = re.compile(r"(?<!\d)(\d{5,12})\s*(?:@|艾特)?\s*(?:qq|扣扣)(?!邮箱)")
# The keywords of _ACCOUNT and _INTENT, each also searched alone first (`_KEYED`).
_ACCOUNT_WORDS = (
    r"(?:微信|威信|薇信|徽信|维信|胃信|喂信|v信|vx|wx|weixin|wechat|vchat|微x|薇x|"
    r"微博|抖音|快手|小红书|b站|telegram|instagram|discord|skype|whatsapp|snapchat|facebook)"
)
_INTENT_WORDS = (
    r"(?:加我|加一下|加个好友|加好友|联系我|联系方式|找我|私聊|私我|私信|打给我|打我|call me|text me|add me|我的号|号码|电话|手机|tel|phone|dial)"
)
_ACCOUNT = re.compile(r"(?<![a-z])" + _ACCOUNT_WORDS + _FILL + _TOKEN)
_ACCOUNT_WEAK = re.compile(r"(?:(?<![a-z])(?:v|ins|tg|line|fb)\s*(?:[:：]|号)|微|薇|威)" + _FILL + r"([a-z][a-z0-9_\-]{4,24})")
_INTENT = re.compile(r"(?<![a-z])" + _INTENT_WORDS + r"(?:吧|哦|呀|啊)?" + _FILL + _TOKEN)


def _account_ok(token: str, strict: bool) -> bool:
    """An account name worth masking: five digits or more; with letters, six characters or more
    and (for a weak keyword) a digit, so that "wechat everyday" or 微积分 pass."""
    if token.isdigit():
        return len(token) >= 5
    return len(token) >= 6 and token[0].isalpha() and (not strict or any(c.isdigit() for c in token))


# Cheap necessary conditions, tested before the patterns that scan a text slowly (a Chinese
# chat line is mostly characters where they try every start): each names something its
# pattern cannot match without.
_HAS_Q = re.compile(r"[q扣抠寇蔻口企球]")
_HAS_AT = re.compile(r"@|at|艾特|圈a")
_KEYED = (  # (what the patterns cannot match without, the patterns with their kind and strictness)
    (_HAS_Q, ((_QQ, "qq", False), (_QQ_WEAK, "qq", False), (_QQ_AFTER, "qq", False))),
    (re.compile(_ACCOUNT_WORDS), ((_ACCOUNT, "wechat", False),)),
    # A weak keyword's last character: 微 薇 威, or v, (in)s, (t)g, (lin)e, (f)b before a colon or 号
    # (a character class first: the search skips to the next one in C).
    (re.compile(r"[vsgeb微薇威](?:(?<=[微薇威])|\s*[:：号])"), ((_ACCOUNT_WEAK, "wechat", True),)),
    (re.compile(_INTENT_WORDS), ((_INTENT, "contact", True),)),
)


# What every account above is masked as (its group 1) is five or more of these in a row.
_RUN = re.compile(r"[a-z\d_\-]{5}")


def _keyed(cp: str, since: int = 0) -> list[tuple[int, int, str]]:
    """`since`: where the new line starts in `cp` (what ends before it is not this message's to
    mask): an account ending in it has its last five characters from `since - 4` on — a chat
    line of Chinese and short numbers has none, and no pattern below needs to run."""
    if not _RUN.search(cp, max(since - 4, 0)):
        return []
    found = []
    for needs, patterns in _KEYED:
        if not needs.search(cp):
            continue
        for pattern, kind, strict in patterns:
            for m in pattern.finditer(cp):
                if kind == "qq" or _account_ok(m.group(1), strict):
                    found.append((m.start(1), m.end(1), kind))
    return found


# --- home addresses -----------------------------------------------------------------------
_ADDRESS = [  # (pattern, what it cannot match without)
    (re.compile(r"[\u4e00-\u9fa5]{1,12}(?:路|街|大街|大道|胡同|巷|弄|里)\d+(?:号|弄)"), re.compile(r"[路街道同巷弄里]\d")),
    (re.compile(r"\d+(?:号楼|栋|幢|座)\d+(?:单元|室|号|层)(?:\d+(?:室|号))?"), re.compile(r"[楼栋幢座]\d")),
    (re.compile(r"\d+单元\d+(?:室|号)?"), re.compile(r"单元\d")),
    (re.compile(r"[\u4e00-\u9fa5]{2,8}(?:小区|花园|家园|公寓|新村|苑)\d+(?:号楼|栋|幢|号|期)"), re.compile(r"[区园寓村苑]\d")),
]
_ADDRESS_KEY = re.compile(r"[路街道同巷弄里楼栋幢座元区园寓村苑]\d")  # each pattern's own key above: one search for all four


def _addresses(cp: str) -> list[tuple[int, int, str]]:
    if not _ADDRESS_KEY.search(cp):
        return []
    return [(m.start(), m.end(), "address") for p, needs in _ADDRESS if needs.search(cp) for m in p.finditer(cp)]


@dataclass(frozen=True)
class Screened:
    text: str
    found: tuple[str, ...]  # kinds of contact details masked

    @property
    def flagged(self) -> bool:
        return bool(self.found)


# The last character of anything masked (a span ends with a digit, a letter of an account or
# an e-mail's domain, or the last character of an address): a text without one of these in
# its skeleton has nothing to mask, alone or completing what the sender typed before.
_SPAN_END = re.compile(r"[\da-z号弄室层元楼栋幢期]")


def screen(text: str, recent: Sequence[str] = ()) -> Screened:
    """Cost: ~15 µs of CPU for a chat line read with the sender's last three lines (it was ~58;
    `python -m loadtest.masking`, 2-core machine): each line is folded once, and a pattern runs
    only past a cheap search for something it cannot match without.

    Mask the contact details in `text`. `recent`: the sender's previous messages in this
    conversation, oldest first; a detail that only appears when they are read together is
    masked in `text` (the part of it that this message carries)."""
    return _screen(_line(text), [_line(r) for r in recent])


def _screen(line: _Line, recent: Sequence[_Line]) -> Screened:
    """One pass over the sender's last lines and this one, read together: the skeletons joined
    by "\n" (folding is per character, so that is the skeleton of the joined text), the compact
    forms end to end (the "\n" is a separator, and what `_DROP` takes depends on a character's
    neighbours only, which a "\n" on either side makes the same as a text's own edge). What is
    found there counts if it ends in this line; its ends are then read on this line's own maps
    (a part before this line masks from its start)."""
    text, sk, cp = line
    if not _SPAN_END.search(sk):
        return Screened(text, ())
    sk_all, cp_all = "\n".join([r[1] for r in recent] + [sk]), "".join([r[2] for r in recent] + [cp])
    sk_from, cp_from = len(sk_all) - len(sk), len(cp_all) - len(cp)  # where this line starts in them
    emails = [(m.start(), m.end(), "email") for m in _EMAIL.finditer(sk_all)] if _HAS_AT.search(sk_all) else []
    on_sk = [(a - sk_from, b - sk_from, kind) for a, b, kind in _phones(sk_all, sk_from) + emails if b > sk_from]
    on_cp = [(a - cp_from, b - cp_from, kind) for a, b, kind in _keyed(cp_all, cp_from) + _addresses(cp_all) if b > cp_from]
    if not on_sk and not on_cp:
        return Screened(text, ())
    # Something reaches into this line (rare): where its ends came from, on this line's maps.
    sk_map = _skeleton(text)
    cp_map = _compact(sk_map)
    spans = [(m.where[a] if a >= 0 else 0, m.where[b - 1] + 1, kind) for m, found in ((sk_map, on_sk), (cp_map, on_cp)) for a, b, kind in found]
    spans.sort()
    merged: list[list[int]] = []
    for a, b, _ in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out += [text[pos:a], MASK]
        pos = b
    out.append(text[pos:])
    return Screened("".join(out), tuple(dict.fromkeys(kind for *_, kind in spans)))


class Recent:
    """The last few messages of each sender in each conversation (bounded, least recently used
    first out), kept folded so that each message is folded once, not once per window it is
    part of — as tuples of strings (`_line`), which the collector stops walking. In memory: a
    socket's messages arrive at one instance; after a reconnect to another instance the window
    starts empty, which only loosens the check for a moment."""

    def __init__(self, per_key: int = 3, keys: int = 20_000) -> None:
        self.per_key, self.keys = per_key, keys
        self._lines: OrderedDict[Hashable, tuple[_Line, ...]] = OrderedDict()

    def get(self, key: Hashable) -> list[str]:
        return [line[0] for line in self._lines.get(key, ())]

    def add(self, key: Hashable, text: str, line: _Line | None = None) -> None:
        kept = text[-200:]
        if line is None or len(kept) != len(text):
            line = _line(kept)
        self._lines[key] = (*self._lines.pop(key, ()), line)[-self.per_key :]
        while len(self._lines) > self.keys:
            self._lines.popitem(last=False)

    def screen(self, key: Hashable, text: str) -> Screened:
        """screen() across this sender's last messages, then remember this one."""
        line = _line(text)
        clean = _screen(line, self._lines.get(key, ()))
        self.add(key, text, line)
        return clean
