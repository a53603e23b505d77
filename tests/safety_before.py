"""FROZEN copy of app/kit/safety.py as it was before the masking speed-up (main at 2088e93), kept
only so that tests/test_masking_equivalence.py can check the faster code gives byte-identical
output. Do not edit or import it from the service; delete it with that test once nobody needs
the comparison.

Its original docstring follows.

Minors' safety: personal contact details (phone numbers, WeChat/QQ and other accounts,
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


def _joined(parts: Sequence[tuple[str, _Folded]], compact: bool = False) -> _Folded:
    """The skeleton of "\n".join(the texts), from each text's own skeleton (folding is per
    character, so this is exactly `_skeleton` of the joined text, without folding again); with
    `compact`, from each text's compact form, the compact form of the joined text (the "\n"
    is a separator, and what `_compact` keeps depends on a character's neighbours only, which a
    "\n" on either side makes the same as a text's own edge)."""
    texts, where, offset = [], [], 0
    for n, (text, sk) in enumerate(parts):
        if n and not compact:
            texts.append("\n")
            where.append(offset - 1)
        texts.append(sk.text)
        where.extend(range(offset, offset + len(text)) if isinstance(sk.where, range) else [w + offset for w in sk.where])
        offset += len(text) + 1
    return _Folded("".join(texts), where)


_SEP_CHAR = re.compile("[" + "".join(re.escape(c) for c in sorted(_SEPS)) + "]")


def _compact(sk: _Folded) -> _Folded:
    """The skeleton without separators; a space survives only between two letters (so that
    "wechat every day" stays three words while "微 / 信" and "q q 1 2 3" close up)."""
    t, w = sk.text, sk.where
    texts: list[str] = []
    where: list[int] = []
    pos = 0
    for m in _SEP_CHAR.finditer(t):  # a chat line has a few separators: a loop over them, not over characters
        i = m.start()
        if t[i] == " " and 0 < i < len(t) - 1 and t[i - 1].isascii() and t[i - 1].isalpha() and t[i + 1].isascii() and t[i + 1].isalpha():
            continue
        texts.append(t[pos:i])
        where.extend(w[pos:i])
        pos = i + 1
    if pos == 0:
        return sk
    texts.append(t[pos:])
    where.extend(w[pos:])
    return _Folded("".join(texts), where)


# --- phone and ID numbers: digit groups joined by separators -------------------------------
_GROUPS = re.compile(r"(?<![\d.])\d+(?:" + _SEP + r"{1,3}\d+)*")
_DIGIT = re.compile(r"\d")
_ID_NUMBER = re.compile(r"(?<!\d)\d{6}" + _SEP + r"?\d{8}" + _SEP + r"?\d{3}[\dx](?![\d])")


def _thousands(sizes: list[int], seps: list[str]) -> bool:
    """1,380,000,000 is a quantity, not a phone number."""
    return len(sizes) > 1 and sizes[0] <= 3 and all(n == 3 for n in sizes[1:]) and all(x == "," for x in seps)


def _phones(sk: _Folded) -> list[tuple[int, int, str]]:
    if len(_DIGIT.findall(sk.text)) < 10:  # every number below has ten (\d) digits or more
        return []
    found = [(m.start(), m.end(), "id_number") for m in _ID_NUMBER.finditer(sk.text)]
    for m in _GROUPS.finditer(sk.text):
        if len(_DIGIT.findall(m.group())) < 10:  # a phone has 11 digits, a landline 10-12: none here
            continue
        groups = [(g.start() + m.start(), g.end() + m.start()) for g in re.finditer(r"\d+", m.group())]
        sizes = [b - a for a, b in groups]
        seps = [sk.text[groups[k][1] : groups[k + 1][0]].strip() or " " for k in range(len(groups) - 1)]
        if _thousands(sizes, seps):
            continue
        for i in range(len(groups)):
            total, j = 0, i
            while j < len(groups) and total < 11:
                total += sizes[j]
                j += 1
            if total != 11:
                continue
            digits = "".join(sk.text[a:b] for a, b in groups[i:j])
            window = sizes[i:j]
            # Split numbers must still look like a phone number: the whole run, chunks of 3+
            # (138 0013 8000) or one digit at a time (1 3 8 0 …) — not a list like 1, 3, 5, …, 11, 13.
            shaped = i == 0 and j == len(groups) or all(n >= 3 for n in window) or all(n == 1 for n in window)
            if shaped and re.fullmatch(r"1[3-9]\d{9}|0\d{10}", digits):
                found.append((groups[i][0], groups[j - 1][1], "phone"))
        joined = "".join(sk.text[a:b] for a, b in groups)
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
_ACCOUNT = re.compile(
    r"(?<![a-z])(?:微信|威信|薇信|徽信|维信|胃信|喂信|v信|vx|wx|weixin|wechat|vchat|微x|薇x|"
    r"微博|抖音|快手|小红书|b站|telegram|instagram|discord|skype|whatsapp|snapchat|facebook)" + _FILL + _TOKEN
)
_ACCOUNT_WEAK = re.compile(r"(?:(?<![a-z])(?:v|ins|tg|line|fb)\s*(?:[:：]|号)|微|薇|威)" + _FILL + r"([a-z][a-z0-9_\-]{4,24})")
_INTENT = re.compile(
    r"(?<![a-z])(?:加我|加一下|加个好友|加好友|联系我|联系方式|找我|私聊|私我|私信|打给我|打我|"
    r"call me|text me|add me|我的号|号码|电话|手机|tel|phone|dial)(?:吧|哦|呀|啊)?" + _FILL + _TOKEN
)


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
_KEYED = (
    (_QQ, _HAS_Q, "qq", False),
    (_QQ_WEAK, _HAS_Q, "qq", False),
    (_QQ_AFTER, _HAS_Q, "qq", False),
    (_ACCOUNT, None, "wechat", False),
    (_ACCOUNT_WEAK, None, "wechat", True),
    (_INTENT, None, "contact", True),
)


