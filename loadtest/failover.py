"""The failover drill: live pairs across two instances exchanging chat; `kill -9` of one instance
mid-traffic; its clients reconnect to the other (resuming from their last event id); the killed
instance is restarted; then every chat that was acknowledged is checked at both participants.

    python -m loadtest.failover [--quick] [--pairs N]

Figures: pairs, events_lost (acknowledged chats missing at a participant), events_duplicated
(an event id or a chat seen twice by one client), sessions_wrongly_ended (ended before the
drill hung up), requests_stranded (still open at the end), recovery_s (kill → every client of
the killed instance resumed on the other). A floor for recovery is measured in the same run: the
time for the surviving instance's clients to reconnect once without any failure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from sqlalchemy import func, select

from app.kit.db import make_engine, make_sessionmaker
from app.kit.security import hash_password
from app.models import City, District, HelpRequest, School, SchoolClass, TutoringSession, TutorProfile, TutorSubject, User, utcnow
from app.prestart import migrate
from app.seed.reference import seed_reference

from .cluster import Instance, instance_env
from .common import report

PG_ADMIN = os.environ.get("TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "drill-password"


class Peer:
    """One user's client: HTTP plus a websocket that resumes after a drop."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.token = ""
        self.inst: Instance | None = None
        self.ws: Any = None
        self.last = 0
        self.ids: list[int] = []
        self.chats: list[str] = []
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.acks: dict[str, asyncio.Future[None]] = {}
        self.acked: list[str] = []
        self.down_at: float | None = None
        self.resumed_at: float | None = None
        self.reader: asyncio.Task[None] | None = None
        self.up = asyncio.Event()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def sign_in(self, http: httpx.AsyncClient) -> None:
        r = await http.post("/api/auth/sign-in", json={"username": self.username, "password": PASSWORD})
        r.raise_for_status()
        self.token = r.json()["access_token"]

    async def connect(self, inst: Instance, resume: bool) -> None:
        self.inst = inst
        async with httpx.AsyncClient(base_url=inst.base, timeout=30) as http:
            ticket = (await http.post("/api/live/ticket", headers=self.headers())).json()["ticket"]
        url = inst.base.replace("http", "ws", 1) + f"/ws?ticket={ticket}" + (f"&last_event_id={self.last}" if resume else "")
        self.ws = await websockets.connect(url, max_size=2**22, open_timeout=30)
        hello = json.loads(await self.ws.recv())
        assert hello["type"] == "hello", hello
        self.reader = asyncio.create_task(self._read(self.ws))
        self.up.set()

    async def connect_retrying(self, inst: Instance, resume: bool, attempts: int = 20) -> None:
        """The machine is shared: under a burst an accept can time out; try again, backing off."""
        for attempt in range(attempts):
            try:
                await self.connect(inst, resume)
                return
            except Exception:  # noqa: BLE001
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))

    async def _read(self, ws: Any) -> None:
        try:
            async for raw in ws:
                f = json.loads(raw)
                if f.get("type") == "event":
                    self.ids.append(f["id"])
                    self.last = f["id"]
                    if f["kind"] == "chat":
                        self.chats.append(f["data"]["text"])
                    await self.events.put(f)
                    if f.get("ref") in self.acks:  # a chat's answer: the sender's own copy, carrying the ref
                        self.acks.pop(f["ref"]).set_result(None)
                elif f.get("type") == "ack" and f.get("ref") in self.acks:
                    self.acks.pop(f["ref"]).set_result(None)
        except websockets.ConnectionClosed:
            pass
        self.up.clear()

    async def event(self, kind: str, timeout: float = 60, **match: Any) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                f = await self.events.get()
                if f["kind"] == kind and all(f["data"].get(k) == v for k, v in match.items()):
                    return f["data"]

    async def send(self, msg: dict[str, Any], timeout: float = 10) -> bool:
        ref = secrets.token_hex(4)
        fut = asyncio.get_running_loop().create_future()
        self.acks[ref] = fut
        try:
            await self.ws.send(json.dumps({**msg, "ref": ref}, ensure_ascii=False))
            await asyncio.wait_for(fut, timeout)
            return True
        except (websockets.ConnectionClosed, TimeoutError, asyncio.TimeoutError):
            self.acks.pop(ref, None)
            return False


