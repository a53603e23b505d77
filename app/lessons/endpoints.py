"""Micro-lessons over HTTP: publishing, review, catalogue, playing and progress reports."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Route

from app.accounts.deps import Admin, CurrentUser, Tutor
from app.config import Settings
from app.kit.clock import Clock, ClockDep
from app.kit.db import DB, after_commit, on_rollback
from app.kit.deps import SettingsDep
from app.kit.errors import Forbidden, InvalidInput
from app.models import MediaStatus, Role
from app.stats.export import Format, table

from . import links, media, service, stats
from .deps import LessonStorageDep, LessonWorkerDep
from .schemas import LessonCreate, LessonOut, LessonPage, LessonUpdate, Play, PlayStart, Progress, ProgressOut, Reject
from .service import VideoRejected, VideoTooLarge, VideoTooLong
from .storage import TooLarge

router = APIRouter(prefix="/api/lessons", tags=["lessons"])


def _link(settings: Settings, clock: Clock, key: str | None) -> str | None:
    if key is None:
        return None
    return links.link(settings.secret(), key, float(clock.now()), settings.lesson_stream_ttl_s)


async def _out(settings: Settings, clock: Clock, db: Any, lessons: list[Any]) -> list[LessonOut]:
    rows = await service.describe(db, lessons)
    return [LessonOut(**{k: v for k, v in r.items() if not k.startswith("_")}, poster_url=_link(settings, clock, r["_poster_key"])) for r in rows]


@router.post("", status_code=201)
async def create(data: LessonCreate, settings: SettingsDep, clock: ClockDep, tutor: Tutor, db: DB) -> LessonOut:
    """A new lesson (its details); the video follows with PUT /api/lessons/{id}/video."""
    lesson = await service.create(db, tutor, data, float(clock.now()))
    return (await _out(settings, clock, db, [lesson]))[0]


@router.get("")
async def catalogue(
    settings: SettingsDep,
    clock: ClockDep,
    user: CurrentUser,
    db: DB,
    subject: str | None = Query(None, max_length=16),
    band: Literal["junior", "senior"] | None = None,
    knowledge_point_id: int | None = None,
    q: str | None = Query(None, max_length=100),
    tutor_id: int | None = None,
    sort: Literal["newest", "most_watched"] = "newest",
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
) -> LessonPage:
    """Approved lessons of the city: by subject, band and knowledge point (its sub-points too),
    a title search, one tutor's lessons; newest or most watched first."""
    total, rows = await service.catalogue(
        db, user, subject=subject, band=band, knowledge_point_id=knowledge_point_id, q=q, tutor_id=tutor_id, sort=sort, limit=limit, offset=offset
    )
    return LessonPage(total=total, rows=await _out(settings, clock, db, rows))


@router.get("/mine")
async def mine(settings: SettingsDep, clock: ClockDep, tutor: Tutor, db: DB) -> list[LessonOut]:
    """The tutor's own lessons with their processing and review status."""
    return await _out(settings, clock, db, await service.mine(db, tutor))


@router.get("/review")
async def review_queue(settings: SettingsDep, clock: ClockDep, admin: Admin, db: DB) -> list[LessonOut]:
    """Lessons of the admin's school (or district) waiting for review, ready to be watched."""
    return await _out(settings, clock, db, await service.review_queue(db, admin))


@router.get("/by-knowledge-point")
async def by_knowledge_point(user: CurrentUser, db: DB, ids: str = Query(max_length=1000)) -> dict[str, int]:
    """How many lessons each knowledge point has, for links from the hot-spot figures."""
    try:
        wanted = [int(x) for x in ids.split(",") if x.strip()][:100]
    except ValueError:
        raise InvalidInput("ids: comma-separated knowledge point ids", field="ids") from None
    return {str(k): n for k, n in (await service.lessons_on(db, user, wanted)).items()}


async def file(request: StarletteRequest) -> Response:
    """GET /api/lessons/files/{key}?e=…&s=… — a lesson's video or poster by signed link, with HTTP
    range requests (seeking works on phones). A plain Starlette route, not a FastAPI endpoint:
    players fetch a lesson in many ranges, and FastAPI's per-request dependency and validation
    work halved the throughput under 200 viewers (loadtest.lessons); this costs one HMAC and a stat."""
    key = request.path_params["key"]
    settings = request.app.state.settings
    try:
        expires = int(request.query_params.get("e", "0"))
        path = request.app.state.lesson_storage.path(key)
    except ValueError:
        expires, path = 0, None
    if path is None or not links.valid(settings.secret(), key, expires, request.query_params.get("s", ""), request.app.state.clock.now()):
        return JSONResponse({"error": "NotFound", "detail": "this link is not valid (any more): open the lesson again"}, 404)
    if not path.is_file():
        return JSONResponse({"error": "NotFound", "detail": "no such file"}, 404)
    kind = "image/jpeg" if key.endswith(".jpg") else "video/mp4"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


