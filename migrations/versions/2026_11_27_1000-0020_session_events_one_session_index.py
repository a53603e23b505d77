"""session_events: drop ix_session_events_session_id, the leftmost column of the (session_id, seq) key

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 10:00:00

Every query by session (a transcript read, the purge, the foreign key's checks) is served by
the unique (session_id, seq) index, whose first column is session_id. The single-column index
was a second B-tree written on every transcript row: on SQLite a 500-row batch of the writer
(app/live/transcript.py) took ~13 ms with it and ~6 ms without, in the writer's thread beside
the relay's event loop.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.drop_index("ix_session_events_session_id")


def downgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.create_index("ix_session_events_session_id", ["session_id"], unique=False)
