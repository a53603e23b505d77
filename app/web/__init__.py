"""The web app: plain ES modules served by the service itself (no build step, no CDN).

`/` is the single page; everything under `/static` is a file from `app/web/static`. The pages
talk to the same HTTP API and websocket that any other client uses.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    # The page itself is never cached, so a deploy reaches everyone at their next load.
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
