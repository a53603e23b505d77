"""one-to-many live classes: scheduling, enrolment, the room's state, attendance stints, transcript

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-26 19:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"  # re-chained at merge (written against 0004)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)

_CLASS_COLUMNS = [
    sa.Column("band", sa.String(length=8), server_default="junior", nullable=False),
    sa.Column("description", sa.Text(), server_default="", nullable=False),
    sa.Column("length_s", sa.Integer(), server_default="1800", nullable=False),
    sa.Column("capacity", sa.Integer(), server_default="50", nullable=False),
    sa.Column("state", sa.String(length=16), server_default="scheduled", nullable=False),
    sa.Column("recording", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("live_at", UTC, nullable=True),
    sa.Column("end_reason", sa.String(length=32), nullable=True),
    sa.Column("chat_muted", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("floor_id", BigId, nullable=True),
    sa.Column("reminded", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("points_booked", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column("transcript_seq", sa.Integer(), server_default="0", nullable=False),
]


def upgrade() -> None:
    for column in _CLASS_COLUMNS:
        op.add_column("live_classes", column)
    # Classes recorded before this revision (the demo's) were held: they have an end.
    op.execute("UPDATE live_classes SET state = 'ended', live_at = starts_at WHERE ended_at IS NOT NULL")
    op.create_index("ix_live_classes_state_starts", "live_classes", ["state", "starts_at"], unique=False)
    op.add_column("class_attendances", sa.Column("present_since", UTC, nullable=True))
    op.add_column("class_attendances", sa.Column("left_at", UTC, nullable=True))
    op.create_table(
        "class_enrolments",
        sa.Column("live_class_id", BigId, nullable=False),
        sa.Column("student_id", BigId, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("muted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("hand_at", UTC, nullable=True),
        sa.Column("enrolled_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["live_class_id"], ["live_classes.id"], name="fk_class_enrolments_live_class_id_live_classes"),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"], name="fk_class_enrolments_student_id_users"),
        sa.PrimaryKeyConstraint("live_class_id", "student_id", name="pk_class_enrolments"),
    )
    op.create_index("ix_class_enrolments_student_id", "class_enrolments", ["student_id"], unique=False)
    op.create_table(
        "class_knowledge_points",
        sa.Column("live_class_id", BigId, nullable=False),
        sa.Column("knowledge_point_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["live_class_id"], ["live_classes.id"], name="fk_class_knowledge_points_live_class_id_live_classes"),
        sa.ForeignKeyConstraint(["knowledge_point_id"], ["knowledge_points.id"],
                                name="fk_class_knowledge_points_knowledge_point_id_knowledge_points"),
        sa.PrimaryKeyConstraint("live_class_id", "knowledge_point_id", name="pk_class_knowledge_points"),
    )
    op.create_table(
        "class_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("live_class_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sender_id", BigId, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["live_class_id"], ["live_classes.id"], name="fk_class_events_live_class_id_live_classes"),
        sa.ForeignKeyConstraint(["sender_id"], ["users.id"], name="fk_class_events_sender_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_class_events"),
        sa.UniqueConstraint("live_class_id", "seq", name="uq_class_events_live_class_id_seq"),
    )
    op.create_index("ix_class_events_live_class_id", "class_events", ["live_class_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_class_events_live_class_id", table_name="class_events")
    op.drop_table("class_events")
    op.drop_table("class_knowledge_points")
    op.drop_index("ix_class_enrolments_student_id", table_name="class_enrolments")
    op.drop_table("class_enrolments")
    with op.batch_alter_table("class_attendances") as batch:
        batch.drop_column("left_at")
        batch.drop_column("present_since")
    op.drop_index("ix_live_classes_state_starts", table_name="live_classes")
    with op.batch_alter_table("live_classes") as batch:
        for column in reversed(_CLASS_COLUMNS):
            batch.drop_column(column.name)
