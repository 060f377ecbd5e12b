"""The HNSW index over half-precision copies of the vectors (halfvec): half the memory of one over vector(512), the
same recall at 560,000 (docs/performance.md); the column stays vector(512) for scores and exact search.

An existing index is rebuilt here: minutes for a few hundred thousand vectors, during which searches scan exactly.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS embeddings_hnsw_idx")
    op.execute(
        "CREATE INDEX embeddings_hnsw_idx ON embeddings USING hnsw ((embedding::halfvec(512)) halfvec_ip_ops) "
        "WITH (m = 16, ef_construction = 128)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS embeddings_hnsw_idx")
    op.execute(
        "CREATE INDEX embeddings_hnsw_idx ON embeddings USING hnsw (embedding vector_ip_ops) "
        "WITH (m = 16, ef_construction = 128)"
    )
