"""`tutoring` command: run (prepare + serve), prestart, seed-demo."""
from __future__ import annotations

import argparse

import uvicorn

from app.config import get_settings


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
        prestart(settings)
        host, port = args.host or settings.host, args.port or settings.port
        mode = "embedded (SQLite at %s)" % settings.data_dir if settings.embedded else "production (PostgreSQL%s)" % (
            " + Redis" if settings.redis_url else "")
        print(f"Tutoring service, {mode}: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", flush=True)
        uvicorn.run("app.main:app", host=host, port=port, workers=args.workers, log_level="info")


if __name__ == "__main__":
    main()
