"""The map at a whole museum's size: N synthetic works (clustered vectors with metadata that follows them, and
thumbnails made from real paintings) → the PCA fit with its zoom levels and region labels → tiles and atlases
served by a real `artsearch serve`.

Prints one JSON object: the fit and the zoom assignment alone, tile JSON p50/p99 cold (first request after the
server starts) and warm, atlas build and cached-serve times, bytes per tile and per atlas, the largest tile at each
zoom, the filters' facets counted (first request) and cached, placing works embedded after the fit, and the
database size the thumbnails add. Runs on a temporary embedded Postgres; the HNSW index is dropped first (the map
never reads it, and building it is benchmarks/scale.py's part).

    .venv/bin/python benchmarks/map.py [--works 500000] [--tiles-per-zoom 40]
"""

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.database import connect, start_embedded, stop_embedded  # noqa: E402
from backend.images import make_thumbnail  # noqa: E402
from backend.map_levels import assign_zooms, stable_priority, tile_index  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models import HNSW_INDEX  # noqa: E402
from backend.projection import fit_projection, load_current  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.store.embed_queue import ClaimedArtwork, save_embeddings  # noqa: E402
from backend.store.tiles import FullTiles  # noqa: E402
from benchmarks.harness import artsearch_env, start_server  # noqa: E402
from benchmarks.search import copy_vectors  # noqa: E402
from benchmarks.synthetic import collection  # noqa: E402
from benchmarks.timing import latency, ms  # noqa: E402
from tests.helpers import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAINTINGS = [ROOT.parent / "shared" / "data" / "images", ROOT / "etl" / "sample_collection" / "images"]
THUMBNAIL_POOL = 2_000  # distinct thumbnails, reused round the collection: real JPEG sizes without 500,000 encodes
TYPES = ["Painting", "Print", "Drawing", "Photograph", "Vase", "Textile", "Coin", "Sculpture"]
MAKERS = [f"Maker {n}" for n in range(300)]
MUSEUMS = [
    ("aic", "Art Institute of Chicago"), ("rijksmuseum", "Rijksmuseum"), ("met", "The Metropolitan Museum of Art"),
    ("cleveland", "Cleveland Museum of Art"),
]  # fmt: skip
FACET_REQUESTS = 200
LATE_PLACED = 3_200


def thumbnail_pool(rng: np.random.Generator) -> list[tuple[bytes, int, int]]:
    """Thumbnails of random crops of real paintings, as the embed stage makes them."""
    files = [p for root in PAINTINGS if root.is_dir() for p in sorted(root.rglob("*.jpg"))]
    pool = []
    for n in range(THUMBNAIL_POOL):
        with Image.open(files[n % len(files)]) as image:
            image.draft("RGB", (256, 256))
            picture = image.convert("RGB")
        w, h = picture.size
        left, top = int(rng.integers(0, w // 4 + 1)), int(rng.integers(0, h // 4 + 1))
        crop = picture.crop((left, top, left + int(w * rng.uniform(0.6, 0.75)), top + int(h * rng.uniform(0.6, 0.75))))
        thumbnail = make_thumbnail(crop)
        pool.append((thumbnail.jpeg, thumbnail.width, thumbnail.height))
    return pool


def metadata(vectors: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str], np.ndarray]:
    """Object type, maker and year that follow the vectors (so regions of the map differ), with noise."""
    types = np.argmax(vectors @ rng.normal(size=(vectors.shape[1], len(TYPES))), axis=1)
    makers = np.argmax(vectors @ rng.normal(size=(vectors.shape[1], len(MAKERS))), axis=1)
    years = 1500 + (np.tanh(vectors @ rng.normal(size=vectors.shape[1]) * 3) + 1) * 200
    noisy = rng.random(len(vectors)) < 0.3
    types[noisy] = rng.integers(0, len(TYPES), noisy.sum())
    return [TYPES[t] for t in types], [MAKERS[m] for m in makers], years.astype(int)


def load(url: str, vectors: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """COPY works, vectors and thumbnails in, as a finished embed run leaves them."""
    types, makers, years = metadata(vectors, rng)
    pool = thumbnail_pool(rng)
    started = time.perf_counter()
    with connect(url) as conn:
        conn.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX}")
        columns = "source, institution, source_id, title, maker, object_type, year_start, embed_status"
        with conn.cursor().copy(f"COPY artworks ({columns}) FROM STDIN") as copy:
            for n in range(len(vectors)):
                museum = MUSEUMS[n % len(MUSEUMS)]
                copy.write_row((*museum, str(n), f"work {n}", makers[n], types[n], int(years[n]), "embedded"))
        copy_vectors(conn, vectors)
        copied = time.perf_counter()
        with conn.cursor().copy("COPY thumbnails (artwork_id, image, width, height) FROM STDIN") as copy:
            for artwork_id in range(1, len(vectors) + 1):
                copy.write_row((artwork_id, *pool[artwork_id % len(pool)]))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        return {
            "copy_works_and_vectors_s": round(copied - started, 1),
            "copy_thumbnails_s": round(time.perf_counter() - copied, 1),
            "thumbnail_bytes_mean": round(float(np.mean([len(t[0]) for t in pool])), 1),
        }


def sizes(url: str) -> dict[str, float]:
    """What the map's tables take on disk."""
    with connect(url) as conn:
        mb = lambda table: round(conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0] / 2**20, 1)  # noqa: E731
        return {"thumbnails_mb": mb("thumbnails"), "map_positions_mb": mb("map_positions")}


