"""The global map: PCA and UMAP fits, stored versions, and placing vectors that arrive later."""

import json

import numpy as np
import psycopg
import pytest

from backend.database import connect
from backend.errors import ArtsearchError
from backend.map_levels import TILE_CAPACITY, tile_index, tile_key_range
from backend.projection import (
    FittedProjection,
    NeighbourProjection,
    fit_projection,
    from_row,
    load_current,
    umap_params,
)
from tests.helpers import clustered_unit_vectors, run_artsearch
from tests.search_seed import insert_artwork


def fill(conn: psycopg.Connection, vectors: np.ndarray, batch: str = "a") -> list[int]:
    ids = [insert_artwork(conn, vector, source="aic", source_id=f"{batch}{n}") for n, vector in enumerate(vectors)]
    conn.commit()
    return ids


def stored(conn: psycopg.Connection) -> dict[int, tuple[float, float, int]]:
    rows = conn.execute(
        "SELECT e.artwork_id, m.x, m.y, m.projection_id "
        "FROM embeddings e LEFT JOIN map_positions m ON m.artwork_id = e.artwork_id"
    ).fetchall()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


@pytest.fixture
def conn(db_url: str) -> psycopg.Connection:
    with connect(db_url) as conn:
        yield conn


def test_pca_places_every_artwork_inside_the_unit_square(conn: psycopg.Connection) -> None:
    vectors = clustered_unit_vectors(300, 12, np.random.default_rng(1))
    ids = fill(conn, vectors)
    summary = fit_projection(conn, "pca")
    assert (summary.method, summary.n_fitted, summary.n_placed) == ("pca", 300, 300)
    placed = stored(conn)
    xy = np.array([placed[i][:2] for i in ids])
    assert xy.min() >= 0.0 and xy.max() <= 1.0
    assert xy.min(axis=0).max() < 0.1 and xy.max(axis=0).min() > 0.9  # the map is used, not a corner of it
    assert {placed[i][2] for i in ids} == {summary.projection_id}
    projection = load_current(conn)
    assert isinstance(projection, FittedProjection) and projection.id == summary.projection_id
    np.testing.assert_allclose(projection.transform(vectors), xy, atol=1e-5)


def test_a_fit_lists_every_work_at_a_zoom_and_no_tile_holds_more_than_its_capacity(
    conn: psycopg.Connection,
) -> None:
    fill(conn, clustered_unit_vectors(600, 5, np.random.default_rng(5)))
    fit_projection(conn, "pca")
    rows = conn.execute("SELECT x, y, zoom FROM map_positions").fetchall()
    xy, zooms = np.array([row[:2] for row in rows]), np.array([row[2] for row in rows])
    assert len(rows) == 600 and (zooms >= 0).all()
    for zoom in range(int(zooms.max()) + 1):
        tiles = tile_index(xy[zooms <= zoom], zoom)
        assert np.unique(tiles, return_counts=True)[1].max() <= TILE_CAPACITY
    assert (zooms == 0).sum() == TILE_CAPACITY  # the first screen is full
    tiles = tile_index(xy, 2)
    tile = int(np.bincount(tiles).argmax())
    low, high = tile_key_range(2, *divmod(tile, 4))
    listed = conn.execute(  # a tile's works at zoom 2: one index range per level, through map_positions_tiles
        "SELECT count(*) FROM map_positions WHERE zoom = ANY(%s) AND tile_key BETWEEN %s AND %s", ([0, 1, 2], low, high)
    ).fetchone()[0]
    assert listed == ((tiles == tile) & (zooms <= 2)).sum()
    newcomer = fill(conn, clustered_unit_vectors(1, 5, np.random.default_rng(6)), batch="b")[0]
    fit_projection(conn, "pca")  # a refit gives the newcomer its zoom too
    assert conn.execute("SELECT zoom FROM map_positions WHERE artwork_id = %s", (newcomer,)).fetchone()[0] is not None


