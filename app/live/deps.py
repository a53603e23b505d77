"""Dependencies for what the app factory builds for live sessions: the socket handler that
delivers a session's changes (`app.state.live`) and the batched transcript writer
(`app.state.transcript`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .socket import LiveHandler
from .transcript import TranscriptWriter


async def get_live(request: Request) -> LiveHandler:
    live: LiveHandler = request.app.state.live
    return live


async def get_transcript(request: Request) -> TranscriptWriter:
    writer: TranscriptWriter = request.app.state.transcript
    return writer


LiveDep = Annotated[LiveHandler, Depends(get_live)]
TranscriptDep = Annotated[TranscriptWriter, Depends(get_transcript)]
