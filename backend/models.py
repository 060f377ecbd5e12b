"""The database schema as SQLModel tables: the one description both the ETL and the API read.

Alembic migrations in migrations/ create exactly these tables (tests/test_migrations.py checks that they agree).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pgvector.sqlalchemy import HALFVEC, Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    UniqueConstraint,
    cast,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, REAL
from sqlmodel import Field, SQLModel

EMBEDDING_DIM = 512  # the vector column's dimension: ViT-B/32's projection_dim
HNSW_INDEX = "embeddings_hnsw_idx"
# The graph indexes half-precision copies of the vectors: half the memory of vector(512) at the same recall, while
# the column keeps float32 for scores and exact search. m and ef_construction were chosen at 560,000 vectors
# (benchmarks/index.py; the table is in docs/performance.md).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
HNSW_KEY = f"embedding::halfvec({EMBEDDING_DIM})"  # what the index orders by; a search must order by the same
HNSW_OPS = "halfvec_ip_ops"


class EmbedStatus(StrEnum):
    """Where an artwork stands in the embedding queue: the one list the CHECK constraint, the SQL and Python share."""

    PENDING = "pending"
    CLAIMED = "claimed"  # under a worker's lease
    EMBEDDED = "embedded"
    FAILED = "failed"  # permanently, with its reason


ALL_STATES = "(" + ", ".join(f"'{status}'" for status in EmbedStatus) + ")"
QUEUED = f"('{EmbedStatus.PENDING}', '{EmbedStatus.CLAIMED}')"  # the states a worker may still claim


def _now_column() -> Column:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Artwork(SQLModel, table=True):
    """One work of one museum, normalised from its source record, with its embedding state."""

    __tablename__ = "artworks"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="artworks_source_source_id_key"),
        CheckConstraint(f"embed_status IN {ALL_STATES}", name="artworks_embed_status_check"),
        # The work-claiming query scans only this small index.
        Index(
            "artworks_claimable_idx",
            "id",
            postgresql_where=text(f"embed_status IN {QUEUED}"),
        ),
        Index("artworks_source_status_idx", "source", "embed_status"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    source: str = Field(sa_column=Column(Text, nullable=False))
    source_id: str = Field(sa_column=Column(Text, nullable=False))
    title: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    maker: str | None = Field(default=None, sa_column=Column(Text))
    date_display: str | None = Field(default=None, sa_column=Column(Text))
    year_start: int | None = Field(default=None, sa_column=Column(Integer))
    year_end: int | None = Field(default=None, sa_column=Column(Integer))
    object_type: str | None = Field(default=None, sa_column=Column(Text))
    description: str | None = Field(default=None, sa_column=Column(Text))
    license: str | None = Field(default=None, sa_column=Column(Text))
    institution: str | None = Field(default=None, sa_column=Column(Text))  # the museum that holds the work
    object_number: str | None = Field(default=None, sa_column=Column(Text))  # that museum's inventory number
    image_url: str | None = Field(default=None, sa_column=Column(Text))  # the rendition we embed
    thumbnail_url: str | None = Field(default=None, sa_column=Column(Text))
    full_image_url: str | None = Field(default=None, sa_column=Column(Text))
    page_url: str | None = Field(default=None, sa_column=Column(Text))
    raw: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    )
    deleted: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    embed_status: str = Field(
        default=EmbedStatus.PENDING,
        sa_column=Column(Text, nullable=False, server_default=text(f"'{EmbedStatus.PENDING}'")),
    )
    lease_expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    embed_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    embed_error: str | None = Field(default=None, sa_column=Column(Text))  # the failure's class, counted by status
    embed_error_detail: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())
    updated_at: datetime | None = Field(default=None, sa_column=_now_column())


class Projection(SQLModel, table=True):
    """A fitted 2-D map: method, parameters to place new vectors, and when it was made."""

    __tablename__ = "projections"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    method: str = Field(sa_column=Column(Text, nullable=False))
    model: str = Field(sa_column=Column(Text, nullable=False))
    n_fitted: int = Field(sa_column=Column(Integer, nullable=False))
    # PCA: mean, components and the affine scaling into [0, 1]; empty for UMAP (coordinates only).
    params: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    )
    # moves each time works are placed on this version after its fit: tile URLs carry it (backend.map_tiles)
    revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    # labels for the map's regions at coarse zooms (backend.map_regions), computed by the fit
    regions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    created_at: datetime | None = Field(default=None, sa_column=_now_column())


class Embedding(SQLModel, table=True):
    """An artwork's CLIP image vector (unit length), under the HNSW index; its map position is in map_positions."""

    __tablename__ = "embeddings"
    __table_args__ = (
        Index(
            HNSW_INDEX,
            cast(column("embedding"), HALFVEC(EMBEDDING_DIM)).label("embedding_half"),
            postgresql_using="hnsw",
            postgresql_with={"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION},
            postgresql_ops={"embedding_half": HNSW_OPS},
        ),
    )

    artwork_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(sa_column=Column(Text, nullable=False))
    embedding: Any = Field(sa_column=Column(Vector(EMBEDDING_DIM), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())


class MapPosition(SQLModel, table=True):
    """An artwork's (x, y) on a map version, apart from its vector: a refit rewrites these small rows only,
    never the embeddings rows under the HNSW index."""

    __tablename__ = "map_positions"
    __table_args__ = (
        Index("map_positions_tiles", "projection_id", "zoom", "tile_key"),  # a tile's listed works
        Index("map_positions_density", "projection_id", "tile_key"),  # every work in a tile, for its density grid
    )

    artwork_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True)
    )
    projection_id: int = Field(
        sa_column=Column(Integer, ForeignKey("projections.id", ondelete="CASCADE"), nullable=False)
    )
    x: float = Field(sa_column=Column(REAL, nullable=False))
    y: float = Field(sa_column=Column(REAL, nullable=False))
    # the first zoom the work is listed at (backend.map_levels); NULL when placed since the last fit
    zoom: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    tile_key: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # Morton code at zoom 20


