"""One class, many listeners: how many can one media server carry?

The media backend (`--media`, repeatable: `aiortc`, `janus`) is driven by a process of its own
reached over a line-per-message TCP socket on 127.0.0.1 (create the room, publish, subscribe: the
same calls app/classes/dispatch.py makes). The *media server* whose CPU time and memory are
measured, alone, from /proc: for aiortc that service process itself; for Janus the `janus`
process (started for this run by scripts/ensure-janus.sh, stopped at the end) — the service
process only signals then, and its CPU is reported beside. One aiortc tutor sends silence with a
click every second; N aiortc listeners, spread over worker processes, count RTP packets received
and lost and time each click's arrival. Each step's 8 s window opens once every listener is
connected (the class in session, not N connections being set up). N rises until a step is not
held (loss over 1 %, delay p99 over 150 ms, a listener not connected, or fewer than 95 % of the
packets in time). The floor is the media
server's CPU with the tutor alone, measured in the same run; CPU per listener is what N listeners
add above it, reported also split into user and system time (the system time includes, on this one
machine, the kernel's loopback delivery of every packet into its listener's socket, done inside the
server's sendmsg; the headline stays the total). The clients' CPU (the listeners' workers and the
tutor's process) is reported too: on one machine they run out long before a media server.

The delay is mouth to ear without the listener's own playout buffer: from the moment the tutor's
track hands the click's frame to its sender to the moment the click's RTP packet reaches a
listener's event loop (one machine, one wall clock). An arrival is matched to the latest click
sent before it; the period (1 s) is far above any delay seen, so a late click is not taken for
the next one, `clicks_heard_pct` (arrivals per click sent, per listener) shows each click was
heard once, and a click not heard in the window counts as a full period late in the percentiles.

Where the delay is: `tutor_to_service_p99_ms` (the click's packet reaching the service) and
`in_service_p50/p99_ms` (from there to being on every listener's socket) are clocked inside
the service (aiortc backend only; None for Janus). `service_cpu_wait_ms_per_s` (the media server:
the aiortc service process, or the `janus` process) and `clients_cpu_wait_ms_per_s` are the time
their threads were runnable but waiting for a CPU (/proc/PID/task/*/schedstat): on a shared
2-core machine that, not the server's code, is where a long delay comes from. The listener
processes run at `--client-nice 10` (in a class they run on the students' own devices).
`--listen count` (the default): once connected (ICE and DTLS by aiortc), a listener reads its
SRTP off its socket, decrypts it with its own SRTP session, and counts and times the packets
without aiortc's receive path or a decoder (STUN and SRTCP still go to aiortc); `--listen decode`
(or `--decode`) plays each stream through aiortc's receiver and decoder, like a page.

    python -m loadtest.classroom --media janus --media aiortc   # both, side by side; N = 25, 50, 100 …, 8 s each
    python -m loadtest.classroom --quick                        # aiortc only, N = 5, 20, 3 s each
    python -m loadtest.classroom --steps 25,100 --listen decode --client-nice 0
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import struct
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Manager
from typing import Any

from .common import percentile, report

CLICK_BYTES = 40  # Opus payload bytes: silence is ~3, the click's frame well over 100
CLICK_EVERY = 50  # frames (1 s): the longest delay that could be told apart from the next click
REFRACTORY_S = 0.3  # a click's tail can come in more than one large packet: one arrival per click


# --- the service side ---------------------------------------------------------------------------
class Rising:
    """Times a click's packet on one stream: large after small, once per click."""

    def __init__(self, into: list[float]) -> None:
        self.into, self.last, self.at = into, 0, 0.0

    def see(self, size: int) -> None:
        now = time.time()
        if size > CLICK_BYTES and self.last <= CLICK_BYTES and now - self.at > REFRACTORY_S:
            self.at = now
            self.into.append(now)
        self.last = size


