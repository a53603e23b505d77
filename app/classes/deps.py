"""Dependencies for what the app factory builds for classes: the dispatcher that delivers a
class's media and events after a commit (`app.state.classes`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .dispatch import ClassDispatch


async def get_dispatch(request: Request) -> ClassDispatch:
    dispatch: ClassDispatch = request.app.state.classes
    return dispatch


ClassDispatchDep = Annotated[ClassDispatch, Depends(get_dispatch)]
