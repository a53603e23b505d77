"""one-to-many classes: a student's voice can be muted apart from their chat (class_enrolments.audio_muted)

Revision ID: 0018
Revises: 0011
Create Date: 2026-11-26 22:15:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0011"  # written against 0007; main's head is 0011 now
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("class_enrolments", sa.Column("audio_muted", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("class_enrolments") as batch:
        batch.drop_column("audio_muted")