def clock_stages() -> dict[str, list[float]]:
    """aiortc backend only: when each click's packet reaches the service (from the tutor) and
    when the room has put it on every listener's socket (after the last one's sendto). What lies
    between the latter and a listener's arrival is the kernel and the listener's own loop."""
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    from classroom import aiortc_room

    stages: dict[str, list[float]] = {"in": [], "out": []}
    handle = RTCRtpReceiver._handle_rtp_packet

    async def inbound(self: Any, packet: Any, arrival_time_ms: int) -> None:
        if not hasattr(self, "_click"):
            self._click = Rising(stages["in"])
        self._click.see(len(packet.payload))
        await handle(self, packet, arrival_time_ms=arrival_time_ms)

    def fanned_out(self: Any, packet: tuple[bytes, int] | None) -> None:
        if packet is not None:
            if not hasattr(self, "_click"):
                self._click = Rising(stages["out"])
            self._click.see(len(packet[0]))

    RTCRtpReceiver._handle_rtp_packet = inbound  # type: ignore[method-assign]
    aiortc_room.Room.fanned_out = fanned_out  # type: ignore[method-assign]
    return stages


async def serve(media: str) -> None:
    from classroom import make_backend

    options = {"url": os.environ["TUTORING_JANUS_URL"], "api_secret": os.environ["TUTORING_JANUS_API_SECRET"],
               "room_prefix": f"loadtest-{os.getpid()}:", "timeout_s": 30.0} if media == "janus" else {}
    backend = make_backend(media, **options)
    stages = clock_stages() if media == "aiortc" else {"in": [], "out": []}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            req = json.loads(line)
            try:
                if req["op"] == "create":
                    await backend.create_room(req["room"])
                    out: dict[str, Any] = {"ok": True}
                elif req["op"] == "close":
                    await backend.close_room(req["room"])
                    out = {"ok": True}
                elif req["op"] == "stages":
                    out = {k: [t for t in v if req["t0"] - 1 <= t < req["t1"]] for k, v in stages.items()}
                elif req["op"] in ("publish", "subscribe"):
                    out = {"sdp": await getattr(backend, req["op"])(req["room"], req["user"], req["sdp"])}
                else:
                    out = {"stats": {k: v for k, v in backend.stats(req["room"]).items() if k in ("participants", "ticks")}}
            except Exception as exc:  # noqa: BLE001 - report it to the driver
                out = {"error": repr(exc)}
            writer.write((json.dumps(out) + "\n").encode())
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


class Service:
    def __init__(self, port: int) -> None:
        self.port = port

    async def call(self, **req: Any) -> dict[str, Any]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write((json.dumps(req) + "\n").encode())
        await writer.drain()
        out = json.loads(await reader.readline())
        writer.close()
        if "error" in out:
            raise RuntimeError(out["error"])
        return out  # type: ignore[no-any-return]


def cpu_s(pid: int) -> float:
    return sum(cpu_user_sys_s(pid))


