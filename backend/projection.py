"""The global 2-D map: a fitted projection that places any CLIP vector at a stable (x, y) in [0, 1].

Two methods, one interface (`load_current(conn).transform(vectors)`), used by the pipeline's write stage for
new embeddings and by the API for query points:
- PCA (default): the vectors' two principal axes, scaled into [0, 1] by a box fitted on the collection.
- UMAP: coordinates for the fitted vectors come from UMAP itself; anything else (a later-embedded artwork, a
  text or image query) is placed at the mean of its nearest anchors' coordinates, the anchors being a random
  subset of the fitted vectors stored with the version. A neighbour-mean always lands inside the map.
"""

import base64
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import psycopg

from backend.errors import ArtsearchError
from backend.map_levels import assign_zooms, stable_priority
from backend.map_regions import region_labels
from backend.settings import Settings
from backend.store import projections as store
from backend.store.tiles import FullTiles, choose_zooms

Method = Literal["pca", "umap"]
FIT_SAMPLE = 50_000  # enough to pin the axes of any collection; more only costs time
BOX_PERCENTILES = (0.5, 99.5)  # outliers do not stretch the map
BOX_MARGIN = 0.05  # room beyond the collection's extent for queries, which land off the image cloud
UMAP_ANCHORS = 2048
ANCHOR_NEIGHBOURS = 10
MIN_FIT = 3


@dataclass(frozen=True)
class FittedProjection:
    """A stored PCA map: centre, two axes, and the affine box that scales them into [0, 1]."""

    id: int
    mean: np.ndarray  # (dim,)
    components: np.ndarray  # (2, dim)
    low: np.ndarray  # (2,) maps to 0
    high: np.ndarray  # (2,) maps to 1

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) unit vectors → (N, 2) coordinates, clipped into [0, 1]."""
        projected = (np.asarray(vectors, dtype=np.float32) - self.mean) @ self.components.T
        scaled = (projected - self.low) / (self.high - self.low)
        return np.clip(scaled, 0.0, 1.0).astype(np.float32)

    @classmethod
    def from_params(cls, projection_id: int, params: dict) -> "FittedProjection":
        """Rebuild from the JSON kept in projections.params."""
        return cls(
            id=projection_id,
            mean=np.asarray(params["mean"], dtype=np.float32),
            components=np.asarray(params["components"], dtype=np.float32),
            low=np.asarray(params["low"], dtype=np.float32),
            high=np.asarray(params["high"], dtype=np.float32),
        )


@dataclass(frozen=True)
class NeighbourProjection:
    """A stored UMAP map: anchor vectors with their map coordinates; new vectors go to their neighbours' mean."""

    id: int
    anchors: np.ndarray  # (n, dim) unit vectors
    anchor_xy: np.ndarray  # (n, 2) in [0, 1]
    neighbours: int

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) unit vectors → (N, 2): the mean coordinates of each vector's nearest anchors."""
        similarity = np.asarray(vectors, dtype=np.float32) @ self.anchors.T
        k = min(self.neighbours, len(self.anchors))
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        return self.anchor_xy[nearest].mean(axis=1).astype(np.float32)

    @classmethod
    def from_params(cls, projection_id: int, params: dict) -> "NeighbourProjection":
        """Rebuild from the JSON kept in projections.params (anchors as base64 float16)."""
        xy = np.asarray(params["anchor_xy"], dtype=np.float32).reshape(-1, 2)
        packed = np.frombuffer(base64.b64decode(params["anchors"]), dtype=np.float16)
        return cls(projection_id, packed.astype(np.float32).reshape(len(xy), -1), xy, int(params["neighbours"]))


MapProjection = FittedProjection | NeighbourProjection


@dataclass(frozen=True)
class ProjectionSummary:
    """What a fit did, for the CLI and `artsearch run`."""

    projection_id: int
    method: str
    n_fitted: int
    n_placed: int
    seconds: float


def from_row(projection_id: int, method: str, params: dict) -> MapProjection:
    """The projection object for a stored version."""
    if method == "umap":
        return NeighbourProjection.from_params(projection_id, params)
    return FittedProjection.from_params(projection_id, params)


def load_current(conn: psycopg.Connection) -> MapProjection | None:
    """The newest projection version, able to place new vectors, or None before the first fit."""
    stored = store.current_projection(conn)
    return from_row(stored.id, stored.method, stored.params) if stored else None


def fit_pca_params(vectors: np.ndarray) -> dict[str, Any]:
    """PCA's centre and two axes, plus the box that maps the collection into [0, 1] with a margin."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=0).fit(vectors)
    low, high = scaling_box(pca.transform(vectors))
    return {
        "mean": pca.mean_.tolist(),
        "components": pca.components_.tolist(),
        "low": low.tolist(),
        "high": high.tolist(),
    }


def scaling_box(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (low, high) corners: robust percentiles widened by the margin, never of zero width."""
    low, high = np.percentile(coords, BOX_PERCENTILES, axis=0)
    span = np.maximum(high - low, 1e-6)
    return low - BOX_MARGIN * span, high + BOX_MARGIN * span


