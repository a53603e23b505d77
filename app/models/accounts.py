"""Users, their sign-in sessions and the record of every sign-in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId, UTCDateTime, utcnow


class Role(StrEnum):
    """The stored values of `users.role` (the API and the tokens carry the same strings)."""

    STUDENT = "student"
    TUTOR = "tutor"
    SCHOOL_ADMIN = "school_admin"
    DISTRICT_ADMIN = "district_admin"
    CITY_ADMIN = "city_admin"


ROLES = tuple(Role)
ADMIN_ROLES = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


class UserStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    real_name: Mapped[str] = mapped_column(String(64))
    # Scope of the account: a student, tutor or school admin has a school; a district admin a
    # district; a city admin a city. District/city are denormalised for cheap scoping.
    city_id: Mapped[int | None] = mapped_column(ForeignKey("cities.id"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id"), index=True)
    grade: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_admin(self) -> bool:
        """A school, district or city admin (what they may see is their scope: app/accounts/scope.py)."""
        return self.role in ADMIN_ROLES


class AuthSession(Base):
    """One signed-in device. Access tokens name it (`sid`), so signing out revokes them too."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(255))


class SignIn(Base):
    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_at_user", "at", "user_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    method: Mapped[str] = mapped_column(String(16))  # password | refresh
    ip: Mapped[str | None] = mapped_column(String(64))
