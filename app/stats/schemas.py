"""The request types of the statistics API (the answers are tables: app/stats/export.py shapes
them as JSON, CSV or XLSX, so there is no response model to declare)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

Board = Literal["students", "tutors", "classes"]
TotalsBy = Literal["subject", "district"]
Month = Annotated[str, Query(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
