"""The Redis pool (production): state shared by every instance, each race one Lua script.

A request lives in Redis (not in the memory of the instance that received it), so it survives
that instance's restart; deadlines sit in sorted sets that any live instance reaps.
"""

from __future__ import annotations

import zlib
from typing import Any, cast

from redis.asyncio import Redis

from . import redis_lua as lua
from .pool import Pool
from .redis_line import ScriptLine
from .types import ClaimResult, RequestSpec, RequestState, RequestStatus, TutorCard, TutorState, TutorStatus, Withdrawal


def _text(value: bytes | str) -> str:
    """The app's client decodes replies (decode_responses=True); a raw client gives bytes."""
    return value if isinstance(value, str) else value.decode()


class RedisPool(Pool):
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.r = redis
        self.p = prefix + "m:"
        # The scripts travel on a pipelined connection of their own (redis_line.py): a fifth of
        # the client CPU per call of redis-py's pool. Other commands use the client's pool.
        self._line = ScriptLine.for_client(redis)
        # Tutor cards change only when a tutor goes on duty again; keep the parsed ones by version.
        self._cards: dict[int, tuple[str, TutorCard]] = {}
        self._scripts = {
            name: redis.register_script(getattr(lua, name))
            for name in (
                "PUT_TUTOR",
                "REMOVE_TUTOR",
                "HEARTBEAT",
                "END_SESSION",
                "DROP_STALE",
                "AVAILABLE",
                "ADD_REQUEST",
                "OFFER",
                "OFFER_FIRST",
                "CLAIM",
                "WITHDRAW",
                "CLOSE",
                "RELEASE",
                "POSITION",
                "WAITING",
                "FREE_TUTOR_AND_WAITING",
            )
        }

    async def _run(self, name: str, *args: str | int | float) -> Any:
        """Any: a Lua script's reply is whatever the script returns (lists, numbers, strings)."""
        script = self._scripts[name]
        if self._line is not None:
            return await self._line.evalsha(script.sha, script.script, (self.p, *args))
        return await script(args=[self.p, *args])

    async def aclose(self) -> None:
        if self._line is not None:
            await self._line.aclose()

    @staticmethod
    def _ints(values: Any) -> list[int]:
        return [int(v) for v in values]

    # --- tutors ---------------------------------------------------------------------------
    async def put_tutor(self, card: TutorCard, now: float, served: int = 0) -> None:
        raw = card.to_json()
        await self._run("PUT_TUTOR", card.id, raw, " ".join(card.index_keys()), now, zlib.crc32(raw.encode()), served)

    async def remove_tutor(self, tutor_id: int, now: float) -> list[int] | None:
        res = await self._run("REMOVE_TUTOR", tutor_id, now)
        return None if res[0] == "in_session" else self._ints(res[1:])

    async def heartbeat(self, tutor_id: int, now: float) -> bool:
        return bool(await self._run("HEARTBEAT", tutor_id, now))

    async def tutor(self, tutor_id: int) -> TutorStatus | None:
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(f"{self.p}t:{tutor_id}")
            pipe.smembers(f"{self.p}to:{tutor_id}")
            h, offers = await pipe.execute()
        if not h:
            return None
        cached = self._cards.get(tutor_id)
        if cached is None or cached[0] != h.get("cv"):
            cached = self._cards[tutor_id] = (h.get("cv"), TutorCard.from_json(h["card"]))
        return TutorStatus(
            cached[1],
            TutorState(h["state"]),
            float(h["since"]),
            float(h["seen"]),
            int(h["served"]),
            sorted(self._ints(offers)),
            int(h["sreq"]) if h.get("sreq") else None,
        )

    async def available(self, key: str, limit: int) -> list[TutorStatus]:
        return await self._statuses(await self._run("AVAILABLE", key, limit))

    async def _statuses(self, rows: list[str]) -> list[TutorStatus]:
        """AVAILABLE's rows ('tid cv since served seen', cv the card's version) as statuses; a
        card is fetched (and parsed) only when this instance has not seen that version yet."""
        cards = self._cards
        split = [_text(row).split(" ") for row in rows]
        missing = [(int(tid), cv) for tid, cv, *_ in split if (c := cards.get(int(tid))) is None or c[0] != cv]
        if missing:
            async with self.r.pipeline(transaction=False) as pipe:
                for tid, _ in missing:
                    pipe.hget(f"{self.p}t:{tid}", "card")
                raws = await pipe.execute()
            for (tid, cv), raw in zip(missing, raws):
                if raw is not None:
                    cards[tid] = (cv, TutorCard.from_json(raw))
        available = TutorState.AVAILABLE
        return [
            TutorStatus(card[1], available, float(since), float(seen), int(served), [], None)
            for tid, _, since, served, seen in split
            if (card := cards.get(int(tid))) is not None
        ]

    async def on_duty_count(self, key: str) -> int:
        return int(await self.r.scard(f"{self.p}duty:{key}"))

    async def end_session(self, tutor_id: int, now: float) -> bool:
        return bool(await self._run("END_SESSION", tutor_id, now, 0))

    async def end_session_and_waiting(self, tutor_id: int, now: float, limit: int) -> tuple[bool, TutorStatus | None, list[RequestStatus]]:
        flat: list = await self._run("END_SESSION", tutor_id, now, limit)
        if not flat:
            return False, None, []
        return (True, *await self._serving(tutor_id, flat[1:]))

    async def stale_tutors(self, before: float, limit: int) -> list[int]:
        return self._ints(await self.r.zrangebyscore(f"{self.p}presence", "-inf", f"({before}", start=0, num=limit))

    async def drop_stale(self, tutor_id: int, before: float) -> list[int] | None:
        res = await self._run("DROP_STALE", tutor_id, before, before)
        return None if res[0] == "no" else self._ints(res[1:])

    # --- requests -------------------------------------------------------------------------
    async def add_request(self, spec: RequestSpec, expires_at: float, now: float) -> None:
        await self._run("ADD_REQUEST", spec.id, spec.to_json(), spec.queue_key, spec.created_at, expires_at, spec.subject, int(now // 60), 0)

    async def add_request_for_candidates(self, spec: RequestSpec, expires_at: float, now: float, limit: int) -> list[TutorStatus]:
        flat = await self._run(
            "ADD_REQUEST", spec.id, spec.to_json(), spec.queue_key, spec.created_at, expires_at, spec.subject, int(now // 60), limit
        )
        return await self._statuses(flat)

    async def request(self, request_id: int) -> RequestStatus | None:
        async with self.r.pipeline(transaction=False) as pipe:
            pipe.hgetall(f"{self.p}r:{request_id}")
            pipe.smembers(f"{self.p}ro:{request_id}")
            pipe.smembers(f"{self.p}rt:{request_id}")
            h, offers, tried = await pipe.execute()
        if not h:
            return None
        return RequestStatus(
            RequestSpec.from_json(h["spec"]),
            RequestState(h["state"]),
            sorted(self._ints(offers)),
            sorted(self._ints(tried)),
            int(h["tutor"]) if h.get("tutor") else None,
        )

    async def request_states(self, request_ids: list[int]) -> dict[int, RequestState]:
        out: dict[int, RequestState] = {}
        for i in range(0, len(request_ids), 1000):
            chunk = request_ids[i : i + 1000]
            async with self.r.pipeline(transaction=False) as pipe:
                for rid in chunk:
                    pipe.hget(f"{self.p}r:{rid}", "state")
                states = await pipe.execute()
            out |= {rid: RequestState(_text(state)) for rid, state in zip(chunk, states) if state is not None}
        return out

    async def queue_position(self, request_id: int) -> int | None:
        pos = await self._run("POSITION", request_id)
        return int(pos) if pos else None

    async def waiting(self, keys: list[str], limit: int) -> list[RequestStatus]:
        return self._waiting_rows(await self._run("WAITING", limit, *keys))

    def _waiting_rows(self, flat: list[str]) -> list[RequestStatus]:
        return [
            RequestStatus(RequestSpec.from_json(spec), RequestState(state), [], self._ints(tried.split()), None)
            for _, spec, state, tried in (flat[i : i + 4] for i in range(0, len(flat), 4))
        ]

    async def free_tutor_and_waiting(self, tutor_id: int, limit: int) -> tuple[TutorStatus | None, list[RequestStatus]]:
        return await self._serving(tutor_id, await self._run("FREE_TUTOR_AND_WAITING", tutor_id, limit))

    async def _serving(self, tutor_id: int, flat: list[str]) -> tuple[TutorStatus | None, list[RequestStatus]]:
        """FREE_TUTOR_AND_WAITING's answer: [card version, since, seen, served, WAITING's rows...]."""
        if not flat:
            return None, []
        cv, since, seen, served = flat[:4]
        cached = self._cards.get(tutor_id)
        if cached is None or cached[0] != cv:
            raw = await self.r.hget(f"{self.p}t:{tutor_id}", "card")
            if raw is None:  # went off duty meanwhile
                return None, []
            cached = self._cards[tutor_id] = (cv, TutorCard.from_json(_text(raw)))
        status = TutorStatus(cached[1], TutorState.AVAILABLE, float(since), float(seen), int(served), [], None)
        return status, self._waiting_rows(flat[4:])

    async def offer(self, request_id: int, tutor_id: int, now: float, deadline: float, chosen: bool) -> str:
        return str(await self._run("OFFER", request_id, tutor_id, now, deadline, "1" if chosen else "0"))

    async def offer_first(self, request_id: int, tutor_ids: list[int], now: float, deadline: float, want: int) -> tuple[bool, list[int]]:
        if not tutor_ids:
            return False, []
        res: list = await self._run("OFFER_FIRST", request_id, now, deadline, want, " ".join(map(str, tutor_ids)))
        return bool(int(res[0])), self._ints(res[1:])

    async def claim(self, request_id: int, tutor_id: int, now: float) -> ClaimResult:
        res: list = await self._run("CLAIM", request_id, tutor_id, now, int(now // 60))
        n = int(res[1])
        return ClaimResult(str(res[0]), self._ints(res[2 : 2 + n]), self._ints(res[2 + n :]))

    async def withdraw(self, request_id: int, tutor_id: int, now: float) -> Withdrawal:
        res: list = await self._run("WITHDRAW", request_id, tutor_id, now)
        if not int(res[0]):
            return Withdrawal(False)
        return Withdrawal(True, RequestState(res[1]) if res[1] else None, bool(int(res[2])))

    async def close(self, request_id: int, state: RequestState, now: float) -> list[int] | None:
        res: list = await self._run("CLOSE", request_id, state.value, now)
        return None if res[0] == "none" else self._ints(res[1:])

    async def release(self, request_id: int, tutor_id: int, now: float) -> None:
        await self._run("RELEASE", request_id, tutor_id, now)

    async def due_offers(self, now: float, limit: int) -> list[tuple[int, int]]:
        members = await self.r.zrangebyscore(f"{self.p}od", "-inf", now, start=0, num=limit)
        # Without withscores the reply is the members alone (the stubs type every variant).
        return [(int(a), int(b)) for a, b in (_text(m).split(":") for m in cast("list[bytes | str]", members))]

    async def due_requests(self, now: float, limit: int) -> list[int]:
        return self._ints(await self.r.zrangebyscore(f"{self.p}rd", "-inf", now, start=0, num=limit))

    # --- rates: per-minute counters (written by ADD_REQUEST and CLAIM), kept an hour ----------
    async def rate(self, kind: str, subject: str, now: float, window_s: int) -> float:
        minutes = range(int((now - window_s) // 60) + 1, int(now // 60) + 1)
        values = await self.r.mget([f"{self.p}rate:{kind}:{subject}:{m}" for m in minutes])
        return sum(int(v) for v in values if v) / window_s
