"""`tutoring` command: run (prepare + serve), prestart, seed-demo."""

from __future__ import annotations

import argparse
import time

import uvicorn

from app.calendar.window import ServiceWindow
from app.config import Settings, get_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tutoring", description="Open online tutoring service")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate, seed and serve (embedded default with no configuration)")
    run.add_argument("--host", default=None)
    run.add_argument("--port", type=int, default=None)
    run.add_argument("--workers", type=int, default=1)
    sub.add_parser("prestart", help="wait for the database, migrate, seed; then exit")
    sub.add_parser("seed-demo", help="add the demo city even on a production database")
    args = parser.parse_args(argv)

    from app.prestart import prestart, seed

    settings = get_settings()
    if args.command == "prestart":
        prestart(settings)
    elif args.command == "seed-demo":
        import asyncio

        print("demo data added" if asyncio.run(seed(settings, demo=True)) else "demo data already there")
    else:
        host, port = args.host or settings.host, args.port or settings.port
        mode = (
            f"embedded (SQLite at {settings.data_dir})" if settings.embedded else f"production (PostgreSQL{' + Redis' if settings.redis_url else ''})"
        )
        # The URL comes first: a first start spends a while migrating and seeding, and a newcomer
        # should know at once where to look and that something is happening.
        say(f"Tutoring service, {mode}: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
        prestart(settings, progress=say)
        import asyncio

        from app.prestart import service_window_now

        say(window_hint(settings, window=asyncio.run(service_window_now(settings))))
        say(f"Ready: open http://{host}:{port}/ (demo accounts: see README, password demo1234)")
        # No per-message deflate on the websocket: frames are small (chat, strokes), and zlib cost
        # CPU on every frame and ~100 KB of memory per connection (README, "The live relay").
        uvicorn.run("app.main:app", host=host, port=port, workers=args.workers, log_level="info", ws_per_message_deflate=False)


def say(line: str) -> None:
    print(line, flush=True)


def window_hint(settings: Settings, now: float | None = None, window: ServiceWindow | None = None) -> str:
    """Whether live tutoring is open now, and how to open it for a daytime demo when it is not.
    `window` carries the admins' calendar (holidays closed, extra days open); without it the weekly
    window alone is used."""
    window = window or ServiceWindow.parse(settings.service_window, settings.timezone)
    at = time.time() if now is None else now  # the process's start, not a request path: the wall clock is right
    if window.is_open(at):
        return f"Live tutoring is open now (service window: {settings.service_window}, {settings.timezone})."
    opening = window.next_opening(at)
    when = opening.strftime("%a %Y-%m-%d %H:%M %Z") if opening else "not within a year"
    return (
        f"Live tutoring is closed now (service window: {settings.service_window}, {settings.timezone}; "
        f"next opening {when}). For a demo at any hour: TUTORING_SERVICE_WINDOW=always make run"
    )


if __name__ == "__main__":
    main()
