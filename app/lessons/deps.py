"""Dependencies for what the app factory builds for micro-lessons: the video storage and the
processing worker (`app.state.lesson_storage`, `app.state.lesson_worker`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .storage import LessonStorage
from .worker import LessonWorker


async def get_lesson_storage(request: Request) -> LessonStorage:
    storage: LessonStorage = request.app.state.lesson_storage
    return storage


async def get_lesson_worker(request: Request) -> LessonWorker:
    worker: LessonWorker = request.app.state.lesson_worker
    return worker


LessonStorageDep = Annotated[LessonStorage, Depends(get_lesson_storage)]
LessonWorkerDep = Annotated[LessonWorker, Depends(get_lesson_worker)]
