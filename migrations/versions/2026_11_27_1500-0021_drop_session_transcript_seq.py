"""tutoring_sessions: drop transcript_seq; a session's last seq is MAX(session_events.seq)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 15:00:00

The transcript writer (app/live/transcript.py) updated every session of each batch to its last
seq, four times a second per live session, only for the relay to read it back when an instance
first sees a session. The (session_id, seq) key answers MAX(seq) in one descent, so the relay
reads that instead (app/live/socket.py) and the UPDATE is gone: on SQLite it was a third of the
writer's work per row, on PostgreSQL a new row version of every live session each time.

A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): batch mode would copy the table and drop the
old one, which the rows that reference it forbid.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("tutoring_sessions", "transcript_seq")


def downgrade() -> None:
    op.add_column("tutoring_sessions", sa.Column("transcript_seq", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE tutoring_sessions SET transcript_seq = "
        "(SELECT COALESCE(MAX(seq), 0) FROM session_events WHERE session_events.session_id = tutoring_sessions.id)"
    )
