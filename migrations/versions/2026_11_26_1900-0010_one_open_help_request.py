"""one open help request per student

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-26 19:00:00

A student has at most one open help request (issue 15: one student filed 20 at once and every
tutor on duty rang for them). A partial unique index makes it hold under concurrent requests on
PostgreSQL and SQLite alike. Older duplicates are closed first (the newest open one stays).
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE help_requests SET status = 'cancelled', close_reason = 'duplicate_open' "
               "WHERE status = 'open' AND id NOT IN "
               "(SELECT max(id) FROM help_requests WHERE status = 'open' GROUP BY student_id)")
    op.execute("CREATE UNIQUE INDEX uq_help_requests_one_open ON help_requests (student_id) WHERE status = 'open'")


def downgrade() -> None:
    op.execute("DROP INDEX uq_help_requests_one_open")