def levels(url: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every placed work's id, (x, y) and first zoom."""
    with connect(url) as conn:
        rows = conn.execute("SELECT artwork_id, x, y, zoom FROM map_positions", binary=True).fetchall()
    return (
        np.array([r[0] for r in rows]),
        np.array([r[1:3] for r in rows], dtype=np.float32),
        np.array([r[3] for r in rows]),
    )


def largest_tiles(xy: np.ndarray, zooms: np.ndarray) -> dict[int, dict[str, int]]:
    """Per zoom: the most works one tile lists, the most works one tile holds, and how many tiles hold any."""
    report = {}
    for zoom in range(int(zooms.max()) + 1):
        listed = np.unique(tile_index(xy[zooms <= zoom], zoom), return_counts=True)[1]
        held = np.unique(tile_index(xy, zoom), return_counts=True)[1]
        report[zoom] = {"most_listed": int(listed.max()), "most_held": int(held.max()), "tiles": len(held)}
    return report


def sample_tiles(xy: np.ndarray, deepest: int, per_zoom: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Up to per_zoom non-empty tiles at each zoom, in a random order (as a browser's pans would ask)."""
    tiles = []
    for zoom in range(deepest + 1):
        occupied = np.unique(tile_index(xy, zoom))
        for tile in rng.choice(occupied, size=min(per_zoom, len(occupied)), replace=False).tolist():
            tiles.append((zoom, *divmod(tile, 1 << zoom)))
    random.Random(0).shuffle(tiles)
    return tiles


def get(connection: http.client.HTTPConnection, path: str) -> tuple[float, bytes]:
    """One GET on a kept-alive connection: seconds and body."""
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    seconds = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
    return seconds, body


def measure_tiles(port: int, tiles: list[tuple[int, int, int]]) -> dict[str, object]:
    """Tile JSON cold then warm, then each tile's atlas: its build (first request) and cached serve."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    info = json.loads(get(connection, "/api/map")[1])
    version = info["version"]
    paths = [f"/api/map/{version}/tiles/{z}/{x}/{y}" for z, x, y in tiles]
    cold = [get(connection, path) for path in paths]
    warm = [get(connection, path)[0] for path in paths]
    bodies = [json.loads(body) for _, body in cold]
    atlases = [body["atlas_url"] for body in bodies if body["atlas_url"]]
    built = [get(connection, path) for path in atlases]
    cached = [get(connection, path)[0] for path in atlases]
    by_zoom: dict[int, list[float]] = {}
    for (zoom, _, _), (seconds, _) in zip(tiles, cold, strict=True):
        by_zoom.setdefault(zoom, []).append(seconds)
    return {
        "map": {key: info[key] for key in ("version", "max_zoom", "placed", "listed")}
        | {"regions": len(info["regions"])},
        "tiles_requested": len(paths),
        "tile_json_cold": latency([seconds for seconds, _ in cold]),
        "tile_json_warm": latency(warm),
        "tile_json_cold_p50_ms_by_zoom": {zoom: ms(times, 50) for zoom, times in sorted(by_zoom.items())},
        "tile_json_bytes": {"p50": int(np.median([len(b) for _, b in cold])), "max": max(len(b) for _, b in cold)},
        "atlases_requested": len(atlases),
        "atlas_build": latency([seconds for seconds, _ in built]),
        "atlas_cached": latency(cached),
        "atlas_bytes": {"p50": int(np.median([len(b) for _, b in built])), "max": max(len(b) for _, b in built)},
        "works_per_tile_max": max(len(body["works"]) for body in bodies),
    }


def measure_facets(port: int) -> dict[str, object]:
    """GET /api/facets: the first request counts the whole collection, the rest are served from the cache."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cold, body = get(connection, "/api/facets")
    cached = [get(connection, "/api/facets")[0] for _ in range(FACET_REQUESTS)]
    facets = json.loads(body)
    return {
        "cold_ms": round(cold * 1000, 1),
        "cached": latency(cached),
        "total": facets["total"],
        "museums": len(facets["museums"]),
        "types": len(facets["types"]),
        "year_bins": len(facets["years"]["counts"]),
        "years_per_bin": facets["years"]["bin"],
        "bytes": len(body),
    }


def place_late_works(url: str, count: int, rng: np.random.Generator, kind: str, clusters: int) -> dict[str, object]:
    """Works embedded after the fit, written batch by batch as the write stage does, placed on the map and (for
    comparison, as many more) not: the cost per batch of 32 and what placing adds."""
    vectors = collection(kind, 2 * count, clusters, rng)
    with connect(url, autocommit=True) as conn:
        first = conn.execute("SELECT max(id) + 1 FROM artworks").fetchone()[0]
        columns = "source, source_id, title, embed_status, embed_attempts"
        with conn.cursor().copy(f"COPY artworks ({columns}) FROM STDIN") as copy:
            for n in range(2 * count):
                copy.write_row(("aic", f"late{n}", f"late work {n}", "claimed", 1))
        projection = load_current(conn)
        full, times = FullTiles(), {"placed": [], "not_placed": []}
        for start in range(0, 2 * count, 32):
            part = vectors[start : start + 32]
            claims = [ClaimedArtwork(first + start + i, "aic", None, 1) for i in range(len(part))]
            placed = start % 64 == 0  # alternate, so both see the same machine
            began = time.perf_counter()
            if placed:
                save_embeddings(conn, claims, part, "synthetic", projection.id, projection.transform(part), None, full)
            else:
                save_embeddings(conn, claims, part, "synthetic", None, None)
            times["placed" if placed else "not_placed"].append(time.perf_counter() - began)
    return {"works_each": count, "batch": 32} | {
        name: latency(seconds, "write_batch_") | {"works_per_s": round(32 * len(seconds) / sum(seconds))}
        for name, seconds in times.items()
    }


def start_and_load(
    pgdata: Path, works: int, clusters: int, kind: str, rng: np.random.Generator
) -> tuple[str, dict[str, float]]:
    """A migrated embedded Postgres in pgdata holding the synthetic collection: works, vectors and thumbnails."""
    url = start_embedded(pgdata, Settings().embedded_shared_buffers)
    upgrade(url)
    return url, load(url, collection(kind, works, clusters, rng), rng)


def tear_down(server: subprocess.Popen | None, pgdata: Path, work: Path) -> None:
    """Stop the server (if it started) and the database, and remove the working directory."""
    if server is not None:
        server.terminate()
        server.wait(timeout=30)
    stop_embedded(pgdata)
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Load, fit, serve, measure; one JSON object out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=500_000)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--kind", default="manifold")
    parser.add_argument("--tiles-per-zoom", type=int, default=40)
    args = parser.parse_args()

    from transformers import CLIPConfig

    from backend.clip_model import save_random_clip

    rng = np.random.default_rng(3)
    work = Path(tempfile.mkdtemp(prefix="asmap-"))
    pgdata, server = work / "pgdata", None
    report: dict[str, object] = {"benchmark": "map", "works": args.works, "cores": os.cpu_count()}
    try:
        url, report["load"] = start_and_load(pgdata, args.works, args.clusters, args.kind, rng)
        report["sizes_before_fit"] = sizes(url)
        with connect(url) as conn:
            report["fit"] = vars(fit_projection(conn, "pca"))
        ids, xy, zooms = levels(url)
        started = time.perf_counter()
        again = assign_zooms(xy, stable_priority(ids))
        report["assign_zooms_s"] = round(time.perf_counter() - started, 2)
        assert (again == zooms).all(), "the stored zooms are the ones assign_zooms gives"
        report["largest_tile_by_zoom"] = largest_tiles(xy, zooms)
        report["sizes"] = sizes(url)

        model = save_random_clip(work / "vit-b32-random", CLIPConfig())
        port = free_port()
        server = start_server(artsearch_env(work / "home", model, url), port)
        tiles = sample_tiles(xy, int(zooms.max()), args.tiles_per_zoom, rng)
        report["serve"] = measure_tiles(port, tiles)
        report["facets"] = measure_facets(port)  # after the tiles, whose cold figures it would warm
        report["placed_after_fit"] = place_late_works(url, LATE_PLACED, rng, args.kind, args.clusters)
    finally:
        tear_down(server, pgdata, work)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