async def make_people(url: str, pairs: int) -> tuple[list[str], list[str]]:
    engine = make_engine(url)
    h = hash_password(PASSWORD)
    tag = secrets.token_hex(3)
    async with make_sessionmaker(engine)() as db:
        await seed_reference(db)
        city = City(name=f"演练市{tag}")
        db.add(city)
        await db.flush()
        district = District(city_id=city.id, code=f"DR{tag}", name="演练区")
        db.add(district)
        await db.flush()
        school = School(district_id=district.id, code=f"SR{tag}", name="演练学校", stage="complete")
        db.add(school)
        await db.flush()
        klass = SchoolClass(school_id=school.id, grade=8, name="1班")
        db.add(klass)
        await db.flush()
        scope = dict(city_id=city.id, district_id=district.id, school_id=school.id)
        students = [User(username=f"ds{tag}_{i}", password_hash=h, role="student", real_name="学生", class_id=klass.id,
                         grade=8, **scope) for i in range(pairs)]
        tutors = [User(username=f"dt{tag}_{i}", password_hash=h, role="tutor", real_name="老师", **scope)
                  for i in range(pairs)]
        db.add_all(students + tutors)
        await db.flush()
        for t in tutors:
            db.add(TutorProfile(user_id=t.id, title="intermediate", teaches_junior=True, teaches_senior=False,
                                status="approved", approved_at=utcnow()))
            db.add(TutorSubject(user_id=t.id, subject_code="physics"))
        await db.commit()
    await engine.dispose()
    return [s.username for s in students], [t.username for t in tutors]


