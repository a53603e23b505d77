"""run_eager: a coroutine runs in the caller's step; one that has to wait finishes in a task
without holding the caller up (signaling/ws.py delivers events this way)."""
import asyncio

from signaling.eager import run_eager


async def test_a_coroutine_that_never_waits_has_finished_when_run_eager_returns() -> None:
    done: list[str] = []

    async def write() -> None:
        done.append("written")

    run_eager(write())
    assert done == ["written"]


async def test_a_coroutine_that_waits_returns_control_at_once_and_finishes_with_what_it_waited_for() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[str] = loop.create_future()
    failing: asyncio.Future[str] = loop.create_future()
    seen: list[str] = []

    async def write(f: asyncio.Future[str]) -> None:
        seen.append("started")
        try:
            seen.append(await f)
            await asyncio.sleep(0)  # a bare yield on the way
            seen.append("after")
        except ValueError as exc:
            seen.append(f"error: {exc}")

    run_eager(write(gate))
    run_eager(write(failing))
    assert seen == ["started", "started"]  # both wait; the caller goes on
    for _ in range(3):
        await asyncio.sleep(0)  # the tasks finishing them are waiting now, before the futures are done
    assert seen == ["started", "started"]
    gate.set_result("drained")
    failing.set_exception(ValueError("gone"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["started", "started", "drained", "error: gone", "after"]


async def test_what_an_eager_coroutine_raises_is_logged_not_raised_to_the_caller(caplog) -> None:  # type: ignore[no-untyped-def]
    async def broken() -> None:
        raise RuntimeError("boom")

    run_eager(broken())
    assert "eager coroutine failed" in caplog.text
