"""Minors' safety: personal contact details (phone numbers, WeChat/QQ ids, e-mail, home
addresses) never reach the other side of a chat or a Q&A post. They are masked, and the text is
flagged so that admins can review it."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MASK = "***"
_SEP = r"[\s\-－—.·]?"
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")),
    ("wechat", re.compile(r"(?i)(微信|威信|薇信|v信|vx|wx|weixin|wechat)\s*(号|id)?\s*[:：是为]?\s*([A-Za-z][\w\-]{5,19}|\d{5,11})")),
    ("qq", re.compile(r"(?i)(qq|扣扣|企鹅)\s*(号|号码)?\s*[:：是为]?\s*\d{5,11}")),
    ("phone", re.compile(r"(?<!\d)(\+?86" + _SEP + r")?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)")),
    ("phone", re.compile(r"(?<!\d)0\d{2,3}" + _SEP + r"\d{7,8}(?!\d)")),
    ("address", re.compile(r"[\u4e00-\u9fa5]{1,12}(路|街|大道|胡同|巷)\d+号")),
    ("address", re.compile(r"(\d+|[一二三四五六七八九十]+)(号楼|栋|单元|号院)(\s*\d+\s*(单元|室|号))?")),
]


@dataclass(frozen=True)
class Screened:
    text: str
    found: tuple[str, ...]  # kinds of contact details masked

    @property
    def flagged(self) -> bool:
        return bool(self.found)


def screen(text: str) -> Screened:
    # Full-width digits and letters (１３８…, ＱＱ) are folded first, so they cannot slip through.
    normal = unicodedata.normalize("NFKC", text)
    found: list[str] = []
    for kind, pattern in PATTERNS:
        normal, n = pattern.subn(MASK, normal)
        if n:
            found.append(kind)
    if not found:
        return Screened(text, ())
    return Screened(normal, tuple(dict.fromkeys(found)))
