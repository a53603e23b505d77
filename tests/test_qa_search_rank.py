"""The Q&A centre's search ranks its results, on both setups: a question holding the query's
words in its own text comes before questions that only have some of them there (the rest in an
answer), however much newer those are; among equals, newest first (app/kit/search.py)."""
from __future__ import annotations

from .test_qa import people

ANSWER = "先写出公式，再代入数值，注意单位。"  # every answered question's document then holds 公式 and 单位


async def test_a_question_is_found_first_by_its_own_common_words(client, factory, clock):  # type: ignore[no-untyped-def]
    org, student, tutor = await people(factory)
    s, t = await factory.sign_in(student), await factory.sign_in(tutor)

    async def ask(text: str, answer: str | None = None) -> int:
        r = await client.post("/api/qa/questions", headers=s, json={"subject": "physics", "text": text})
        assert r.status_code == 201, r.text
        if answer is not None:
            a = await client.post(f"/api/qa/questions/{r.json()['id']}/answers", headers=t, json={"text": answer})
            assert a.status_code == 201, a.text
        clock.advance(60)
        return int(r.json()["id"])

    wanted = await ask("电流的公式和单位总是记不住")  # the oldest, all three words its own
    two = await ask("电流的公式怎么推导", ANSWER)  # two in its text, 单位 only in the answer
    ones = [await ask(f"电流表第{n}题怎么读数", ANSWER) for n in range(6)]  # one in its text
    answer_only = await ask("滑轮组的绳子怎么画", "电流的公式和单位")  # none in its text
    missing = await ask("电流和电压的公式")  # no 单位 anywhere: not a match at all

    async def found(q: str, **extra: object) -> list[int]:
        r = await client.get("/api/qa/search", headers=t, params={"q": q, **extra})
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["results"]]

    everything = [wanted, two, *reversed(ones), answer_only]
    assert await found("公式 单位 电流") == everything
    assert missing not in everything
    # The page shows the best first: newest first, it would hold only the newer questions.
    assert await found("公式 单位 电流", limit=5) == everything[:5]
    # The order of the words and their boundaries do not matter; the rank is per term.
    assert await found("电流 单位 公式") == everything
    assert await found("电流的公式和单位", limit=1) == [wanted]
    # Equals (only some terms found in every document) go newest first.
    assert await found("读数") == list(reversed(ones))
    # Letters rank whatever their case; an admin's search (built with the admin's scope) ranks alike.
    latin = await ask("OHM定律里电流怎么算")
    newer = await ask("电流怎么算", "用ohm定律")
    assert await found("ohm 电流") == [latin, newer]
    admin = await factory.sign_in(await factory.user("city_admin", org))
    r = await client.get("/api/qa/search", headers=admin, params={"q": "公式 单位 电流", "limit": 5})
    assert [x["id"] for x in r.json()["results"]] == everything[:5]
