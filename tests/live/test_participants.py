"""Both participants read the question and every image shared in the session; nobody else."""
from ..images import png


async def test_the_tutor_reads_the_question_and_both_see_shared_images(matched, server, clients, factory):
    student, tutor, sid, *_ = matched
    outsider_org = await factory.org()
    outsider = await clients(server.base, await factory.tutor(outsider_org, subjects=("physics",)))
    rid = (await tutor.http.get(f"/api/sessions/{sid}")).json()["request_id"]

    r = await tutor.http.get(f"/api/help-requests/{rid}")
    assert r.status_code == 200 and r.json()["text"] == "串联电路的电流"
    assert (await outsider.http.get(f"/api/help-requests/{rid}")).status_code == 403

    for sender, receiver in ((student, tutor), (tutor, student)):
        image = (await sender.http.post("/api/images", files={"file": ("x.png", png(), "image/png")})).json()
        assert (await receiver.http.get(image["url"])).status_code == 403  # not shared yet
        await sender.send(type="image", session_id=sid, image_id=image["id"], ref="img")
        await receiver.event("image", session_id=sid, image_id=image["id"])
        got = await receiver.http.get(image["url"])
        assert got.status_code == 200 and got.content.startswith(b"\x89PNG")
        assert (await outsider.http.get(image["url"])).status_code == 403
