"""Several real instances of the service (uvicorn processes) sharing one PostgreSQL database and
one Redis, for the failover drill and the multi-instance tests; and a TCP proxy that can cut an
instance off from a dependency.

Every listening socket is bound by this process on 127.0.0.1 port 0 and handed to uvicorn
(`--fd`), so no port is ever guessed or fixed.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


class Instance:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.env, self.log_dir = name, env, log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.log_path = log_dir / f"{name}.log"
        self.starts = 0

    async def start(self, timeout: float = 60.0) -> "Instance":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(512)
        port = sock.getsockname()[1]
        self.starts += 1
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--fd", str(sock.fileno()), "--ws", "websockets-sansio",
             "--log-level", "info", "--timeout-graceful-shutdown", "3"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),))
        sock.close()  # the child holds it now; when it dies, connections are refused
        log.close()
        self.base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as c:
            deadline = asyncio.get_running_loop().time() + timeout
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get("/healthz")).status_code == 200:
                        return self
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{self.name} did not start within {timeout} s; see {self.log_path}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        """kill -9: no clean-up runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 15)
            except asyncio.TimeoutError:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Proxy:
    """127.0.0.1:<free port> → target. `cut()` drops every connection and refuses new ones (the
    dependency looks down to whoever goes through it); `mend()` lets them through again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.open = True
        self.server: asyncio.AbstractServer | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> "Proxy":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    def cut(self) -> None:
        self.open = False
        for w in list(self.writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self.writers.clear()

    def mend(self) -> None:
        self.open = True

    async def stop(self) -> None:
        self.cut()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)


def instance_env(database_url: str, redis_url: str, prefix: str, secret: str, **extra: Any) -> dict[str, str]:
    """What every instance of one deployment shares; `extra` are further TUTORING_ settings."""
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "TUTORING_REDIS_PREFIX": prefix,
           "TUTORING_JWT_SECRET": secret, "TUTORING_SEED_DEMO": "false", "TUTORING_SERVICE_WINDOW": "always",
           "TUTORING_TUNE_GC": "false"}
    env.update({f"TUTORING_{k.upper()}": str(v) for k, v in extra.items()})
    return env
