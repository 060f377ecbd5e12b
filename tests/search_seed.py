"""A small real collection for the search and API tests: the fixture paintings and variants of them,
inserted with plain SQL, their vectors made by the tiny CLIP through backend.images (what the pipeline does)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
from PIL import Image, ImageEnhance, ImageOps

from backend.clip_model import ClipModel, load_clip
from backend.database import connect
from backend.images import load_for_clip, normalise_batch
from backend.projection import fit_projection
from backend.store.local_folders import register_local_folder
from tests.helpers import FIXTURE_IMAGES, database_name, fresh_database, jpeg

VARIANTS = ("original", "mirrored", "inverted", "dark", "cropped")
SOURCES = ("aic", "rijksmuseum", "met")
TYPES = ("Painting", "Print")


@dataclass(frozen=True)
class Collection:
    """What was inserted: ids by (image, variant), the deleted artwork's id, the folder artwork's id."""

    ids: dict[tuple[str, str], int]
    deleted_id: int
    folder_id: int
    unembedded_id: int

    @property
    def live_ids(self) -> list[int]:
        return sorted(self.ids.values())


def variant(image: Image.Image, name: str) -> Image.Image:
    """The same painting changed enough to get its own vector."""
    if name == "mirrored":
        return ImageOps.mirror(image)
    if name == "inverted":
        return ImageOps.invert(image)
    if name == "dark":
        return ImageEnhance.Brightness(image).enhance(0.5)
    if name == "cropped":
        return image.crop((0, 0, image.width * 2 // 3, image.height * 2 // 3))
    return image


def embed_images(model: ClipModel, blobs: list[bytes]) -> np.ndarray:
    """Vectors the way the pipeline makes them."""
    spec = model.preprocess_spec
    return model.embed_pixels(normalise_batch([load_for_clip(blob, spec) for blob in blobs], spec))


def insert_artwork(conn: psycopg.Connection, vector: np.ndarray | None, **columns: object) -> int:
    names = list(columns)
    artwork_id = conn.execute(
        f"INSERT INTO artworks ({', '.join(names)}, embed_status) VALUES ({', '.join(['%s'] * len(names))}, %s) "
        "RETURNING id",
        [*columns.values(), "embedded" if vector is not None else "pending"],
    ).fetchone()[0]
    if vector is not None:
        conn.execute(
            "INSERT INTO embeddings (artwork_id, model, embedding) VALUES (%s, %s, %s)",
            (artwork_id, "tiny", vector),
        )
    return artwork_id


def seed_collection(db_url: str, model_dir: Path) -> Collection:
    """40 live embedded artworks (8 paintings x 5 variants), 1 deleted, 1 not embedded; one folder artwork."""
    model = load_clip(str(model_dir), device="cpu")
    originals = {path.stem: Image.open(path).convert("RGB") for path in FIXTURE_IMAGES}
    keys = [(stem, name) for stem in originals for name in VARIANTS]
    vectors = embed_images(model, [jpeg(variant(originals[stem], name), quality=90) for stem, name in keys])
    ids = {}
    local_file = FIXTURE_IMAGES[0].resolve().as_uri()  # the one folder artwork's image
    with connect(db_url) as conn:
        for n, ((stem, name), vector) in enumerate(zip(keys, vectors, strict=True)):
            folder = n == 0
            ids[(stem, name)] = insert_artwork(
                conn,
                vector,
                source="folder" if folder else SOURCES[n % len(SOURCES)],
                source_id=f"{stem}-{name}",
                title=f"{stem} ({name})",
                maker="Fixture Painter",
                date_display=str(1600 + 5 * n),
                year_start=1600 + 5 * n,
                year_end=1600 + 5 * n,
                object_type=TYPES[n % len(TYPES)],
                image_url=local_file if folder else f"https://images.example/{stem}-{name}.jpg",
                thumbnail_url=None if folder else f"https://images.example/{stem}-{name}-thumb.jpg",
                page_url=f"https://museum.example/{stem}-{name}",
                raw=psycopg.types.json.Jsonb({"file": local_file} if folder else {"n": n}),
            )
        deleted_id = insert_artwork(
            conn, vectors[1], source="aic", source_id="gone", title="deleted twin", deleted=True
        )
        unembedded_id = insert_artwork(conn, None, source="aic", source_id="pending", title="not embedded yet")
        register_local_folder(conn, FIXTURE_IMAGES[0].parent.resolve())
    return Collection(ids, deleted_id, ids[keys[0]], unembedded_id)


@contextmanager
def seeded_template(server_url: str, model_dir: Path) -> Iterator[tuple[str, Collection]]:
    """A migrated database holding the seeded collection on a fitted PCA map, to copy per test."""
    with fresh_database(server_url, "s") as url:
        collection = seed_collection(url, model_dir)
        with connect(url) as conn:
            fit_projection(conn)
        yield database_name(url), collection
