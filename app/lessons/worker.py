"""Processing off the request path: the upload request stores the file and marks the lesson
`processing`; a worker of whichever instance claims it (a lease in the lessons table, so two
instances never process one lesson, and a lesson whose instance died is picked up by another)
checks every frame, makes the poster and the phone-ready file, and sets `ready` or `failed`
with the reason. A failed lesson keeps no file."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kit.clock import ts
from app.kit.db import rowcount
from app.models import Lesson, MediaStatus

from . import media
from .service import lease_expired
from .storage import FolderStorage, LessonStorage

log = logging.getLogger(__name__)


class LessonWorker:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], storage: LessonStorage, clock: Any, lease_s: float, sweep_s: float = 30.0
    ) -> None:
        self.sessionmaker, self.storage, self.clock, self.lease_s, self.sweep_s = sessionmaker, storage, clock, lease_s, sweep_s
        self.cpu = asyncio.Semaphore(1)  # one transcode at a time per instance: it uses every core it gets
        self.tasks: set[asyncio.Task[None]] = set()
        self.sweeper: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sweeper = asyncio.create_task(self._sweep_forever())

    async def aclose(self) -> None:
        for task in [self.sweeper, *self.tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self.sweeper, *self.tasks] if t is not None], return_exceptions=True)

    def kick(self, lesson_id: int) -> None:
        task = asyncio.create_task(self.process(lesson_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def idle(self) -> None:
        """Wait until this instance has nothing in hand (for the CLI and benchmarks)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed pass must not stop the sweeping
                log.exception("lesson sweep failed")
            await asyncio.sleep(self.sweep_s)

    async def sweep(self) -> None:
        """Lessons left `processing` with no live lease (their instance stopped): take them over."""
        async with self.sessionmaker() as db:
            ids = list(
                (
                    await db.execute(
                        select(Lesson.id).where(Lesson.media_status == MediaStatus.PROCESSING, lease_expired(self.clock.now())).limit(20)
                    )
                ).scalars()
            )
        for lesson_id in ids:
            if not any(getattr(t, "lesson_id", None) == lesson_id for t in self.tasks):
                self.kick(lesson_id)

    async def _claim(self, lesson_id: int) -> Lesson | None:
        now = self.clock.now()
        async with self.sessionmaker() as db:
            got = await db.execute(
                update(Lesson)
                .where(Lesson.id == lesson_id, Lesson.media_status == MediaStatus.PROCESSING, lease_expired(now))
                .values(lease_until=ts(now) + timedelta(seconds=self.lease_s))
            )
            await db.commit()
            if rowcount(got) != 1:
                return None
            return await db.get(Lesson, lesson_id)

    async def process(self, lesson_id: int) -> None:
        task = asyncio.current_task()
        if task is not None:
            task.lesson_id = lesson_id  # type: ignore[attr-defined]  # a tag the sweep reads back to skip lessons in hand
        lesson = await self._claim(lesson_id)
        if lesson is None or lesson.upload_key is None:
            return
        upload = lesson.upload_key
        out_key = self.storage.new_key(lesson_id, ".mp4")
        poster_key = self.storage.new_key(lesson_id, ".jpg")
        try:
            async with self.cpu:
                result = await asyncio.to_thread(media.prepare, self.storage.path(upload), self.storage.path(out_key), self.storage.path(poster_key))
        except media.MediaRejected as e:
            self.storage.delete(upload, out_key, poster_key)
            await self._finish(lesson_id, upload, media_status=MediaStatus.FAILED, failure_reason=str(e), upload_key=None)
            return
        except Exception as e:  # noqa: BLE001 - an unexpected decoder failure is the file's, reported to the tutor
            log.exception("processing lesson %s failed", lesson_id)
            self.storage.delete(upload, out_key, poster_key)
            await self._finish(
                lesson_id,
                upload,
                media_status=MediaStatus.FAILED,
                failure_reason=f"the video could not be processed ({type(e).__name__})",
                upload_key=None,
            )
            return
        video_key = out_key if result.transcoded else upload
        if result.transcoded:
            self.storage.delete(upload)
        size = self.storage.path(video_key).stat().st_size
        ok = await self._finish(
            lesson_id,
            upload,
            media_status=MediaStatus.READY,
            failure_reason=None,
            upload_key=None,
            video_key=video_key,
            poster_key=poster_key,
            video_bytes=size,
            duration_s=result.duration_s,
            width=result.width,
            height=result.height,
            transcoded=result.transcoded,
        )
        if not ok:  # replaced by a newer upload meanwhile: this result is nobody's
            self.storage.delete(video_key, poster_key)

    async def _finish(self, lesson_id: int, upload: str, **values: Any) -> bool:
        async with self.sessionmaker() as db:
            got = await db.execute(
                update(Lesson)
                .where(Lesson.id == lesson_id, Lesson.upload_key == upload, Lesson.media_status == MediaStatus.PROCESSING)
                .values(lease_until=None, **values)
            )
            await db.commit()
            return rowcount(got) == 1


def make_worker(app: Any) -> LessonWorker:
    settings = app.state.settings
    storage = FolderStorage(settings.lessons_path)
    app.state.lesson_storage = storage
    return LessonWorker(app.state.sessionmaker, storage, app.state.clock, settings.lesson_processing_lease_s)
