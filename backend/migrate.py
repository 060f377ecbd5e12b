"""Schema changes go through alembic only: upgrade/downgrade the database at a URL."""

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import OperationalError

from backend.database import connect, sqlalchemy_url
from backend.errors import ArtsearchError
from backend.models import EMBEDDING_DIM
from backend.store.schema import require_pgvector, vector_dimension

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An alembic Config for our migrations/ folder and this database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision`."""
    with connect(url) as conn:  # the clear one-line errors: an unreachable database, an old pgvector
        require_pgvector(conn, installed=False)
    try:
        command.upgrade(alembic_config(url), revision)
    except OperationalError as exc:
        raise ArtsearchError(f"migration failed: {exc.orig}") from exc


def downgrade(url: str, revision: str = "base") -> None:
    """Take the schema down to `revision`."""
    command.downgrade(alembic_config(url), revision)


def check_model_dimension(conn: psycopg.Connection, model_dim: int, model_name: str) -> None:
    """Refuse a model whose vectors would not fit the column, with a message that says what to do."""
    column_dim = vector_dimension(conn) or EMBEDDING_DIM
    if model_dim != column_dim:
        raise ArtsearchError(
            f"model {model_name} makes {model_dim}-d vectors but the embeddings column holds {column_dim}-d; "
            f"use a CLIP model with projection_dim={column_dim} (e.g. openai/clip-vit-base-patch32) "
            "or add a migration that changes the column"
        )