def test_queries_far_from_the_collection_are_clipped_onto_the_map(conn: psycopg.Connection) -> None:
    fill(conn, clustered_unit_vectors(100, 5, np.random.default_rng(2)))
    fit_projection(conn)
    elsewhere = clustered_unit_vectors(50, 50, np.random.default_rng(3)) * -1
    xy = load_current(conn).transform(elsewhere)
    assert xy.min() >= 0.0 and xy.max() <= 1.0


def test_a_refit_is_a_new_version_and_moves_everyone(conn: psycopg.Connection) -> None:
    fill(conn, clustered_unit_vectors(120, 6, np.random.default_rng(4)))
    first = fit_projection(conn).projection_id
    fill(conn, clustered_unit_vectors(120, 6, np.random.default_rng(5)), batch="b")  # arrive without coordinates
    second = fit_projection(conn).projection_id
    assert second == first + 1
    assert {value[2] for value in stored(conn).values()} == {second}
    assert conn.execute("SELECT count(*) FROM projections").fetchone()[0] == 2


def test_a_refit_never_rewrites_the_vectors(conn: psycopg.Connection) -> None:
    """Positions live in map_positions: a fit or refit leaves every embeddings row (and its HNSW entry) as is."""
    fill(conn, clustered_unit_vectors(150, 6, np.random.default_rng(6)))
    versions = "SELECT artwork_id, ctid::text, xmin::text FROM embeddings ORDER BY artwork_id"
    untouched = conn.execute(versions).fetchall()
    fit_projection(conn)
    fit_projection(conn)
    assert conn.execute(versions).fetchall() == untouched
    assert conn.execute("SELECT count(*), count(DISTINCT projection_id) FROM map_positions").fetchone() == (150, 1)


def test_neighbour_placement_round_trips_through_its_params() -> None:
    vectors = clustered_unit_vectors(300, 6, np.random.default_rng(9))
    xy = np.random.default_rng(10).uniform(size=(300, 2)).astype(np.float32)
    projection = from_row(5, "umap", json.loads(json.dumps(umap_params(vectors, xy))))
    assert isinstance(projection, NeighbourProjection) and len(projection.anchors) == 300
    placed = projection.transform(vectors[:10])
    assert placed.min() >= 0.0 and placed.max() <= 1.0
    far = projection.transform(-vectors[:10])
    assert far.min() >= 0.0 and far.max() <= 1.0


@pytest.mark.slow  # numba compiles UMAP on first use: about a minute
def test_umap_map_places_later_vectors_by_their_neighbours(conn: psycopg.Connection) -> None:
    vectors = clustered_unit_vectors(200, 4, np.random.default_rng(6))
    ids = fill(conn, vectors)
    summary = fit_projection(conn, "umap")
    placed = stored(conn)
    xy = np.array([placed[i][:2] for i in ids])
    assert xy.min() >= 0.0 and xy.max() <= 1.0
    projection = load_current(conn)
    assert isinstance(projection, NeighbourProjection) and projection.id == summary.projection_id
    # a near-copy of a fitted vector lands beside it
    nudged = vectors[:20] + np.random.default_rng(7).normal(scale=0.01, size=(20, vectors.shape[1]))
    nudged /= np.linalg.norm(nudged, axis=1, keepdims=True)
    assert np.abs(projection.transform(nudged) - xy[:20]).max() < 0.15


def test_too_few_embeddings_is_a_clear_error(conn: psycopg.Connection) -> None:
    with pytest.raises(ArtsearchError, match="artsearch embed"):
        fit_projection(conn)
    with pytest.raises(ArtsearchError, match="unknown projection method"):
        fit_projection(conn, "tsne")  # type: ignore[arg-type]


def test_cli_project(cli_env: dict[str, str], db_url: str) -> None:
    with connect(db_url) as conn:
        fill(conn, clustered_unit_vectors(50, 3, np.random.default_rng(8)))
    done = run_artsearch(["project"], cli_env)
    assert done.returncode == 0, done.stderr
    assert "projection #1 (pca): fitted on 50 artworks, 50 placed" in done.stderr
    with connect(db_url) as conn:
        assert load_current(conn).id == 1