def _keyed(cp: _Folded) -> list[tuple[int, int, str]]:
    found = []
    for pattern, needs, kind, strict in _KEYED:
        if needs is not None and not needs.search(cp.text):
            continue
        for m in pattern.finditer(cp.text):
            if kind == "qq" or _account_ok(m.group(1), strict):
                found.append((m.start(1), m.end(1), kind))
    return found


# --- home addresses -----------------------------------------------------------------------
_ADDRESS = [  # (pattern, what it cannot match without)
    (re.compile(r"[\u4e00-\u9fa5]{1,12}(?:路|街|大街|大道|胡同|巷|弄|里)\d+(?:号|弄)"), re.compile(r"[路街道同巷弄里]\d")),
    (re.compile(r"\d+(?:号楼|栋|幢|座)\d+(?:单元|室|号|层)(?:\d+(?:室|号))?"), None),
    (re.compile(r"\d+单元\d+(?:室|号)?"), None),
    (re.compile(r"[\u4e00-\u9fa5]{2,8}(?:小区|花园|家园|公寓|新村|苑)\d+(?:号楼|栋|幢|号|期)"), re.compile(r"[区园寓村苑]\d")),
]


def _addresses(cp: _Folded) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), "address") for p, needs in _ADDRESS if needs is None or needs.search(cp.text) for m in p.finditer(cp.text)]


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


def _spans(text: str, sk: _Folded | None = None, cp: _Folded | None = None) -> list[tuple[int, int, str]]:
    """Source spans [start, end) of the contact details in `text`, with their kind."""
    sk = sk or _skeleton(text)
    cp = cp or _compact(sk)
    out = []
    emails = [(m.start(), m.end(), "email") for m in _EMAIL.finditer(sk.text)] if _HAS_AT.search(sk.text) else []
    for a, b, kind in _phones(sk) + emails:
        out.append((sk.where[a], sk.where[b - 1] + 1, kind))
    for a, b, kind in _keyed(cp) + _addresses(cp):
        out.append((cp.where[a], cp.where[b - 1] + 1, kind))
    return out


def screen(text: str, recent: Sequence[str] = ()) -> Screened:
    """Cost: about 0.1-0.7 ms for a chat line (regular expressions over two folded copies; the
    upper figure measured with the 2-core machine fully loaded), paid once per message sent.

    Mask the contact details in `text`. `recent`: the sender's previous messages in this
    conversation, oldest first; a detail that only appears when they are read together is
    masked in `text` (the part of it that this message carries)."""
    return _screen(_Line.of(text), [_Line.of(r) for r in recent])


@dataclass(frozen=True)
class _Line:
    """A text with its skeleton and compact form, folded once."""

    text: str
    sk: _Folded
    cp: _Folded

    @staticmethod
    def of(text: str) -> _Line:
        sk = _skeleton(text)
        return _Line(text, sk, _compact(sk))


def _screen(line: _Line, recent: Sequence[_Line]) -> Screened:
    text = line.text
    if not _SPAN_END.search(line.sk.text):
        return Screened(text, ())
    if recent:  # one pass over the sender's last lines and this one; keep what reaches into this one
        offset = sum(len(r.text) + 1 for r in recent)
        lines = [*recent, line]
        spans = [
            (max(a - offset, 0), b - offset, kind)
            for a, b, kind in _spans("", _joined([(r.text, r.sk) for r in lines]), _joined([(r.text, r.cp) for r in lines], True))
            if b > offset
        ]
    else:
        spans = _spans(text, line.sk, line.cp)
    if not spans:
        return Screened(text, ())
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
    part of. In memory: a socket's messages arrive at one instance; after a reconnect to
    another instance the window starts empty, which only loosens the check for a moment."""

    def __init__(self, per_key: int = 3, keys: int = 20_000) -> None:
        self.per_key, self.keys = per_key, keys
        self._lines: OrderedDict[Hashable, list[_Line]] = OrderedDict()

    def get(self, key: Hashable) -> list[str]:
        return [line.text for line in self._lines.get(key, ())]

    def add(self, key: Hashable, text: str, line: _Line | None = None) -> None:
        lines = self._lines.pop(key, [])
        kept = text[-200:]
        if line is None or len(kept) != len(text):
            line = _Line.of(kept)
        lines = (lines + [line])[-self.per_key :]
        self._lines[key] = lines
        while len(self._lines) > self.keys:
            self._lines.popitem(last=False)

    def screen(self, key: Hashable, text: str) -> Screened:
        """screen() across this sender's last messages, then remember this one."""
        line = _Line.of(text)
        clean = _screen(line, self._lines.get(key, ()))
        self.add(key, text, line)
        return clean
