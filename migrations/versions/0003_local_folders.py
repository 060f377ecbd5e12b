"""Local folders: the folders a folder-source crawl has read, the only places local images are served from.

Folders crawled before this revision are found from their crawl checkpoints, whose partition key is the
folder's metadata.csv path (after an incremental run's "since-…/" prefix).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE local_folders (
            root text PRIMARY KEY,
            registered_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        r"""
        INSERT INTO local_folders (root)
        SELECT DISTINCT regexp_replace(regexp_replace(partition, '^since-[^/]*/', ''), '/metadata\.csv$', '')
        FROM crawl_checkpoints
        WHERE source = 'folder' AND partition ~ '/metadata\.csv$'
        ON CONFLICT (root) DO NOTHING
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS local_folders")
