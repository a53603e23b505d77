"""A class outlives the instance that holds its media room: kill -9 of the owner, and another
instance takes the room over; the participants connect their media again and the class goes on
(the tutor heard, the floor holder heard by the tutor, the board reaching every student), and a
student who never comes back leaves after the grace. Its own
pair of instances (the kill ends the module's use of A)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from ..classes.conftest import class_body
from ..classes.peers import ClassPeer, until


async def test_kill_9_of_the_room_s_instance_and_the_class_goes_on_on_the_other(cluster, people):
    f = cluster.factory
    org = await f.org()
    tutor_user = await f.tutor(org, subjects=("math",))
    near, far = await f.user("student", org, school=1), await f.user("student", org, school=2)
    gone = await f.user("student", org, school=1)
    tutor = await (await people(cluster.a, tutor_user)).connect()
    starts = datetime.fromtimestamp(time.time() + 120, timezone.utc).isoformat()
    r = await tutor.http.post("/api/classes", json={**class_body, "starts_at": starts})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    s_near = await (await people(cluster.a, near)).connect()  # on the instance that will die
    s_far = await (await people(cluster.b, far)).connect()
    s_gone = await (await people(cluster.a, gone)).connect()  # on A too, and never comes back
    for s in (s_near, s_far, s_gone):
        assert (await s.http.post(f"/api/classes/{cid}/enrolment")).status_code == 200
    await tutor.send(type="class_join", class_id=cid)
    assert (await tutor.wait_for(lambda x: x.get("type") == "class_state"))["state"] == "live"
    for s in (s_near, s_far, s_gone):
        await s.send(type="class_join", class_id=cid)
        await s.wait_for(lambda x: x.get("type") == "class_state")
    peers = [ClassPeer(tutor, cid, tone=440), ClassPeer(s_near, cid), ClassPeer(s_far, cid, tone=660)]
    try:
        for p in peers:
            await p.connect()  # the tutor's offer reached A first: A holds the room
        await until(lambda: peers[2].loud > 25)
        await tutor.send(type="class_floor", class_id=cid, student_id=far.id)
        await until(lambda: peers[0].loud > 25)  # the tutor hears the floor holder through A

        cluster.a.kill()
        for p in peers:
            await p.close()
        # The tutor's and the near student's pages reconnect their websockets to B (a resume).
        await tutor.connect(base=cluster.b.base, resume=True)
        await s_near.connect(base=cluster.b.base, resume=True)
        for s in (tutor, s_near, s_far):  # B found A dead, took the room over and says so
            await s.event("class_media_moved", class_id=cid, timeout=20)
        peers = [ClassPeer(tutor, cid, tone=440), ClassPeer(s_near, cid), ClassPeer(s_far, cid, tone=660)]
        for p in peers:
            await p.connect()
        await until(lambda: peers[1].loud > 25 and peers[2].loud > 25)  # the class hears the tutor again
        await until(lambda: peers[0].loud > 25)  # and the tutor the floor holder: the floor came from the records
        await tutor.send(type="class_stroke", class_id=cid, id="after", points=[[1, 1], [50, 50]])
        for s in (s_near, s_far):
            assert (await s.event("class_stroke", class_id=cid))["id"] == "after"
        # The student who never came back leaves once their socket has lapsed everywhere and the grace passed.
        assert (await tutor.event("class_left", class_id=cid, timeout=40))["user_id"] == gone.id
        await s_near.send(type="class_join", class_id=cid, ref="again")
        state = await s_near.wait_for(lambda x: x.get("type") == "class_state" and x.get("ref") == "again")
        assert state["floor"] == far.id and {p["id"] for p in state["participants"]} == {near.id, far.id}
    finally:
        for p in peers:
            await p.close()