def cpu_user_sys_s(pid: int) -> tuple[float, float]:
    """The process's user and system CPU time. The system time includes, on this one machine, the
    loopback delivery of each packet to the listener's socket (the kernel does it in the sender's
    sendmsg); across a network that half would be the receivers' machines' work."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def waiting_s(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (/proc/PID/task/*/schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread that ended in between
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[1])
    return total / 1e9


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the peers ----------------------------------------------------------------------------------
async def connect(service: Service, room: int, user: int, pc: Any, op: str) -> None:
    from aiortc import RTCSessionDescription

    await pc.setLocalDescription(await pc.createOffer())
    answer = await service.call(op=op, room=room, user=user, sdp=pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))


def listeners(port: int, room: int, first_user: int, n: int, sync: Any, decode: bool = False) -> dict[str, Any]:
    return asyncio.run(_listeners(Service(port), room, first_user, n, sync, decode))


class _Seen:
    """What a light listener got in the window: packets, and the audio they span by their RTP
    timestamps (960 per 20 ms frame). A packet lost on the way or never sent (a sender may drop a
    slow listener's packets before numbering them) leaves a hole in that span; a listener that is
    merely slow to read does not."""

    def __init__(self) -> None:
        self.got = 0
        self.at: float | None = None
        self.first: int | None = None
        self.last = 0

    def add(self, ts: int) -> None:
        self.got += 1
        if self.first is None:
            self.at = time.time()
            self.first = self.last = ts
            return
        step = (ts - (self.last & 0xFFFFFFFF)) & 0xFFFFFFFF
        if step < 0x80000000:  # later audio (modulo 2^32); an older packet only counts
            self.last += step

    def counts(self) -> tuple[int, int]:
        if self.first is None:
            return 0, 0
        frames = (self.last - self.first) // SAMPLES_PER_FRAME + 1
        return self.got, max(0, frames - self.got)


SAMPLES_PER_FRAME = 960


def _light(pc: Any, see: Any) -> bool:
    """Once the connection is up, read its SRTP straight off the socket: decrypt the packet with
    the connection's own SRTP session (libsrtp, so a packet that is not authentic is not
    counted), take its RTP timestamp and payload size, and time the click — what aiortc's
    receive path does before its jitter buffer, without its per-packet Python (a queue, a task
    switch, parsing into objects, routing). STUN (ICE consent) and SRTCP still go to aiortc, so
    the connection stays alive both ways. False while the connection is not up yet."""
    import pylibsrtp

    transceivers = pc.getTransceivers()
    if not transceivers:
        return False
    dtls = transceivers[0].receiver.transport
    pair = dtls.transport._connection._nominated.get(1)
    srtp = dtls._rx_srtp
    if pair is None or srtp is None or dtls.state != "connected":
        return False
    protocol = pair.protocol
    aiortc_path = protocol.datagram_received
    unpack = RTP_TS.unpack_from

    def datagram_received(data: bytes, addr: Any) -> None:
        if 127 < data[0] < 192 and not 191 < data[1] < 224:  # SRTP (SRTCP's types are 192-223)
            try:
                data = srtp.unprotect(data)
            except pylibsrtp.Error:
                return
            first = data[0]
            header = 12 + 4 * (first & 0x0F)
            if first & 0x10:  # header extensions: 4 bytes, then their length in words
                header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
            see(len(data) - header, unpack(data, 4)[0])
        else:
            aiortc_path(data, addr)

    protocol.datagram_received = datagram_received
    return True


RTP_TS = struct.Struct("!I")


async def _listeners(service: Service, room: int, first_user: int, n: int, sync: tuple[Any, Any],
                     decode: bool = False) -> dict[str, Any]:
    """N listeners in this process. By default (`count`) each reads its SRTP off its socket once
    connected (_light): decrypted, counted and timed as it arrives, not decoded (what the server
    sends is the same; aiortc's receive path and a decoder per listener only spend the clients'
    CPU, which on this machine runs out first); `decode` plays each stream through aiortc's
    receiver and decoder, like a page, and times the packets as they reach the receiver.

    `sync`: two queues shared with the driver. This process says it is ready once its listeners
    are connected (or 60 s have passed), and gets the measuring window back, which opens when
    every process is ready: the figures are the class in session, not N connections being set up."""
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import MediaStreamError

    arrivals: list[float] = []
    window = [float("inf"), float("inf")]  # [t0, t1): set by the driver once everyone is connected
    pcs = []
    seen: list[_Seen] = []

    async def consume(track: Any) -> None:
        try:
            while True:
                await track.recv()  # decoded and dropped: a listener's CPU, like a page playing it
        except MediaStreamError:
            pass

    def clicks(mine: _Seen) -> Any:
        """Time each click where it reaches the listener: its RTP packet (a click encodes to a
        large packet, silence to a few bytes). The listeners' own decoding is not the service's
        delay, and on these shared cores it would dominate the figure."""
        last = [0, 0.0]

        def see(size: int, timestamp: int) -> None:
            now = time.time()
            inside = window[0] <= now < window[1]
            if size > CLICK_BYTES and last[0] <= CLICK_BYTES and now - last[1] > REFRACTORY_S:
                last[1] = now
                if inside:
                    arrivals.append(now)
            last[0] = size
            if inside:
                mine.add(timestamp)

        return see

    def clock_arrivals(pc: Any, see: Any) -> None:
        for receiver in pc.getReceivers():
            handle = receiver._handle_rtp_packet

            async def hooked(packet: Any, arrival_time_ms: int, handle: Any = handle) -> None:
                see(len(packet.payload), packet.timestamp)
                if decode:
                    await handle(packet, arrival_time_ms=arrival_time_ms)

            receiver._handle_rtp_packet = hooked

    sees = []
    for _ in range(n):
        pc = RTCPeerConnection()
        pc.addTransceiver("audio", direction="recvonly")
        if decode:
            pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
        seen.append(_Seen())
        sees.append(clicks(seen[-1]))
        clock_arrivals(pc, sees[-1])  # until _light takes over (count), or throughout (decode)
        pcs.append(pc)
    await asyncio.gather(*(connect(service, room, first_user + i, pc, "subscribe") for i, pc in enumerate(pcs)))
    answered = time.time()
    loop = asyncio.get_running_loop()
    waiting = list(range(n))
    while waiting and time.time() < answered + 60:
        if decode:
            waiting = [i for i in waiting if pcs[i].connectionState != "connected"]
        else:
            waiting = [i for i in waiting if not _light(pcs[i], sees[i])]
        await asyncio.sleep(0.05)
    ready, opened = sync
    await loop.run_in_executor(None, ready.put, n)
    window[:] = await loop.run_in_executor(None, opened.get)
    t1 = window[1]

    async def counts() -> tuple[int, int]:
        got = lost = 0
        for mine in seen:
            g, lo = mine.counts()
            got, lost = got + g, lost + lo
        return got, lost

    await asyncio.sleep(max(0.0, t1 - time.time()) + 0.3)  # packets in flight at t1 arrive
    g1, l1 = await counts()
    connected = sum(pc.connectionState == "connected" for pc in pcs)
    for pc in pcs:
        await pc.close()
    return {"received": g1, "lost": l1, "arrivals": arrivals, "connected": connected, "answered": answered,
            "first": [m.at for m in seen if m.at is not None]}


def tone_track(clicks: list[float]) -> Any:
    from aiortc.mediastreams import AudioStreamTrack
    from av import AudioFrame

    class Clicks(AudioStreamTrack):
        """Silence with a loud 20 ms square click every CLICK_EVERY frames; the send times are kept."""

        n = 0

        async def recv(self) -> AudioFrame:
            base = await super().recv()
            self.n += 1
            loud = self.n % CLICK_EVERY == 0
            frame = AudioFrame(format="s16", layout="mono", samples=base.samples)
            one = (12000).to_bytes(2, "little", signed=True) * 24 + (-12000).to_bytes(2, "little", signed=True) * 24
            frame.planes[0].update((one * (base.samples // 48 + 1))[: base.samples * 2] if loud else bytes(base.samples * 2))
            frame.sample_rate, frame.pts, frame.time_base = base.sample_rate, base.pts, base.time_base
            if loud:
                clicks.append(time.time())
            return frame

    return Clicks()


def clients_cpu_s(pool: ProcessPoolExecutor) -> tuple[float, float]:
    """CPU time and CPU wait of the listeners' worker processes and this (the tutor's) process."""
    pids = [*(getattr(pool, "_processes", {}) or {}), os.getpid()]
    return sum(cpu_s(p) for p in pids), sum(waiting_s(p) for p in pids)


async def step(service: Service, pid: int, pool: ProcessPoolExecutor, workers: int, room: int, n: int,
               seconds: float, service_pid: int | None = None, decode: bool = False,
               sync: tuple[Any, Any] | None = None) -> dict[str, Any]:
    from aiortc import RTCPeerConnection

    await service.call(op="create", room=room)
    clicks: list[float] = []
    tutor = RTCPeerConnection()
    tutor.addTrack(tone_track(clicks))
    await connect(service, room, 1, tutor, "publish")
    for _ in range(200):  # the tutor is connected before the listeners come
        if tutor.connectionState == "connected":
            break
        await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    share = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    jobs = [loop.run_in_executor(pool, listeners, service.port, room, 1000 + sum(share[:i]), k, sync, decode)
            for i, k in enumerate(share) if k]
    if jobs:  # the window opens once every listener process has its listeners connected
        assert sync is not None
        for _ in jobs:
            await loop.run_in_executor(None, sync[0].get)
    t0 = time.time() + 1.0
    t1 = t0 + seconds
    for _ in jobs:
        sync[1].put((t0, t1))  # type: ignore[index]
    await asyncio.sleep(max(0.0, t0 - time.time()))
    c0, w0, (k0, kw0), (u0, y0) = cpu_s(pid), waiting_s(pid), clients_cpu_s(pool), cpu_user_sys_s(pid)
    s0 = cpu_s(service_pid) if service_pid else 0.0
    await asyncio.sleep(max(0.0, t1 - time.time()))
    c1, w1, rss, (k1, kw1), (u1, y1) = cpu_s(pid), waiting_s(pid), rss_mb(pid), clients_cpu_s(pool), cpu_user_sys_s(pid)
    s1 = cpu_s(service_pid) if service_pid else 0.0
    results = [await j for j in jobs] if jobs else []
    await tutor.close()
    stages = await service.call(op="stages", t0=t0, t1=t1)
    await service.call(op="close", room=room)
    got = sum(r["received"] for r in results)
    lost = sum(r["lost"] for r in results)
    delays = []
    for r in results:
        for a in r["arrivals"]:
            sent = [c for c in clicks if c <= a]
            if sent:
                delays.append((a - sent[-1]) * 1000)
    # clicks whose arrival could fall in [t0, t1): sent in it, give or take a period
    sent_in = sum(1 for c in clicks if t0 <= c + 0.05 < t1)

    def after(times: list[float], earlier: list[float]) -> list[float]:
        out = []
        for t in times:
            before = [e for e in earlier if e <= t]
            if before:
                out.append((t - before[-1]) * 1000)
        return out

    def pct(xs: list[float], q: int) -> float | None:
        return round(percentile(xs, q), 1) if xs else None

    # a click not heard within the window counts as a full period late: a figure over the heard
    # clicks alone would flatter a run whose listeners fell behind
    heard = len(delays)
    delays += [CLICK_EVERY * 20.0] * max(0, n * sent_in - heard)
    to_service = after([t for t in stages["in"] if t0 <= t < t1], clicks)
    in_service = after([t for t in stages["out"] if t0 <= t < t1], stages["in"])
    firsts = [f for r in results for f in r["first"]]
    return {"listeners": n, "connected": sum(r["connected"] for r in results),
            # setup: the last answer came this long before the window opened, and the last
            # listener's first packet this long after it (a listener connected late hears less)
            "answered_before_window_s": round(t0 - max(r["answered"] for r in results), 2) if results else None,
            "first_packet_late_s_max": round(max(firsts) - t0, 2) if firsts else None,
            "cpu_ms_per_s": round((c1 - c0) * 1000 / seconds, 1), "rss_mb": round(rss, 1),
            "cpu_user_ms_per_s": round((u1 - u0) * 1000 / seconds, 1), "cpu_sys_ms_per_s": round((y1 - y0) * 1000 / seconds, 1),
            "service_cpu_wait_ms_per_s": round((w1 - w0) * 1000 / seconds, 1),
            "clients_cpu_ms_per_s": round((k1 - k0) * 1000 / seconds, 1),
            "clients_cpu_wait_ms_per_s": round((kw1 - kw0) * 1000 / seconds, 1),
            "tutor_to_service_p99_ms": pct(to_service, 99), "in_service_p50_ms": pct(in_service, 50),
            "in_service_p99_ms": pct(in_service, 99),
            "clicks_heard_pct": round(100 * heard / (n * sent_in), 1) if n and sent_in else None,
            **({"signaling_cpu_ms_per_s": round((s1 - s0) * 1000 / seconds, 1)} if service_pid else {}),
            # Lost on the way or never sent: holes in the audio each listener received (by RTP
            # timestamps), so a sender's silent drop counts and a listener slow to read does not.
            "loss_pct": round(100 * lost / (got + lost), 3) if got + lost else (0.0 if n == 0 else 100.0),
            "received_per_listener_s": round(got / n / seconds, 1) if n else 0.0,
            "delay_p50_ms": round(percentile(delays, 50), 1) if delays else None,
            "delay_p99_ms": round(percentile(delays, 99), 1) if delays else None}


DELAY_P99_MS = 150.0  # the target's delay: a class heard this late is not live


def held(row: dict[str, Any]) -> bool:
    """Every listener connected, loss ≤ 1 %, the click's delay p99 ≤ 150 ms (a click not heard
    counts as a full period late), and ≥ 95 % of the 50 packets a second arriving in time: a room
    whose clock is starved sends fewer frames without holes, and a listener that cannot keep up
    reads fewer — either way the class is not heard in real time."""
    return (row["loss_pct"] <= 1.0 and row["connected"] == row["listeners"] and row["received_per_listener_s"] >= 47.5
            and row["delay_p99_ms"] is not None and row["delay_p99_ms"] <= DELAY_P99_MS)


def load() -> float:
    return float(open("/proc/loadavg").read().split()[0])


async def sweep(media: str, steps: list[int], seconds: float, workers: int, decode: bool, nice: int) -> dict[str, Any]:
    """One backend: its floor, then N listeners rising until a step is not held (held())."""
    env = dict(os.environ)
    janus = None
    if media == "janus":
        import tempfile

        folder = tempfile.mkdtemp(prefix="loadtest-janus-")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        run = await asyncio.create_subprocess_exec(os.path.join(root, "scripts", "ensure-janus.sh"), folder,
                                                   stdout=asyncio.subprocess.PIPE)
        out, _ = await run.communicate()
        if run.returncode != 0:
            raise SystemExit("scripts/ensure-janus.sh could not start Janus")
        janus = dict(line.split("=", 1) for line in out.decode().split() if "=" in line)
        env.update(TUTORING_JANUS_URL=janus["TUTORING_JANUS_URL"], TUTORING_JANUS_API_SECRET=janus["TUTORING_JANUS_API_SECRET"])
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "loadtest.classroom", "--serve", "--media", media,
                                                stdout=asyncio.subprocess.PIPE, env=env)
    assert proc.stdout is not None
    service = Service(int((await proc.stdout.readline()).decode()))
    server_pid = int(janus["JANUS_PID"]) if janus else proc.pid  # whose CPU and memory are "the media server's"
    service_pid = proc.pid if janus else None
    rows = []
    try:
        with ProcessPoolExecutor(workers, initializer=os.nice, initargs=(nice,)) as pool, Manager() as manager:
            sync = (manager.Queue(), manager.Queue())
            floor = await step(service, server_pid, pool, workers, 1, 0, seconds, service_pid, decode, sync)
            print(f"[{media}] floor (tutor alone): {floor['cpu_ms_per_s']} ms CPU per s, {floor['rss_mb']} MB (load {load()})")
            for i, n in enumerate(steps):
                row = await step(service, server_pid, pool, workers, 2 + i, n, seconds, service_pid, decode, sync)
                row["cpu_ms_per_listener_s"] = round((row["cpu_ms_per_s"] - floor["cpu_ms_per_s"]) / n, 4)
                for part in ("user", "sys"):  # the total above is the figure; its split, for the kernel's share
                    row[f"cpu_{part}_ms_per_listener_s"] = round((row[f"cpu_{part}_ms_per_s"] - floor[f"cpu_{part}_ms_per_s"]) / n, 4)
                row["load"] = load()
                print(f"[{media}] " + json.dumps(row))
                rows.append(row)
                if not held(row):
                    break
    finally:
        proc.terminate()
        await proc.wait()
        if janus:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(janus["JANUS_PID"]), signal.SIGTERM)
    held_rows = [r for r in rows if held(r)]
    best = held_rows[-1] if held_rows else rows[0]
    per = best["cpu_ms_per_listener_s"]
    return {"media": media, "listeners_max": best["listeners"] if held_rows else 0,
            "cpu_ms_per_listener_s": per, "cpu_user_ms_per_listener_s": best.get("cpu_user_ms_per_listener_s"),
            "cpu_sys_ms_per_listener_s": best.get("cpu_sys_ms_per_listener_s"), "loss_pct_at_max": best["loss_pct"], "delay_p99_ms": best["delay_p99_ms"],
            "delay_p50_ms": best["delay_p50_ms"], "clicks_heard_pct_at_max": best["clicks_heard_pct"],
            "in_service_p99_ms_at_max": best["in_service_p99_ms"],
            "service_cpu_wait_ms_per_s_at_max": best["service_cpu_wait_ms_per_s"],
            "clients_cpu_wait_ms_per_s_at_max": best["clients_cpu_wait_ms_per_s"],
            "floor_cpu_ms_per_s": floor["cpu_ms_per_s"],
            "rss_mb_at_max": best["rss_mb"], "clients_cpu_ms_per_s_at_max": best["clients_cpu_ms_per_s"],
            "one_core_listeners_est": int((1000 - floor["cpu_ms_per_s"]) / per) if per > 0 else None,
            "stopped_by": "loss, delay, a listener not connected, or too few packets" if len(held_rows) < len(rows) else "last step",
            "steps": rows}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--media", action="append", help="a media backend to measure (classroom.make_backend); repeat for several")
    parser.add_argument("--workers", type=int, default=2, help="listener processes")
    parser.add_argument("--steps", help="listeners per step, comma-separated (default 25,50,100,150,200,300,400; 5,20 with --quick)")
    parser.add_argument("--listen", choices=("count", "decode"), default="count",
                        help="listeners only count and time RTP packets (default), or also decode them like a page "
                             "(costs the clients' CPU on these shared cores)")
    parser.add_argument("--decode", action="store_const", dest="listen", const="decode", help="the same as --listen decode")
    parser.add_argument("--client-nice", type=int, default=10,
                        help="niceness of the listener processes: on one machine they compete with the media server "
                             "for the same cores, in a real class they run on the students' devices (0: compete)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    media = args.media or ["aiortc"]
    if args.serve:
        await serve(media[0])
        return
    steps = [int(x) for x in args.steps.split(",")] if args.steps else [5, 20] if args.quick else [25, 50, 100, 150, 200, 300, 400]
    seconds = 3.0 if args.quick else 8.0
    decode = args.listen == "decode"
    results = {m: await sweep(m, steps, seconds, args.workers, decode, args.client_nice) for m in media}
    first = results[media[0]]
    figures = {k: v for k, v in first.items()}
    figures.update(quick=args.quick, backends={m: {k: v for k, v in r.items()} for m, r in results.items()},
                   media_measured=media, load_at_end=load(), listeners_decode=decode,
                   listen=args.listen, client_nice=args.client_nice)
    print(f"{'':34}" + "".join(f"{m:>14}" for m in media))
    for label, key in (("listeners held (loss <= 1 %)", "listeners_max"), ("media server CPU ms/listener-s", "cpu_ms_per_listener_s"),
                       ("  of which user", "cpu_user_ms_per_listener_s"), ("  of which system (kernel)", "cpu_sys_ms_per_listener_s"),
                       ("floor CPU ms/s (tutor alone)", "floor_cpu_ms_per_s"), ("RSS MB at max", "rss_mb_at_max"),
                       ("loss % at max", "loss_pct_at_max"), ("delay p50 ms", "delay_p50_ms"), ("delay p99 ms", "delay_p99_ms"),
                       ("clicks heard % at max", "clicks_heard_pct_at_max"), ("in service p99 ms at max", "in_service_p99_ms_at_max"),
                       ("server CPU wait ms/s at max", "service_cpu_wait_ms_per_s_at_max"),
                       ("clients' CPU ms/s at max", "clients_cpu_ms_per_s_at_max"),
                       ("clients' CPU wait ms/s at max", "clients_cpu_wait_ms_per_s_at_max"), ("one core ≈ listeners", "one_core_listeners_est")):
        print(f"{label:34}" + "".join(f"{str(results[m][key]):>14}" for m in media))
    if "janus" in results and "aiortc" in results:
        # The ratio at the same N: the largest N both held (the clients, not the servers, set it here).
        both = {r["listeners"]: r for r in results["janus"]["steps"] if held(r)}
        same = [r for r in results["aiortc"]["steps"] if r["listeners"] in both and held(r)]
        if same:
            n = same[-1]["listeners"]
            j, a = both[n]["cpu_ms_per_listener_s"], same[-1]["cpu_ms_per_listener_s"]
            figures.update(compared_at_listeners=n, janus_cpu_ms_per_listener_s=j, aiortc_cpu_ms_per_listener_s=a,
                           janus_to_aiortc_cpu_ratio=round(j / a, 4) if a > 0 else None,
                           target_met=bool(a > 0 and j <= a / 10 and both[n]["loss_pct"] <= 1.0))
            split = {f"{m}_cpu_{part}_ms_per_listener_s": r[f"cpu_{part}_ms_per_listener_s"]
                     for m, r in (("janus", both[n]), ("aiortc", same[-1])) for part in ("user", "sys")}
            figures.update(split)
            print(f"at N = {n}: Janus {j} vs aiortc {a} ms CPU per listener-second "
                  f"(ratio {figures['janus_to_aiortc_cpu_ratio']}; target ≤ 0.1: {'met' if figures['target_met'] else 'NOT met'}); "
                  f"user/system: Janus {split['janus_cpu_user_ms_per_listener_s']}/{split['janus_cpu_sys_ms_per_listener_s']}, "
                  f"aiortc {split['aiortc_cpu_user_ms_per_listener_s']}/{split['aiortc_cpu_sys_ms_per_listener_s']}")
    report("classroom", figures)


if __name__ == "__main__":
    asyncio.run(main())
