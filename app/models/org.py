"""City → district → school → class."""

from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId


class City(Base):
    __tablename__ = "cities"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class District(Base):
    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class School(Base):
    __tablename__ = "schools"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # junior (初中), senior (高中) or complete (完全中学: both)
    stage: Mapped[str] = mapped_column(String(16), default="junior")


class SchoolClass(Base):
    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "grade", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    grade: Mapped[int] = mapped_column(SmallInteger)  # 7..12
    name: Mapped[str] = mapped_column(String(32))  # e.g. "3班"
