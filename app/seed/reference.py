"""Idempotent seeding of subjects and knowledge points: safe to run at every start."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import KnowledgePoint, Subject

from .knowledge import SUBJECTS, knowledge_trees


async def seed_reference(db: AsyncSession) -> None:
    existing = {s.code for s in (await db.execute(select(Subject))).scalars()}
    for position, (code, zh, en) in enumerate(SUBJECTS):
        if code not in existing:
            db.add(Subject(code=code, name_zh=zh, name_en=en, position=position))
    await db.flush()
    known = {(k.subject_code, k.parent_id, k.name): k.id for k in (await db.execute(select(KnowledgePoint))).scalars()}
    for subject, chapters in knowledge_trees().items():
        for i, (chapter, sections) in enumerate(chapters):
            chapter_id = known.get((subject, None, chapter))
            if chapter_id is None:
                kp = KnowledgePoint(subject_code=subject, parent_id=None, name=chapter, depth=1, position=i)
                db.add(kp)
                await db.flush()
                chapter_id = kp.id
            for j, section in enumerate(sections):
                if (subject, chapter_id, section) not in known:
                    db.add(KnowledgePoint(subject_code=subject, parent_id=chapter_id, name=section, depth=2, position=j))
    await db.flush()
