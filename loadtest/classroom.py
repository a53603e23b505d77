"""One class, many listeners: how many can one service process carry?

The media backend (`--media`, today `aiortc`) runs in a process of its own — the "service" whose
CPU time and memory are measured, alone — reached over a line-per-message TCP socket on
127.0.0.1 (create the room, publish, subscribe: the same calls app/classes/dispatch.py makes).
One aiortc tutor sends silence with a click every second; N aiortc listeners, spread over
worker processes, count RTP packets received and lost and time each click's arrival. N rises
until loss passes 1 %. The floor is the service's CPU with the tutor alone, measured in the
same run; CPU per listener is what N listeners add above it.

The delay is mouth to ear without the listener's own playout buffer: from the moment the
tutor's track hands the click's frame to its sender (a microphone's capture time) to the
moment the click's RTP packet reaches a listener's event loop. Both ends read the same wall
clock (one machine). An arrival is matched to the latest click sent before it; a delay longer
than the click period would alias to a short one, so the period (1 s) is far above any delay
seen, and `clicks_heard_pct` (arrivals per click sent, per listener) shows that each click
was heard once; a click not heard in the window counts as a full period late in the
percentiles.

Where the delay is: `tutor_to_service_p99_ms` (the click's packet reaching the service) and
`in_service_p50/p99_ms` (from there to being handed to each listener's sender) are clocked
inside the service (aiortc backend); the rest is the kernel and the listener's own event loop.
`service_cpu_wait_ms_per_s` and `clients_cpu_wait_ms_per_s` are the time their threads were
runnable but waiting for a CPU (/proc/PID/task/*/schedstat): on a shared 2-core machine that,
not the service's code, is where a long delay comes from. The listener processes run at
`--client-nice 10` (on one machine they compete with the service; in a class they run on the
students' own devices).

`--listen count` makes the listeners count and time packets without decoding them (a page
would decode and play): it shows how much of the delay is the listeners' own CPU on the
shared cores rather than the service.

    python -m loadtest.classroom            # N = 25, 50, 100, 150, 200, 300 …, 8 s each
    python -m loadtest.classroom --quick    # N = 5, 20, 3 s each
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
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
    when the room hands it to each listener's sender (SRTP and the socket follow at once). What
    lies between the latter and a listener's arrival is the kernel and the listener's own loop."""
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    from classroom import aiortc_room

    stages: dict[str, list[float]] = {"in": [], "out": []}
    handle, recv = RTCRtpReceiver._handle_rtp_packet, aiortc_room.PacketTrack.recv

    async def inbound(self: Any, packet: Any, arrival_time_ms: int) -> None:
        if not hasattr(self, "_click"):
            self._click = Rising(stages["in"])
        self._click.see(len(packet.payload))
        await handle(self, packet, arrival_time_ms=arrival_time_ms)

    async def outbound(self: Any) -> Any:
        packet = await recv(self)
        if not hasattr(self, "_click"):
            self._click = Rising(stages["out"])
        self._click.see(packet.size)
        return packet

    RTCRtpReceiver._handle_rtp_packet = inbound  # type: ignore[method-assign]
    aiortc_room.PacketTrack.recv = outbound  # type: ignore[method-assign]
    return stages


