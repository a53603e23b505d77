from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId


class Subject(Base):
    __tablename__ = "subjects"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(SmallInteger)


class KnowledgePoint(Base):
    __tablename__ = "knowledge_points"
    __table_args__ = (UniqueConstraint("subject_code", "parent_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_code: Mapped[str] = mapped_column(ForeignKey("subjects.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_points.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    depth: Mapped[int] = mapped_column(SmallInteger)  # 1 = chapter
    position: Mapped[int] = mapped_column(SmallInteger, default=0)
