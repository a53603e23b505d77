from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ReportOut(BaseModel):
    id: int
    session_id: int
    reporter_id: int
    reported_id: int
    reason: str
    status: str
    created_at: datetime


class Decision(BaseModel):
    action: str = Field(pattern="^(dismiss|suspend)$", description="dismiss the report, or suspend the reported account")
    note: str = Field(min_length=2, max_length=500)