class Thumbnail(SQLModel, table=True):
    """A work's small picture for the map's tile atlases, made by the embed stage from the image it decoded."""

    __tablename__ = "thumbnails"

    artwork_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("artworks.id", ondelete="CASCADE"), primary_key=True)
    )
    image: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # JPEG
    width: int = Field(sa_column=Column(SmallInteger, nullable=False))
    height: int = Field(sa_column=Column(SmallInteger, nullable=False))


class CrawlCheckpoint(SQLModel, table=True):
    """Where a source's partition stopped: moved in the same transaction as the records of each page."""

    __tablename__ = "crawl_checkpoints"

    source: str = Field(sa_column=Column(Text, primary_key=True))
    partition: str = Field(sa_column=Column(Text, primary_key=True))
    cursor: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    )
    done: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false")))
    records: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    updated_at: datetime | None = Field(default=None, sa_column=_now_column())


class CrawlFailure(SQLModel, table=True):
    """A permanent crawl error (bad record, dead page) kept with its reason."""

    __tablename__ = "crawl_failures"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    source: str = Field(sa_column=Column(Text, nullable=False))
    partition: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = Field(default=None, sa_column=Column(Text))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now_column())


class LocalFolder(SQLModel, table=True):
    """A folder a folder-source crawl has read: local images are served and embedded from these alone."""

    __tablename__ = "local_folders"

    root: str = Field(sa_column=Column(Text, primary_key=True))
    registered_at: datetime | None = Field(default=None, sa_column=_now_column())


class Run(SQLModel, table=True):
    """One crawl → embed → project run, scheduled or by hand, and what it did."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'succeeded', 'failed', 'skipped')", name="runs_status_check"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    trigger: str = Field(sa_column=Column(Text, nullable=False))
    sources: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    status: str = Field(default="running", sa_column=Column(Text, nullable=False, server_default=text("'running'")))
    started_at: datetime | None = Field(default=None, sa_column=_now_column())
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    summary: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default=text("'{}'::jsonb"))
    )