router.routes.append(Route("/api/lessons/files/{key}", file, methods=["GET", "HEAD"]))


def _period(from_: date, to: date) -> None:
    if to <= from_ or (to - from_).days > 400:
        raise InvalidInput("give a period with from < to, at most 400 days")


@router.get("/stats/views")
async def view_figures(
    settings: SettingsDep,
    user: CurrentUser,
    db: DB,
    by: Literal["lesson", "tutor", "subject", "knowledge_point", "school"],
    from_: date = Query(alias="from"),
    to: date = Query(),
    format: Format = "json",
) -> Any:
    """Clicks and complete views in [from, to) per lesson, tutor, subject, knowledge point or
    (viewers') school. Admins: the viewers of their scope; a tutor: their own lessons."""
    _period(from_, to)
    tz = settings.timezone
    if user.is_admin:
        rows = await stats.figures(db, by, from_, to, tz, city_id=user.city_id or 0, viewer_schools=stats.viewer_scope(user))
    elif user.role == Role.TUTOR:
        rows = await stats.figures(db, by, from_, to, tz, city_id=user.city_id or 0, tutor_id=user.id)
    else:
        raise Forbidden("figures are for admins and tutors")
    return table(f"lesson_views_by_{by}", format, stats.COLUMNS, rows, from_, to, by=by)


@router.get("/stats/leaderboard")
async def leaderboard(
    settings: SettingsDep,
    admin: Admin,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    limit: int = Query(20, ge=1, le=200),
    format: Format = "json",
) -> Any:
    """The city's lessons by complete views in [from, to), then clicks (ties share a rank)."""
    _period(from_, to)
    rows = await stats.figures(db, "lesson", from_, to, settings.timezone, city_id=admin.city_id or 0)
    return table("lesson_leaderboard", format, stats.COLUMNS, rows[:limit], from_, to)


@router.get("/stats/workload")
async def workload(
    settings: SettingsDep, user: CurrentUser, db: DB, from_: date = Query(alias="from"), to: date = Query(), format: Format = "json"
) -> Any:
    """Per tutor: lessons published, clicks, complete views and lesson points in [from, to).
    Admins: the tutors of their schools; a tutor: themselves."""
    _period(from_, to)
    tz = settings.timezone
    if user.is_admin:
        rows = await stats.workload(db, from_, to, tz, tutor_schools=stats.viewer_scope(user))
    elif user.role == Role.TUTOR:
        rows = await stats.workload(db, from_, to, tz, tutor_id=user.id)
    else:
        raise Forbidden("workload is for admins and tutors")
    return table("lesson_workload", format, stats.WORKLOAD, rows, from_, to)


@router.get("/stats/archive")
async def archive(
    settings: SettingsDep,
    user: CurrentUser,
    db: DB,
    from_: date = Query(alias="from"),
    to: date = Query(),
    tutor_id: int | None = None,
    format: Format = "json",
) -> Any:
    """The micro-lesson part of a tutor's archive (辅导档案): a tutor's own; admins any tutor in scope."""
    _period(from_, to)
    if tutor_id is None or tutor_id == user.id:
        if user.role != Role.TUTOR:
            raise InvalidInput("name the tutor: tutor_id", field="tutor_id")
        target = user
    else:
        target = await service.tutor_in_scope(db, user, tutor_id)
    rows = await stats.archive(db, target.id, from_, to, settings.timezone)
    return table("lesson_archive", format, stats.ARCHIVE, rows, from_, to, tutor_id=target.id, tutor=target.real_name)


@router.get("/{lesson_id}")
async def get(lesson_id: int, settings: SettingsDep, clock: ClockDep, user: CurrentUser, db: DB) -> LessonOut:
    """One lesson; for someone who may see it and once it is ready, with a signed link to the video."""
    lesson = await service.get_visible(db, user, lesson_id)
    out = (await _out(settings, clock, db, [lesson]))[0]
    if lesson.media_status == MediaStatus.READY:
        out.video_url = _link(settings, clock, lesson.video_key)
    return out