async def bounded(n: int, coros: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def drill(pairs: int, before_kill_s: float, after_s: float, chat_every_s: float) -> dict[str, Any]:
    db_name = f"tutoring_drill_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{db_name}"')
    host = PG_ADMIN.split("@", 1)[1].rsplit("/", 1)[0]
    user = PG_ADMIN.split("//", 1)[1].split("@", 1)[0]
    url = f"postgresql+asyncpg://{user}@{host}/{db_name}"
    prefix = f"drill:{db_name}:"
    logs = Path(tempfile.mkdtemp(prefix="failover-drill-"))
    instances: list[Instance] = []
    try:
        await asyncio.to_thread(migrate, url)
        students, tutors = await make_people(url, pairs)
        env = instance_env(url.replace("+asyncpg", ""), REDIS_URL, prefix, secrets.token_urlsafe(32),
                           data_dir=str(logs), match_ring_seconds=30)
        a, b = Instance("a", env, logs), Instance("b", env, logs)
        instances = [a, b]
        await asyncio.gather(a.start(), b.start())
        print(f"instances up: a={a.base} b={b.base}; logs in {logs}")

        sp = [Peer(u) for u in students]
        tp = [Peer(u) for u in tutors]
        async with httpx.AsyncClient(base_url=a.base, timeout=60) as ha, httpx.AsyncClient(base_url=b.base, timeout=60) as hb:
            await bounded(8, [p.sign_in(ha if i % 2 else hb) for i, p in enumerate(sp + tp)])
            # Students alternate instances; tutors alternate in pairs of pairs, so that every mix
            # (both on A, both on B, split either way) occurs.
            await bounded(16, [p.connect_retrying(a if i % 2 == 0 else b, False) for i, p in enumerate(sp)]
                          + [p.connect_retrying(a if (i // 2) % 2 == 0 else b, False) for i, p in enumerate(tp)])
            for i, t in enumerate(tp):
                r = await (ha if t.inst is a else hb).post("/api/duty", headers=t.headers())
                r.raise_for_status()
            print(f"{pairs} students and {pairs} tutors connected; tutors on duty")

            sessions: dict[int, tuple[Peer, Peer]] = {}

            async def tutor_accepts(t: Peer) -> None:
                while True:
                    offer = await t.event("offer", timeout=120)
                    http = ha if t.inst is a else hb
                    r = await http.post(f"/api/offers/{offer['request_id']}/accept", headers=t.headers())
                    if r.status_code == 200:
                        return

            async def student_asks(s: Peer) -> tuple[int, int]:
                http = ha if s.inst is a else hb
                r = await http.post("/api/help-requests", headers=s.headers(), json={"subject": "physics", "text": "电路"})
                r.raise_for_status()
                m = await s.event("matched", timeout=120)
                return m["session_id"], m["tutor_id"]

            acceptors = [asyncio.create_task(tutor_accepts(t)) for t in tp]
            matched = await bounded(16, [student_asks(s) for s in sp])
            await asyncio.gather(*acceptors)
            async with make_sessionmaker(make_engine(url))() as db:
                names = dict((await db.execute(select(User.id, User.username).where(User.role == "tutor"))).all())
            by_name = {t.username: t for t in tp}
            for s, (sid, tid) in zip(sp, matched):
                sessions[sid] = (s, by_name[names[tid]])

            async def go_live(sid: int, s: Peer, t: Peer) -> None:
                await asyncio.gather(s.send({"type": "media", "session_id": sid, "state": "connected"}),
                                     t.send({"type": "media", "session_id": sid, "state": "connected"}))
                await s.event("session_live", session_id=sid)

            await bounded(32, [go_live(sid, s, t) for sid, (s, t) in sessions.items()])
            print(f"{len(sessions)} sessions live")

            stop = asyncio.Event()
            counter = iter(range(10**9))

            async def chatter(sid: int, p: Peer) -> None:
                await asyncio.sleep(chat_every_s * (next(counter) % 97) / 97)  # spread the senders
                while not stop.is_set():
                    if not p.up.is_set():  # down: the web app queues what is typed; the drill waits
                        await asyncio.sleep(0.05)
                        continue
                    text = f"{p.username}#{next(counter)}"
                    if await p.send({"type": "chat", "session_id": sid, "text": text}):
                        p.acked.append(text)
                    await asyncio.sleep(chat_every_s)

            # Floor: the surviving instance's clients reconnect once, no failure involved.
            survivors = [p for p in sp + tp if p.inst is b][:20]
            await asyncio.gather(*(p.ws.close() for p in survivors))
            await asyncio.gather(*(p.reader for p in survivors if p.reader))
            t0 = time.monotonic()
            await bounded(32, [p.connect_retrying(b, True) for p in survivors])
            floor_s = time.monotonic() - t0

            talkers = [asyncio.create_task(chatter(sid, p)) for sid, pair in sessions.items() for p in pair]
            await asyncio.sleep(before_kill_s)
            victims = [p for p in sp + tp if p.inst is a]
            killed_at = time.monotonic()
            a.kill()
            print(f"killed instance a (-9) with {len(victims)} clients on it")

            async def recover(p: Peer) -> None:
                await asyncio.wait_for(p.reader, 30)  # the drop is noticed
                p.down_at = time.monotonic()
                await p.connect_retrying(b, True)  # b is busy with the reconnect storm
                p.resumed_at = time.monotonic()

            await bounded(64, [recover(p) for p in victims])
            recovery_s = max((p.resumed_at or killed_at) - killed_at for p in victims) if victims else 0.0
            print(f"every client of a resumed on b after {recovery_s:.2f} s; restarting a")
            await a.start()
            await asyncio.sleep(after_s)
            stop.set()
            await asyncio.gather(*talkers)
            await asyncio.sleep(3)  # the last events reach their sockets

            lost = dup = 0
            for sid, (s, t) in sessions.items():
                said = s.acked + t.acked
                for p in (s, t):
                    got = set(p.chats)
                    lost += sum(1 for x in said if x not in got)
                    dup += (len(p.ids) - len(set(p.ids))) + (len(p.chats) - len(set(p.chats)))
            async with make_sessionmaker(make_engine(url))() as db:
                ended = (await db.execute(select(func.count()).select_from(TutoringSession).where(
                    TutoringSession.id.in_(list(sessions)), TutoringSession.state == "ended"))).scalar_one()
                stranded = (await db.execute(select(func.count()).select_from(HelpRequest).where(
                    HelpRequest.status == "open"))).scalar_one()
            for sid, (s, _) in sessions.items():
                await s.send({"type": "hangup", "session_id": sid})
            chats = sum(len(p.acked) for p in sp + tp)
            for p in sp + tp:
                if p.ws is not None:
                    await p.ws.close()
        return {"pairs": len(sessions), "events_lost": lost, "events_duplicated": dup,
                "sessions_wrongly_ended": int(ended), "requests_stranded": int(stranded),
                "recovery_s": round(recovery_s, 2), "reconnect_floor_s": round(floor_s, 2),
                "clients_moved": len(victims), "chats_acked": chats}
    finally:
        for inst in instances:
            await inst.stop()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        await admin.close()
        from redis.asyncio import Redis

        r = Redis.from_url(REDIS_URL)
        keys = [k async for k in r.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await r.delete(*keys)
        await r.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 pairs, shorter phases")
    ap.add_argument("--pairs", type=int, default=None)
    args = ap.parse_args()
    pairs = args.pairs or (20 if args.quick else 200)
    figures = asyncio.run(drill(pairs, before_kill_s=3 if args.quick else 8, after_s=3 if args.quick else 6,
                                chat_every_s=1.0 if args.quick else 2.0))
    print(f"pairs {figures['pairs']}: lost {figures['events_lost']}, duplicated {figures['events_duplicated']}, "
          f"wrongly ended {figures['sessions_wrongly_ended']}, stranded {figures['requests_stranded']}, "
          f"recovery {figures['recovery_s']} s (floor: {figures['reconnect_floor_s']} s to reconnect 20 clients "
          f"without a failure), {figures['chats_acked']} chats acknowledged")
    report("failover", figures)


if __name__ == "__main__":
    main()
