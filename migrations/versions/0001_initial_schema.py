"""Initial schema: artworks with embedding state, embeddings under HNSW, projections, map positions,
crawl checkpoints.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(
        """
        CREATE TABLE artworks (
            id bigserial PRIMARY KEY,
            source text NOT NULL,
            source_id text NOT NULL,
            title text NOT NULL DEFAULT '',
            maker text,
            date_display text,
            year_start integer,
            year_end integer,
            object_type text,
            description text,
            license text,
            image_url text,
            thumbnail_url text,
            full_image_url text,
            page_url text,
            raw jsonb NOT NULL DEFAULT '{}'::jsonb,
            deleted boolean NOT NULL DEFAULT false,
            embed_status text NOT NULL DEFAULT 'pending',
            lease_expires_at timestamptz,
            embed_attempts integer NOT NULL DEFAULT 0,
            embed_error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT artworks_source_source_id_key UNIQUE (source, source_id),
            CONSTRAINT artworks_embed_status_check
                CHECK (embed_status IN ('pending', 'claimed', 'embedded', 'failed'))
        )
        """
    )
    op.execute("CREATE INDEX artworks_claimable_idx ON artworks (id) WHERE embed_status IN ('pending', 'claimed')")
    op.execute("CREATE INDEX artworks_source_status_idx ON artworks (source, embed_status)")
    op.execute(
        """
        CREATE TABLE projections (
            id serial PRIMARY KEY,
            method text NOT NULL,
            model text NOT NULL,
            n_fitted integer NOT NULL,
            params jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE TABLE embeddings (
            artwork_id bigint PRIMARY KEY REFERENCES artworks (id) ON DELETE CASCADE,
            model text NOT NULL,
            embedding vector(512) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Inner product on unit vectors ranks exactly like cosine and is cheaper to compute.
    op.execute(
        "CREATE INDEX embeddings_hnsw_idx ON embeddings USING hnsw (embedding vector_ip_ops) "
        "WITH (m = 16, ef_construction = 128)"
    )
    # Map coordinates live apart from the vectors: a refit rewrites every position, and in embeddings each
    # rewritten ~2 KB row would be a new row version inserted into the HNSW index again.
    op.execute(
        """
        CREATE TABLE map_positions (
            artwork_id bigint PRIMARY KEY REFERENCES artworks (id) ON DELETE CASCADE,
            projection_id integer NOT NULL REFERENCES projections (id) ON DELETE CASCADE,
            x real NOT NULL,
            y real NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE crawl_checkpoints (
            source text NOT NULL,
            partition text NOT NULL,
            cursor jsonb NOT NULL DEFAULT '{}'::jsonb,
            done boolean NOT NULL DEFAULT false,
            records integer NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (source, partition)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE crawl_failures (
            id bigserial PRIMARY KEY,
            source text NOT NULL,
            partition text,
            url text,
            reason text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    for table in ("crawl_failures", "crawl_checkpoints", "map_positions", "embeddings", "projections", "artworks"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
