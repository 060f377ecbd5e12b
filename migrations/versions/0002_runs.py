"""Runs: one row per crawl → embed → project run (scheduled or by hand), with its summary.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE runs (
            id bigserial PRIMARY KEY,
            trigger text NOT NULL,
            sources text[] NOT NULL,
            status text NOT NULL DEFAULT 'running',
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            summary jsonb NOT NULL DEFAULT '{}'::jsonb,
            CONSTRAINT runs_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'skipped'))
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS runs")
