"""The folders a folder-source crawl has read: the only places a local image may be served or read from."""

from pathlib import Path

import psycopg

REGISTER_LOCAL_FOLDER = "INSERT INTO local_folders (root) VALUES (%s) ON CONFLICT (root) DO NOTHING"
LOCAL_FOLDER_ROOTS = "SELECT root FROM local_folders ORDER BY root"


def register_local_folder(conn: psycopg.Connection, root: Path) -> None:
    """Remember a crawled folder (resolved), so its images may be embedded and served."""
    with conn.transaction():
        conn.execute(REGISTER_LOCAL_FOLDER, (str(root),))


def local_folder_roots(conn: psycopg.Connection) -> list[Path]:
    """Every crawled folder."""
    return [Path(root) for (root,) in conn.execute(LOCAL_FOLDER_ROOTS).fetchall()]
