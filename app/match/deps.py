from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from matching import Matcher


async def get_matcher(request: Request) -> Matcher:
    return request.app.state.matcher


MatcherDep = Annotated[Matcher, Depends(get_matcher)]