def fit_umap(vectors: np.ndarray) -> np.ndarray:
    """UMAP coordinates of these vectors, scaled into [0, 1] like the PCA map."""
    try:
        import umap
    except ImportError as exc:
        raise ArtsearchError("--method umap needs umap-learn: pip install 'artsearch[umap]'") from exc
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=min(15, len(vectors) - 1),
        metric="euclidean",  # on unit vectors this ranks neighbours exactly like cosine, and is faster
        random_state=0,  # a reproducible map; UMAP then runs single-threaded
        n_jobs=1,
    )
    coords = reducer.fit_transform(vectors)
    low, high = scaling_box(coords)
    return np.clip((coords - low) / (high - low), 0.0, 1.0).astype(np.float32)


def umap_params(vectors: np.ndarray, xy: np.ndarray) -> dict[str, Any]:
    """A random subset of the fitted vectors and their coordinates: what places new vectors later."""
    pick = np.random.default_rng(0).permutation(len(vectors))[:UMAP_ANCHORS]
    anchors = vectors[pick].astype(np.float16)
    return {
        "anchors": base64.b64encode(anchors.tobytes()).decode("ascii"),
        "anchor_xy": xy[pick].tolist(),
        "neighbours": ANCHOR_NEIGHBOURS,
    }


def fit_projection(
    settings_or_conn: Settings | psycopg.Connection, method: Method = "pca", sample: int = FIT_SAMPLE
) -> ProjectionSummary:
    """Fit a new map version on (a sample of) the collection and move every artwork onto it, atomically."""
    if isinstance(settings_or_conn, Settings):
        from backend.database import connect, database_url

        with connect(database_url(settings_or_conn)) as conn:
            return fit_projection(conn, method, sample)
    return _fit(settings_or_conn, method, sample)


def _fit(conn: psycopg.Connection, method: Method, sample: int) -> ProjectionSummary:
    started = time.perf_counter()
    if method not in ("pca", "umap"):
        raise ArtsearchError(f"unknown projection method {method!r}; use pca or umap")
    ids, vectors = store.sample_embeddings(conn, sample)
    if len(ids) < MIN_FIT:
        raise ArtsearchError(
            f"{len(ids)} embedded artworks: a map needs at least {MIN_FIT}; run `artsearch embed` first"
        )
    model = store.most_common_model(conn)
    if method == "umap":
        fitted_xy = fit_umap(vectors)
        params = umap_params(vectors, fitted_xy)
    else:
        params = fit_pca_params(vectors)
    projection_id = store.insert_projection(conn, method, model, len(ids), params)
    projection = from_row(projection_id, method, params)
    all_ids, all_xy = _place_all(conn, projection)
    if method == "umap":  # the fitted vectors keep their own UMAP coordinates
        _overwrite(all_ids, all_xy, ids, fitted_xy)
    zooms = assign_zooms(all_xy, stable_priority(all_ids))
    placed = store.write_coordinates(conn, projection_id, all_ids, all_xy, zooms)
    regions = region_labels(all_xy, *store.facets_of(conn, all_ids))
    store.set_regions(conn, projection_id, [region.as_dict() for region in regions])
    conn.commit()  # the whole collection switches to the new map at once
    placed += _place_stragglers(conn, projection)
    return ProjectionSummary(projection_id, method, len(ids), placed, round(time.perf_counter() - started, 3))


def _place_all(conn: psycopg.Connection, projection: MapProjection) -> tuple[np.ndarray, np.ndarray]:
    """Every stored vector's coordinates under this projection, sorted by artwork id."""
    batches = [(ids, projection.transform(vectors)) for ids, vectors in store.iter_embeddings(conn)]
    ids = np.concatenate([b[0] for b in batches])
    xy = np.concatenate([b[1] for b in batches])
    order = np.argsort(ids)
    return ids[order], xy[order]


def _overwrite(all_ids: np.ndarray, all_xy: np.ndarray, ids: np.ndarray, xy: np.ndarray) -> None:
    """Put these ids' coordinates into the sorted arrays (ids gone since the sample are skipped)."""
    positions = np.minimum(np.searchsorted(all_ids, ids), len(all_ids) - 1)
    present = all_ids[positions] == ids
    all_xy[positions[present]] = xy[present]


def _place_stragglers(conn: psycopg.Connection, projection: MapProjection) -> int:
    """Vectors the pipeline wrote with the previous version while this one was being fitted."""
    placed = 0
    full = FullTiles()
    while True:
        ids, vectors = store.unplaced_embeddings(conn, projection.id)
        if not len(ids):
            return placed
        xy = projection.transform(vectors)
        placed += store.write_coordinates(conn, projection.id, ids, xy, choose_zooms(conn, projection.id, xy, full))
        conn.commit()
