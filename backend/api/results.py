"""Rows from the store → API answers: coordinates on the current map, and no URL but a web one ever leaves."""

from typing import Any

import numpy as np
import psycopg

from backend.api.current_map import CurrentMap
from backend.api.schemas import Point, Result
from backend.projection import MapProjection
from backend.store.search import vectors_of
from backend.url_policy import FOLDER_SOURCE, URL_FIELDS, is_web_url

RENDITIONS = {"image_url": "image", "thumbnail_url": "thumbnail", "full_image_url": "full"}


def placed_results(
    conn: psycopg.Connection, rows: list[dict[str, Any]], current_map: CurrentMap
) -> tuple[list[Result], MapProjection | None]:
    """Search hits as Results on the current map, and that map (to place the query on as well)."""
    projection = current_map.for_hits(conn, rows)
    return to_results(conn, rows, projection), projection


def to_results(conn: psycopg.Connection, rows: list[dict[str, Any]], projection: MapProjection | None) -> list[Result]:
    """Hits as Results; a hit stored under an older map version is placed with the current one."""
    stale = [row["id"] for row in rows if projection and row["projection_id"] != projection.id]
    placed: dict[int, tuple[float, float]] = {}
    if stale:
        vectors = vectors_of(conn, stale)
        xy = projection.transform(np.stack([vectors[artwork_id] for artwork_id in stale]))
        placed = dict(zip(stale, map(tuple, xy.tolist()), strict=True))
    results = []
    for row in rows:
        x, y = placed.get(row["id"], (row["x"], row["y"])) if projection else (None, None)
        results.append(Result(**{**public_urls(row), "x": x, "y": y, "score": min(max(row["score"], -1.0), 1.0)}))
    return results


def query_point(projection: MapProjection | None, vector: np.ndarray) -> Point | None:
    """Where a query vector lands on the current map."""
    if projection is None:
        return None
    x, y = projection.transform(vector[None, :])[0].tolist()
    return Point(x=x, y=y)


def public_urls(row: dict[str, Any]) -> dict[str, Any]:
    """The row with a folder work's file URLs replaced by this API's image route (the path stays on the server),
    and any URL that is not a web one dropped (a browser would follow a javascript: link)."""
    public = dict(row)
    for column in URL_FIELDS:
        url = row.get(column)
        if url and not is_web_url(url):
            local = row.get("source") == FOLDER_SOURCE and column in RENDITIONS and url.startswith("file://")
            public[column] = f"/api/artworks/{row['id']}/image?rendition={RENDITIONS[column]}" if local else None
    if "raw" in row:
        public["raw"] = _without_file_urls(row["raw"])
    return public


def _without_file_urls(value: Any) -> Any:
    """A source record with any file:// string dropped."""
    if isinstance(value, dict):
        return {key: _without_file_urls(item) for key, item in value.items() if not _is_file_url(item)}
    if isinstance(value, list):
        return [_without_file_urls(item) for item in value if not _is_file_url(item)]
    return value


def _is_file_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("file://")
