"""Q&A notifications: a row per user (the unread count) and an event on the user's stream,
appended only after the transaction that caused it has committed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.db import after_commit
from app.models import QaNotification, User

from .schemas import NotificationOut, NotificationsOut


async def notify(
    db: AsyncSession, events: Any, users: Iterable[int], kind: str, question_id: int, now: datetime, answer_id: int | None = None, **data: Any
) -> None:
    """`events` is the app's EventLog (None: rows only, e.g. from a timer without a stream)."""
    rows = [QaNotification(user_id=u, kind=kind, question_id=question_id, answer_id=answer_id, created_at=now) for u in dict.fromkeys(users)]
    if not rows:
        return
    db.add_all(rows)
    await db.flush()
    if events is None:
        return

    async def send() -> None:
        for row in rows:
            await events.append(row.user_id, kind, {"notification_id": row.id, "question_id": question_id, "answer_id": answer_id, **data})

    after_commit(db, send)


async def listing(db: AsyncSession, user: User, limit: int) -> NotificationsOut:
    unread = (
        await db.execute(select(func.count()).select_from(QaNotification).where(QaNotification.user_id == user.id, QaNotification.read_at.is_(None)))
    ).scalar_one()
    rows = (
        (await db.execute(select(QaNotification).where(QaNotification.user_id == user.id).order_by(QaNotification.id.desc()).limit(limit)))
        .scalars()
        .all()
    )
    return NotificationsOut(
        unread=unread,
        items=[
            NotificationOut(
                id=n.id, kind=n.kind, question_id=n.question_id, answer_id=n.answer_id, created_at=n.created_at, read=n.read_at is not None
            )
            for n in rows
        ],
    )


async def mark_read(db: AsyncSession, user: User, up_to_id: int | None, now: datetime) -> None:
    query = update(QaNotification).where(QaNotification.user_id == user.id, QaNotification.read_at.is_(None))
    if up_to_id is not None:
        query = query.where(QaNotification.id <= up_to_id)
    await db.execute(query.values(read_at=now))
