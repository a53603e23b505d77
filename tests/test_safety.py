import re

import pytest

from app.kit.safety import MASK, screen


@pytest.mark.parametrize("text, kind", [
    ("我的手机是13800138000", "phone"),
    ("打 138-0013-8000 找我", "phone"),
    ("电话 +86 139 1234 5678", "phone"),
    ("全角１３８００１３８０００也不行", "phone"),
    ("座机010-62751234", "phone"),
    ("加我微信 abc_12345", "wechat"),
    ("vx：zhangsan2010", "wechat"),
    ("我QQ号是 123456789", "qq"),
    ("邮箱 kid2010@example.com", "email"),
    ("我家在中关村大街27号", "address"),
    ("住3号楼2单元", "address"),
])
def test_contact_details_are_masked_and_flagged(text, kind):
    s = screen(text)
    assert s.flagged and kind in s.found
    assert MASK in s.text
    assert not re.search(r"\d{5,}", re.sub(r"[\s\-]", "", s.text))  # the number itself is gone


@pytest.mark.parametrize("text", [
    "x² + 5x + 6 = 0 的解是 -2 和 -3",
    "电功率 P = UI = 220V × 5A = 1100W",
    "第3题答案是 12345",
    "2026年11月25日",
])
def test_ordinary_tutoring_talk_passes_untouched(text):
    s = screen(text)
    assert not s.flagged and s.text == text
