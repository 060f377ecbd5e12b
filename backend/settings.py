"""One pydantic-settings class for every process: crawler, embed workers, API and CLI."""

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from limits import RateLimitItem, parse_many
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
# auto: float16 on CUDA, bfloat16 on CPUs with native bf16, else float32; int8: CPU only (see backend.cpu_linear)
Precision = Literal["auto", "float32", "bfloat16", "float16", "int8"]
RATE_LIMIT_OFF = ("", "0", "off")
IMAGE_HOST = re.compile(r"(https?://)?(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?")


def rate_limits(spec: str) -> list[RateLimitItem]:
    """The limits of a setting such as "10/second;240/minute" (none for "0"); ValueError names a bad one."""
    return [] if spec.strip().lower() in RATE_LIMIT_OFF else parse_many(spec)


class Settings(BaseSettings):
    """Configuration read from the environment (prefix ARTSEARCH_, except DATABASE_URL)."""

    model_config = SettingsConfigDict(env_prefix="ARTSEARCH_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "ARTSEARCH_DATABASE_URL")
    )
    home: Path = Path(".artsearch")
    model: str = DEFAULT_MODEL
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Precision = "auto"
    # The demo's offline fallback: a random-weight CLIP of the real architecture, reported as such.
    allow_random_weights: bool = False
    # the embedded Postgres only (a DATABASE_URL server is tuned by its operator); unset: sized from the machine's
    # memory and the HNSW index (backend.database.embedded_memory), which must stay in shared buffers
    embedded_shared_buffers: str | None = None
    embedded_maintenance_work_mem: str | None = None

    # serving
    host: str = "127.0.0.1"
    port: int = 8000

    # The museums' image hosts, which the web app's content security policy lets pictures load from
    # (scheme://host[:port], or *.host); a source on another host adds its own.
    image_hosts: list[str] = [
        "https://www.artic.edu",
        "https://iiif.micr.io",
        "https://images.metmuseum.org",
        "https://openaccess-cdn.clevelandart.org",
    ]
    metrics: bool = True  # Prometheus metrics at /metrics; false: none are kept or served
    metrics_port: int | None = None  # serves /metrics on this port of metrics_host instead of the API's
    metrics_host: str = "127.0.0.1"

    # search
    # cosine at which a hit folds into a better one's stack (stack=true): benchmarks/duplicates.py's measure for
    # ViT-B/32 at random weights, the only weights here; with pretrained ones run it with --model and set this
    stack_threshold: float = 0.9993
    hnsw_ef_search: int = 200  # recall@10 >= 0.98 at 100k and 560k vectors (benchmarks/index.py, scale.py)
    cors_origins: list[str] = []  # none: only the app's own pages may call the API from a browser
    # per client address, on text, similar and image search ("0" turns it off); behind a proxy on another host,
    # uvicorn's FORWARDED_ALLOW_IPS lets the client's own address through
    search_rate_limit: str = "10/second;240/minute"
    max_upload_bytes: int = 10 * 1024 * 1024
    text_cache_size: int = 1024
    tile_cache_mb: int = 256  # built map tiles and atlases kept per API process (a version's never change)

    # embedding pipeline
    embed_batch_size: int = 32
    embed_workers: int = 1  # processes on this machine; more machines just run more `artsearch embed`
    embed_decode_threads: int = 2
    thumbnails: bool = True  # the map's small pictures, made from the image the embed stage decodes anyway
    embed_queued_batches: int = 2  # each channel holds this many batches: the model never waits, memory stays bounded
    # a first load (this many to embed, and more than are indexed) drops the HNSW index and builds it at the end
    embed_bulk_min_pending: int = 10_000
    embed_bulk_ratio: float = 1.0
    lease_seconds: int = 600
    max_embed_attempts: int = 3
    download_concurrency: int = 32
    download_timeout_s: float = 30.0
    download_max_attempts: int = 4
    download_backoff_s: float = 1.0
    download_max_backoff_s: float = 30.0
    download_max_bytes: int = 64 * 1024 * 1024  # over any rendition a museum serves, far under a worker's memory
    # loopback, private, link-local and multicast image URLs are refused unless allowed (a local CDN, the replicas)
    download_allow_private: bool = False

    # crawler: None keeps each source's polite default rate (requests/s per host); 0 means unlimited
    crawl_rate: float | None = None
    crawl_processes: int = 2
    crawl_concurrency: int | None = None
    crawl_timeout_s: float = 30.0
    crawl_max_attempts: int = 6
    crawl_backoff_s: float = 1.0
    crawl_max_backoff_s: float = 60.0

    # every request to a museum, its API or its image CDN, says who asks
    user_agent: str = Field(
        default="artsearch/0.1 (semantic search over museum collections)",
        validation_alias=AliasChoices("ARTSEARCH_USER_AGENT", "ARTSEARCH_CRAWL_USER_AGENT"),
    )

    @field_validator("image_hosts")
    @classmethod
    def _image_hosts_are_sources(cls, hosts: list[str]) -> list[str]:
        for host in hosts:  # each goes into a header verbatim: nothing may end its directive
            if not IMAGE_HOST.fullmatch(host):
                raise ValueError(f"{host!r} is not an image host such as https://images.example.org")
        return hosts

    @field_validator("search_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        rate_limits(value)
        return value

    @property
    def pgdata(self) -> Path:
        """Where the embedded Postgres keeps its data."""
        return self.home.resolve() / "pgdata"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
