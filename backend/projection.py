"""The global 2-D map: a fitted projection that places any CLIP vector at a stable (x, y) in [0, 1]."""

from dataclasses import dataclass

import numpy as np
import psycopg


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


def load_current(conn: psycopg.Connection) -> FittedProjection | None:
    """The newest projection that can place new vectors (PCA), or None before the first fit."""
    row = conn.execute(
        "SELECT id, params FROM projections WHERE params ? 'components' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return FittedProjection.from_params(row[0], row[1]) if row else None
