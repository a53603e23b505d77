from __future__ import annotations

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from app.accounts.deps import CurrentUser, Student
from app.kit.db import DB
from app.kit.images import clean_image, read_upload

from . import service
from .schemas import HelpRequestCreate, HelpRequestOut, ImageOut

router = APIRouter(prefix="/api", tags=["help requests"])


@router.post("/images", response_model=ImageOut, status_code=201)
async def upload_image(request: Request, user: CurrentUser, db: DB,
                       file: UploadFile = File(..., description="JPEG, PNG or WebP")) -> ImageOut:
    """Upload one picture. The type is read from the content; metadata is stripped."""
    s = request.app.state.settings
    clean = clean_image(await read_upload(file, s.max_image_bytes), s.max_image_bytes, s.max_image_pixels)
    return service.image_out(await service.store_image(db, user, clean))


@router.get("/images/{image_id}", response_class=Response)
async def get_image(image_id: str, user: CurrentUser, db: DB) -> Response:
    img = await service.readable_image(db, user, image_id)
    return Response(img.data, media_type=img.content_type,
                    headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})


@router.post("/help-requests", response_model=HelpRequestOut, status_code=201)
async def create(body: HelpRequestCreate, request: Request, student: Student, db: DB) -> HelpRequestOut:
    req = await service.create(db, student, body, request.app.state.settings.max_images_per_request)
    return (await service.to_out(db, [req]))[0]


@router.get("/help-requests", response_model=list[HelpRequestOut])
async def list_mine(student: Student, db: DB, status: str | None = Query(None, max_length=16),
                    limit: int = Query(50, ge=1, le=200), before_id: int | None = None) -> list[HelpRequestOut]:
    return await service.to_out(db, await service.list_own(db, student, status, limit, before_id))


@router.get("/help-requests/{request_id}", response_model=HelpRequestOut)
async def read(request_id: int, student: Student, db: DB) -> HelpRequestOut:
    return (await service.to_out(db, [await service.get_own(db, student, request_id)]))[0]


@router.post("/help-requests/{request_id}/cancel", response_model=HelpRequestOut)
async def cancel(request_id: int, student: Student, db: DB) -> HelpRequestOut:
    return (await service.to_out(db, [await service.cancel(db, student, request_id)]))[0]
