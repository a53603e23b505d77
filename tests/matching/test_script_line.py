"""The matching scripts' own pipelined connection to Redis fails the way the client's pool does
(ConnectionError when Redis goes, TimeoutError when it stops answering; the next call
reconnects), and never hands one caller another's reply."""
from __future__ import annotations

import asyncio
import hashlib
import secrets

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from loadtest.cluster import Proxy
from matching.redis_line import ScriptLine

from .. import infra

ECHO = "return ARGV[1]"


def _target() -> tuple[str, int]:
    host, port = infra.REDIS_URL.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    return host, int(port)


async def test_replies_reach_their_callers_even_when_some_give_up():
    line = ScriptLine(*_target())
    sha = await line.call("SCRIPT", "LOAD", ECHO)
    try:
        calls = [asyncio.create_task(line.evalsha(sha, ECHO, (f"a{i}",))) for i in range(200)]
        for task in calls[::7]:
            task.cancel()  # callers that stop waiting: their replies still arrive and are dropped
        results = await asyncio.gather(*calls, return_exceptions=True)
        for i, result in enumerate(results):
            assert isinstance(result, asyncio.CancelledError) if i % 7 == 0 else result == f"a{i}"
        assert await line.evalsha(sha, ECHO, ("después",)) == "después"
    finally:
        await line.aclose()


async def test_a_script_redis_does_not_know_yet_is_loaded_and_run():
    line = ScriptLine(*_target())
    script = f"-- {secrets.token_hex(8)}\nreturn tonumber(ARGV[1]) + 1"  # a digest no one loaded
    sha = hashlib.sha1(script.encode()).hexdigest()
    try:
        assert await line.evalsha(sha, script, (41,)) == 42
    finally:
        await line.aclose()


async def test_redis_gone_is_a_connection_error_and_back_is_served_again():
    proxy = await Proxy(*_target()).start()
    line = ScriptLine("127.0.0.1", proxy.port)
    sha = await line.call("SCRIPT", "LOAD", ECHO)
    try:
        assert await line.evalsha(sha, ECHO, ("before",)) == "before"
        proxy.cut()
        with pytest.raises(RedisConnectionError):
            await line.evalsha(sha, ECHO, ("during",))
        proxy.mend()
        assert await line.evalsha(sha, ECHO, ("after",)) == "after"
    finally:
        await line.aclose()
        await proxy.stop()


async def test_redis_not_answering_is_a_timeout_and_the_next_call_reconnects():
    silent: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)
        while await reader.read(65536):
            pass  # reads every command, answers none

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    line = ScriptLine("127.0.0.1", server.sockets[0].getsockname()[1], timeout=0.3)
    try:
        results = await asyncio.gather(line.call("PING"), line.call("PING"), return_exceptions=True)
        assert all(isinstance(r, RedisTimeoutError) for r in results)
        with pytest.raises(RedisTimeoutError):
            await line.call("PING")
        assert len(silent) == 2  # the line was dropped after the timeout and opened again
    finally:
        await line.aclose()
        server.close()