async def serve(media: str) -> None:
    from classroom import make_backend

    backend = make_backend(media)
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
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waiting_s(pid: int) -> float:
    """Time the process's threads spent runnable but waiting for a CPU (/proc/PID/schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
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


def listeners(port: int, room: int, first_user: int, n: int, t0: float, t1: float, decode: bool = True) -> dict[str, Any]:
    return asyncio.run(_listeners(Service(port), room, first_user, n, t0, t1, decode))


async def _listeners(service: Service, room: int, first_user: int, n: int, t0: float, t1: float,
                     decode: bool) -> dict[str, Any]:
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import MediaStreamError

    arrivals: list[float] = []
    pcs = []

    async def consume(track: Any) -> None:
        try:
            while True:
                await track.recv()  # decoded and dropped: a listener's CPU, like a page playing it
        except MediaStreamError:
            pass

    seqs: list[list[int]] = []  # per listener (count mode): highest sequence seen, packets, first sequence

    def clock_arrivals(pc: Any) -> None:
        """Time each click where it reaches the listener: its RTP packet (a click encodes to a
        large packet, silence to a few bytes). The listeners' own decoding is not the service's
        delay (it still costs their CPU, on the same cores, unless `--listen count`)."""
        for receiver in pc.getReceivers():
            handle, last, mine = receiver._handle_rtp_packet, [0, 0.0], [-1, 0, -1]
            seqs.append(mine)

            async def hooked(packet: Any, arrival_time_ms: int, handle: Any = handle, last: list[Any] = last,
                             mine: list[int] = mine) -> None:
                now, size = time.time(), len(packet.payload)
                if size > CLICK_BYTES and last[0] <= CLICK_BYTES and now - last[1] > REFRACTORY_S:
                    last[1] = now
                    if t0 <= now < t1:
                        arrivals.append(now)
                last[0] = size
                if decode:
                    await handle(packet, arrival_time_ms=arrival_time_ms)
                elif t0 <= now < t1:  # packets of the measured window, by sequence number (no wrap in seconds)
                    mine[0] = max(mine[0], packet.sequence_number)
                    mine[1] += 1
                    if mine[2] < 0:
                        mine[2] = packet.sequence_number

            receiver._handle_rtp_packet = hooked

    for i in range(n):
        pc = RTCPeerConnection()
        pc.addTransceiver("audio", direction="recvonly")
        pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
        clock_arrivals(pc)
        pcs.append(pc)
    await asyncio.gather(*(connect(service, room, first_user + i, pc, "subscribe") for i, pc in enumerate(pcs)))

    async def counts() -> tuple[int, int]:
        got = lost = 0
        if not decode:
            for top, packets, first in seqs:
                got += packets
                lost += max(0, top - first + 1 - packets) if packets else 0
            return got, lost
        for pc in pcs:
            for s in (await pc.getStats()).values():
                if s.type == "inbound-rtp":
                    got += s.packetsReceived
                    lost += max(0, s.packetsLost)
        return got, lost

    await asyncio.sleep(max(0.0, t0 - time.time()))
    g0, l0 = await counts()
    await asyncio.sleep(max(0.0, t1 - time.time()))
    g1, l1 = await counts()
    connected = sum(pc.connectionState == "connected" for pc in pcs)
    for pc in pcs:
        await pc.close()
    if not decode:
        g0 = l0 = 0
    return {"received": g1 - g0, "lost": l1 - l0, "arrivals": arrivals, "connected": connected, "n": n}


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


async def step(service: Service, pid: int, pool: ProcessPoolExecutor, workers: int, room: int, n: int,
               seconds: float, decode: bool = True) -> dict[str, Any]:
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
    setup = 3.0 + n * 0.06
    t0 = time.time() + setup
    t1 = t0 + seconds
    loop = asyncio.get_running_loop()
    share = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
    jobs = [loop.run_in_executor(pool, listeners, service.port, room, 1000 + sum(share[:i]), k, t0, t1, decode)
            for i, k in enumerate(share) if k]
    await asyncio.sleep(max(0.0, t0 - time.time()))
    clients = list(getattr(pool, "_processes", {}) or {})
    c0, w0 = cpu_s(pid), waiting_s(pid)
    k0 = [(cpu_s(p), waiting_s(p)) for p in clients]
    await asyncio.sleep(max(0.0, t1 - time.time()))
    c1, w1, rss = cpu_s(pid), waiting_s(pid), rss_mb(pid)
    k1 = [(cpu_s(p), waiting_s(p)) for p in clients]
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

    # a click not heard within the window counts as a period late (at least): a figure over the
    # heard clicks alone would flatter a run whose listeners fell behind
    heard = len(delays)
    delays += [CLICK_EVERY * 20.0] * max(0, n * sent_in - heard)
    to_service = after([t for t in stages["in"] if t0 <= t < t1], clicks)
    in_service = after([t for t in stages["out"] if t0 <= t < t1], stages["in"])
    per = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(k0, k1)]
    return {"listeners": n, "connected": sum(r["connected"] for r in results),
            "tutor_to_service_p99_ms": pct(to_service, 99), "in_service_p50_ms": pct(in_service, 50),
            "in_service_p99_ms": pct(in_service, 99),
            "service_cpu_wait_ms_per_s": round((w1 - w0) * 1000 / seconds, 1),
            "clients_cpu_ms_per_s": round(sum(c for c, _ in per) * 1000 / seconds, 1),
            "clients_cpu_wait_ms_per_s": round(sum(w for _, w in per) * 1000 / seconds, 1),
            "clicks_heard_pct": round(100 * heard / (n * sent_in), 1) if n and sent_in else None,
            "cpu_ms_per_s": round((c1 - c0) * 1000 / seconds, 1), "rss_mb": round(rss, 1),
            "loss_pct": round(100 * lost / (got + lost), 3) if got + lost else (0.0 if n == 0 else 100.0),
            "delay_p50_ms": round(percentile(delays, 50), 1) if delays else None,
            "delay_p99_ms": round(percentile(delays, 99), 1) if delays else None}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--media", default="aiortc", help="the media backend to measure (classroom.make_backend)")
    parser.add_argument("--workers", type=int, default=2, help="listener processes")
    parser.add_argument("--client-nice", type=int, default=10,
                        help="niceness of the listener processes: on one machine they compete with the service "
                             "for the same cores, in a real class they run on the students' devices (0: compete)")
    parser.add_argument("--listen", choices=("decode", "count"), default="decode",
                        help="listeners decode what they receive (like a page), or only count and time packets")
    parser.add_argument("--steps", help="listener counts to try, comma-separated (default: 25,50,100,… or 5,20 with --quick)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(args.media)
        return
    steps = [5, 20] if args.quick else [25, 50, 100, 150, 200, 300, 400]
    if args.steps:
        steps = [int(n) for n in args.steps.split(",")]
    seconds = 3.0 if args.quick else 8.0
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "loadtest.classroom", "--serve", "--media", args.media,
                                                stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    service = Service(int((await proc.stdout.readline()).decode()))
    rows = []
    try:
        with ProcessPoolExecutor(args.workers, initializer=os.nice, initargs=(args.client_nice,)) as pool:
            decode = args.listen == "decode"
            floor = await step(service, proc.pid, pool, args.workers, 1, 0, seconds, decode)
            print(f"floor (tutor alone): {floor['cpu_ms_per_s']} ms CPU per s, {floor['rss_mb']} MB")
            for i, n in enumerate(steps):
                row = await step(service, proc.pid, pool, args.workers, 2 + i, n, seconds, decode)
                row["cpu_ms_per_listener_s"] = round((row["cpu_ms_per_s"] - floor["cpu_ms_per_s"]) / n, 3)
                print(json.dumps(row))
                rows.append(row)
                if row["loss_pct"] > 1.0 or row["connected"] < n:
                    break
    finally:
        proc.terminate()
        await proc.wait()
    held = [r for r in rows if r["loss_pct"] <= 1.0 and r["connected"] == r["listeners"]]
    best = held[-1] if held else rows[0]
    per = best["cpu_ms_per_listener_s"]
    figures = {"media": args.media, "listen": args.listen, "client_nice": args.client_nice, "listeners_max": best["listeners"] if held else 0,
               "cpu_ms_per_listener_s": per, "loss_pct_at_max": best["loss_pct"], "delay_p99_ms": best["delay_p99_ms"],
               "delay_p50_ms": best["delay_p50_ms"], "clicks_heard_pct_at_max": best["clicks_heard_pct"],
               "floor_cpu_ms_per_s": floor["cpu_ms_per_s"], "rss_mb_at_max": best["rss_mb"],
               "one_core_listeners_est": int((1000 - floor["cpu_ms_per_s"]) / per) if per > 0 else None,
               "stopped_by": "loss" if len(held) < len(rows) else "last step", "quick": args.quick, "steps": rows}
    print(f"one class held {figures['listeners_max']} listeners (loss {figures['loss_pct_at_max']} %, "
          f"delay p99 {figures['delay_p99_ms']} ms); the service spent {per} ms CPU per listener-second "
          f"above a floor of {floor['cpu_ms_per_s']} ms/s: one core ≈ {figures['one_core_listeners_est']} listeners")
    report("classroom", figures)


if __name__ == "__main__":
    asyncio.run(main())
