from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["session", "qa"]
Action = Literal["dismiss", "suspend", "hide", "restore"]


class ReportOut(BaseModel):
    id: int = Field(description="the report's number within its kind")
    kind: Kind
    status: str = Field(description="open | actioned | dismissed")
    reason: str
    reporter_id: int
    reported_id: int = Field(description="the account the report is about: the session's other party, or the item's author")
    created_at: datetime
    note: str | None = Field(None, description="the deciding admin's note (Q&A)")
    actions: list[Action] = Field(description="the decisions open to the admin now")
    session_id: int | None = None
    question_id: int | None = None
    answer_id: int | None = None
    reply_id: int | None = None
    target: Literal["session", "question", "answer", "reply"]
    excerpt: str | None = Field(None, description="Q&A: the reported text as typed (before masking)")
    hidden: bool | None = Field(None, description="Q&A: whether the reported item is hidden now")


class Decision(BaseModel):
    action: Action = Field(
        description="dismiss the report; suspend the reported account (a Q&A item is hidden too); "
        "hide a reported Q&A item; restore a hidden Q&A item of a report acted on"
    )
    note: str = Field(min_length=2, max_length=500)
