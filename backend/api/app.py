"""The FastAPI application factory: routes, middleware and error handlers; services start in the lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import start_http_server
from psycopg_pool import PoolTimeout

from backend.api.body_limit import BodyLimitMiddleware, body_limit
from backend.api.current_map import CurrentMap
from backend.api.embedder import QueryEmbedder
from backend.api.facets import CachedFacets
from backend.api.metrics import Metrics, MetricsMiddleware
from backend.api.rate_limit import SearchRateLimit
from backend.api.routes import artworks, facets, health, map, metrics, search
from backend.api.security import SecurityMiddleware
from backend.api.tiles import BodyCache
from backend.database import redact
from backend.settings import Settings

log = logging.getLogger(__name__)
FRONTEND_DIST = Path(__file__).resolve().parents[2] / "frontend" / "dist"
POOL_SIZE = 16  # one per concurrent request worth serving at once; Postgres itself has only the machine's cores
POOL_TIMEOUT_S = 5.0  # how long a request waits for a database connection before answering 503
NO_FRONTEND_PAGE = """<!doctype html><title>artsearch</title>
<p>The artsearch API is running (<a href="/docs">API docs</a>), but the web app is not built yet:
run <code>make setup</code> (or <code>npm run build</code> in <code>frontend/</code>) and restart.</p>"""


def create_app(settings: Settings, frontend_dir: Path = FRONTEND_DIST) -> FastAPI:
    """The API for these settings; the model, the pool and the map load when it starts, not here."""
    app = FastAPI(
        title="artsearch",
        summary="Semantic search over museum collections, with every hit placed on one 2-D map.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.tile_cache = BodyCache(settings.tile_cache_mb * 1024 * 1024)
    app.state.facets = CachedFacets()
    app.state.search_rate_limit = SearchRateLimit(settings.search_rate_limit)
    app.add_middleware(BodyLimitMiddleware, max_bytes=body_limit(settings.max_upload_bytes))
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"], allow_headers=["*"]
    )
    if settings.metrics:
        app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # outermost of these: its headers go on CORS and error answers too
    app.add_middleware(SecurityMiddleware, image_hosts=settings.image_hosts)
    app.add_exception_handler(psycopg.OperationalError, _database_unavailable)
    app.add_exception_handler(PoolTimeout, _database_unavailable)
    for module in (search, facets, artworks, map, health):
        app.include_router(module.router)
    if settings.metrics and settings.metrics_port is None:
        app.include_router(metrics.router)
    _serve_frontend(app, frontend_dir)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model, open the pool and read the current map once, off the event loop; metrics on their own port
    when so configured."""
    settings = app.state.settings
    pool, embedder, current_map = await run_in_threadpool(_start_services, settings)
    app.state.pool, app.state.embedder, app.state.current_map = pool, embedder, current_map
    exporter = None
    if settings.metrics and settings.metrics_port is not None:
        exporter, _ = start_http_server(settings.metrics_port, settings.metrics_host, app.state.metrics.registry)
    try:
        yield
    finally:
        if exporter is not None:
            exporter.shutdown()
            exporter.server_close()
        embedder.close()
        pool.close()


def _start_services(settings: Settings) -> tuple:
    from backend.clip_model import load_clip
    from backend.database import create_pool, database_url
    from backend.migrate import check_model_dimension
    from backend.projection import load_current

    pool = create_pool(database_url(settings), max_size=POOL_SIZE, timeout=POOL_TIMEOUT_S)
    embedder = QueryEmbedder(
        lambda: load_clip(
            settings.model,
            device=settings.device,
            precision=settings.precision,
            allow_random=settings.allow_random_weights,
            home=settings.home,
        ),
        settings.text_cache_size,
    )
    model = embedder.model
    with pool.connection() as conn:
        check_model_dimension(conn, model.dim, model.name)
        projection = load_current(conn)
    if model.random_weights:
        log.warning("serving with RANDOM weights of %s: search results are not meaningful", model.name)
    return pool, embedder, CurrentMap(projection)


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", redact(str(exc), request.app.state.settings.database_url))
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"}, status_code=503, headers={"Retry-After": "5"}
    )


def _serve_frontend(app: FastAPI, frontend_dir: Path) -> None:
    """The built web app at / when present, else a page that says how to build it."""
    if (frontend_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=frontend_dir, html=True), name="frontend")
        return

    @app.get("/", include_in_schema=False)
    def no_frontend() -> HTMLResponse:
        return HTMLResponse(NO_FRONTEND_PAGE)