@router.put("/{lesson_id}")
async def amend(lesson_id: int, data: LessonUpdate, settings: SettingsDep, clock: ClockDep, tutor: Tutor, db: DB) -> LessonOut:
    """Change the details; the lesson goes (back) to review — how a rejected lesson is resubmitted."""
    return (await _out(settings, clock, db, [await service.amend(db, tutor, lesson_id, data, float(clock.now()))]))[0]


@router.put("/{lesson_id}/video", status_code=202)
async def upload(
    lesson_id: int, request: Request, tutor: Tutor, db: DB, settings: SettingsDep, clock: ClockDep, storage: LessonStorageDep, worker: LessonWorkerDep
) -> LessonOut:
    """The video as the raw request body (MP4, MOV or WebM), streamed to storage as it arrives.
    The container is checked at once (422 `VideoRejected`/`VideoTooLong`, 413 `VideoTooLarge`,
    nothing kept); the rest runs off the request path: poll the lesson's `media_status`."""
    limit = settings.lesson_max_bytes
    tutor_id = tutor.id
    await service.check_upload(db, tutor, lesson_id)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise VideoTooLarge(f"the video is larger than the limit of {limit // (1024 * 1024)} MB", limit_bytes=limit)
    # End the read transaction: no connection waits in a transaction while the body arrives.
    await db.rollback()
    key = storage.new_key(lesson_id, ".upload")
    try:
        size = await storage.write(key, request.stream(), limit)
    except TooLarge:
        raise VideoTooLarge(f"the video is larger than the limit of {limit // (1024 * 1024)} MB", limit_bytes=limit) from None
    except ClientDisconnect:
        raise InvalidInput("the upload was interrupted; nothing was kept") from None
    try:
        if size == 0:
            raise VideoRejected("the file is empty")
        try:
            probe = await asyncio.to_thread(media.probe, storage.path(key))
        except media.MediaRejected as e:
            raise VideoRejected(str(e)) from None
        if probe.duration_s > settings.lesson_max_duration_s:
            raise VideoTooLong(
                f"the video lasts {probe.duration_s / 60:.1f} minutes; the limit is {settings.lesson_max_duration_s / 60:.0f} minutes",
                limit_s=settings.lesson_max_duration_s,
            )
        replaced = await service.accept_upload(db, tutor_id, lesson_id, key, size, float(clock.now()))
    except BaseException:
        storage.delete(key)
        raise

    async def _dropped() -> None:
        storage.delete(key)

    async def _committed() -> None:
        storage.delete(*replaced)
        worker.kick(lesson_id)

    on_rollback(db, _dropped)
    after_commit(db, _committed)
    return (await _out(settings, clock, db, [await service.get_owned(db, tutor_id, lesson_id)]))[0]


@router.post("/{lesson_id}/approve")
async def approve(lesson_id: int, settings: SettingsDep, clock: ClockDep, admin: Admin, db: DB) -> LessonOut:
    lesson = await service.approve(db, admin, lesson_id, float(clock.now()), settings)
    return (await _out(settings, clock, db, [lesson]))[0]


@router.post("/{lesson_id}/reject")
async def reject(lesson_id: int, data: Reject, settings: SettingsDep, clock: ClockDep, admin: Admin, db: DB) -> LessonOut:
    lesson = await service.reject(db, admin, lesson_id, data.reason, float(clock.now()))
    return (await _out(settings, clock, db, [lesson]))[0]


@router.post("/{lesson_id}/plays")
async def play(lesson_id: int, settings: SettingsDep, clock: ClockDep, user: CurrentUser, db: DB, data: PlayStart | None = None) -> Play:
    """Start watching: a signed link to the video, where to resume; a student's click is counted."""
    lesson, resume, counted = await service.start_play(db, user, lesson_id, data.from_s if data else None, float(clock.now()), settings)
    return Play(
        lesson_id=lesson.id,
        video_url=_link(settings, clock, lesson.video_key) or "",
        poster_url=_link(settings, clock, lesson.poster_key),
        resume_s=resume,
        duration_s=lesson.duration_s or 0.0,
        counted_click=counted,
        report_every_s=2.0,
    )


@router.post("/{lesson_id}/progress")
async def progress(lesson_id: int, data: Progress, settings: SettingsDep, clock: ClockDep, user: CurrentUser, db: DB) -> ProgressOut:
    """Where the player is now (every few seconds, on pause and at the end)."""
    got = await service.report(db, user, lesson_id, data.position_s, float(clock.now()), settings)
    return ProgressOut(**got)
