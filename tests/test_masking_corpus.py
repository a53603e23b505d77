"""Contact masking against the corpus (issue 15, finding 3): every contact case masked, every
ordinary school text untouched; the text keeps its own punctuation; numbers split over several
messages are caught."""
from __future__ import annotations

from app.kit.safety import MASK, Recent, screen

from .masking_corpus import CONTACTS, ORDINARY, figures


def test_the_corpus_is_large_enough_to_mean_something():
    assert len(CONTACTS) >= 150 and len(ORDINARY) >= 150


def test_every_contact_case_is_masked_and_every_school_text_passes():
    got = figures()
    assert got["missed"] == [] and got["touched"] == []


def test_masking_keeps_the_texts_own_punctuation_and_width():
    s = screen("老师，我的电话是１３８００１３８０００！（晚上打）")
    assert s.text == f"老师，我的电话是{MASK}！（晚上打）" and "phone" in s.found
    assert screen("x＝３，ｙ＝４。").text == "x＝３，ｙ＝４。"


def test_a_number_split_over_several_messages_is_masked_where_it_completes():
    recent = Recent()
    said = [recent.screen(("session", 1), t) for t in ["我的号", "138", "0013", "8000"]]
    assert not said[1].flagged
    assert said[-1].flagged and "8000" not in said[-1].text
    # Another sender's messages are another window.
    assert not recent.screen(("session", 2), "8000").flagged
    r = Recent()
    r.screen("k", "我的微信")
    assert r.screen("k", "lily_2010_bj").text == MASK
    # Ordinary numbers one after another stay.
    r = Recent()
    assert [r.screen("k", t).text for t in ["第13题", "答案是 15", "x = 138"]] == ["第13题", "答案是 15", "x = 138"]


async def test_help_request_text_and_tutor_display_names_are_masked(client, factory):  # type: ignore[no-untyped-def]
    from .test_tutor_review import application

    org = await factory.org()
    student = await factory.sign_in(await factory.user("student", org))
    r = await client.post("/api/help-requests", headers=student,
                          json={"subject": "math", "text": "这道题不会，加我薇 / 微 信 lily_2010_bj 细说"})
    assert r.status_code == 201, r.text
    assert "lily" not in r.json()["text"] and MASK in r.json()["text"]
    r = await client.post("/api/tutors/applications", json=application(
        org.schools[0].code, real_name="王老师 扣扣 12345678", bio="电话 138 0013 8000，欢迎提问。"))
    assert r.status_code == 201, r.text
    assert r.json()["real_name"] == f"王老师 扣扣 {MASK}" and r.json()["bio"] == f"电话 {MASK}，欢迎提问。"


def test_the_window_kept_folded_masks_exactly_as_screening_the_lines_again():
    """Recent keeps each line folded; the result must be what screen() gives with the raw lines."""
    import random

    lines = CONTACTS[:60] + ORDINARY[:60] + ["我的号", "138", "0013", "8000", "微", "信 kid2010bj", "朝阳路", "12号"]
    rng = random.Random(13)
    recent = Recent()
    raw: dict[int, list[str]] = {}
    for _ in range(400):
        key, text = rng.randint(0, 3), rng.choice(lines)
        text = text if isinstance(text, str) else str(text[0])
        expected = screen(text, raw.get(key, [])[-3:])
        assert recent.screen(key, text) == expected
        raw.setdefault(key, []).append(text[-200:])
