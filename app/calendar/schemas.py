from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class DayIn(BaseModel):
    is_service_day: bool
    note: str = Field(default="", max_length=100, description="e.g. 国庆节, 寒假, 调休上课")


class DayOut(DayIn):
    day: date
