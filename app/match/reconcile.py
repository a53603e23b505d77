"""No request is stranded: the database's open requests and the matching pool are compared at
start-up and every `match_reconcile_s`, on every instance.

Filing commits the request and then hands it to the pool; a crash or a Redis failure between
the two leaves a request open that matching never heard of. Other gaps: a claim in the pool
whose database write never happened, a cancel stored in the database that never reached the
pool. A discrepancy is acted on only when it is seen twice `SETTLE_S` apart (a filing or an
accept in flight is not a discrepancy), and by one instance (a short claim in Redis):
a request still young enough is re-submitted (keeping its place: same arrival time), an older
one is expired with the student told, exactly like the reaper does.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.kit.clock import ts
from app.kit.db import rowcount
from app.models import HelpRequest, RequestStatus, User, request_transition
from matching import Event, RequestState

from .service import request_spec, session_for_request

log = logging.getLogger(__name__)
SETTLE_S = 10.0
OPEN = (RequestState.WAITING, RequestState.RINGING)


async def reconcile(app: Any) -> dict[str, int]:
    matcher, settings = app.state.matcher, app.state.settings
    now = app.state.clock.now()
    suspects: dict[int, float] = app.state.__dict__.setdefault("reconcile_suspects", {})
    counts = {"resubmitted": 0, "expired": 0, "released": 0, "closed_in_pool": 0}
    async with app.state.sessionmaker() as db:
        open_reqs = (
            (await db.execute(select(HelpRequest).where(HelpRequest.status == RequestStatus.OPEN).order_by(HelpRequest.id).limit(5000)))
            .scalars()
            .all()
        )
        closed = (
            (
                await db.execute(
                    select(HelpRequest.id).where(
                        HelpRequest.status.in_((RequestStatus.CANCELLED, RequestStatus.EXPIRED)),
                        HelpRequest.closed_at >= ts(now) - timedelta(seconds=settings.match_max_wait_s * 2),
                    )
                )
            )
            .scalars()
            .all()
        )
        seen: set[int] = set()
        # One pipelined read per thousand requests, not a round trip each: this runs every
        # `match_reconcile_s` on every instance, beside the evening's matching.
        states = await matcher.pool.request_states([req.id for req in open_reqs])
        for req in open_reqs:
            if states.get(req.id) in OPEN:
                continue
            st = await matcher.pool.request(req.id)
            if st is not None and st.state in OPEN:
                continue
            seen.add(req.id)
            first = suspects.setdefault(req.id, now)
            if now - first < SETTLE_S or not await app.state.presence.claim_once(f"reconcile:{req.id}", 60, now):
                continue
            suspects.pop(req.id, None)
            if st is not None and st.state == RequestState.MATCHED and st.tutor is not None:
                if await session_for_request(db, req.id) is not None:
                    continue  # the accept's commit landed meanwhile
                await matcher.release(req.id, st.tutor)  # a claim whose record was never written
                counts["released"] += 1
            if now - req.created_at.timestamp() < settings.match_max_wait_s and (st is None or st.state != RequestState.EXPIRED):
                student = await db.get(User, req.student_id)
                if student is not None:
                    await matcher.submit(await request_spec(db, student, req))
                    counts["resubmitted"] += 1
                    continue
            done = await db.execute(request_transition(req.id, RequestStatus.EXPIRED, close_reason="no_tutor_in_time", closed_at=ts(now)))
            await db.commit()
            if rowcount(done) == 1:
                counts["expired"] += 1
                await matcher.sink.publish(Event(req.student_id, "request_expired", {"request_id": req.id, "can_ask_question": True}))
        for gone in set(suspects) - seen:
            suspects.pop(gone, None)
    states = await matcher.pool.request_states(list(closed))
    for rid in closed:
        if states.get(rid) in OPEN and await matcher.cancel(rid):
            counts["closed_in_pool"] += 1  # cancelled in the database, the pool never heard
    if any(counts.values()):
        log.warning("reconciled matching with the database: %s", counts)
    return counts
