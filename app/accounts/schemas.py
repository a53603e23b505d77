from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SignInBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=200)


class ChangePasswordBody(BaseModel):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    role: str
    real_name: str
    city_id: int | None
    district_id: int | None
    school_id: int | None
    class_id: int | None
    grade: int | None
    status: str
    created_at: datetime


class ManagedAccount(BaseModel):
    """An account as the admins who manage it see it."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    real_name: str
    role: str
    school_id: int | None
    class_id: int | None
    grade: int | None
    status: str
    suspended_reason: str | None


class PasswordReset(BaseModel):
    username: str
    password: str = Field(description="shown once: give it to the user, who should change it")


class SuspendBody(BaseModel):
    reason: str = Field(min_length=2, max_length=500)
