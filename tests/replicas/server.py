"""The replica server: an aiohttp app in a background thread with its own loop, fault injection with a
seeded RNG, per-request counting, and real JPEG bytes for every image URL."""

import asyncio
import random
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from tests.helpers import FIXTURE_IMAGES

from .museums import MUSEUMS, Museum

FAULT_KINDS = ("latency", "timeout", "429", "500", "503", "block403", "block200", "truncated")
BLOCK_PAGE = (
    "<!DOCTYPE html><html><head><title>Access Denied</title></head><body><h1>Access Denied</h1>"
    "<p>You don't have permission to access this resource. Reference #18.4f2a3b17.1700000000.9c1d2e</p>"
    "</body></html>"
)


class ReplicaServer:
    """A running replica: where it listens, what it was asked, and how to change or stop it."""

    def __init__(
        self,
        museum: Museum,
        *,
        fault_rate: float,
        image_fault_rate: float,
        faults: Iterable[str],
        seed: int,
        retry_after: int,
        hang_s: float,
        latency_s: float,
    ) -> None:
        self.museum = museum
        self.fault_rate = fault_rate
        self.image_fault_rate = image_fault_rate
        self.faults = tuple(faults)
        self.retry_after = retry_after
        self.hang_s = hang_s
        self.latency_s = latency_s
        self.request_counts: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"replica-{museum.kind}", daemon=True)
        self.root_url = ""

    @property
    def base_url(self) -> str:
        """The API base to give the crawler as --base-url."""
        return self.root_url + self.museum.api_path

    @property
    def image_base_url(self) -> str:
        """The prefix of this replica's image URLs."""
        return self.root_url + self.museum.image_path

    def start(self) -> "ReplicaServer":
        """Listen on a free port of 127.0.0.1."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        """Shut the server and its thread down."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    def reset_counts(self) -> None:
        """Forget the requests counted so far."""
        self.request_counts.clear()

    def touch(self, source_ids: Iterable[str], when: datetime, new_image: bool = False) -> None:
        """Change these records (new title; a new image URL with new_image, Rijksmuseum) as of when, as an editor
        would: incremental runs must see them."""
        self.museum.touch([str(i) for i in source_ids], when, new_image)

    def delete(self, source_ids: Iterable[str], when: datetime) -> None:
        """Withdraw these records as of when (the OAI replica then answers them as deleted headers)."""
        self.museum.delete([str(i) for i in source_ids], when)

    def tamper(self, source_id: str, **fields: object) -> None:
        """Answer this record with these fields replaced, as a hostile or compromised upstream would (Met)."""
        self.museum.tampered[str(source_id)] = fields

    def set_faults(self, fault_rate: float) -> None:
        """Change the API fault rate of the running server."""
        self.fault_rate = fault_rate

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        for path, handler in {**self.museum.routes(self), self.museum.image_route: self._image}.items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.root_url = f"http://127.0.0.1:{port}"

    async def _image(self, request: web.Request) -> web.Response:
        """Real JPEG bytes, the same file for the same image key."""
        key = request.match_info["key"]
        path = FIXTURE_IMAGES[zlib.crc32(key.encode()) % len(FIXTURE_IMAGES)]
        return web.Response(body=path.read_bytes(), content_type="image/jpeg")

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        query = urlencode(sorted(request.query.items()))
        self.request_counts[f"{request.path}?{query}" if query else request.path] += 1
        is_image = request.path.startswith(self.museum.image_path) or request.path.endswith((".jpg", ".tif"))
        rate = self.image_fault_rate if is_image else self.fault_rate
        if not self.faults or self._rng.random() >= rate:
            return await handler(request)
        kind = self._rng.choice(self.faults)
        self.faults_injected[kind] += 1
        return await self._fault(kind, request, handler)

    async def _fault(self, kind: str, request: web.Request, handler) -> web.StreamResponse:
        if kind in ("latency", "timeout"):
            await asyncio.sleep(self.latency_s if kind == "latency" else self.hang_s)
            return await handler(request)
        if kind == "429":
            return web.json_response(
                {"status": 429, "error": "Too Many Requests"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if kind in ("500", "503"):
            return web.Response(status=int(kind), text=f"{kind} Server Error", content_type="text/plain")
        if kind in ("block403", "block200"):
            return web.Response(status=403 if kind == "block403" else 200, text=BLOCK_PAGE, content_type="text/html")
        if kind == "truncated":
            return await self._truncated(request, handler)
        raise ValueError(f"unknown fault {kind!r}")

    async def _truncated(self, request: web.Request, handler) -> web.StreamResponse:
        """The real answer's headers and half its body, then the connection is cut."""
        full = await handler(request)
        body = full.body if isinstance(full.body, bytes) else b""
        stream = web.StreamResponse(status=full.status)
        stream.content_type = full.content_type
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        request.transport.close()
        return stream


def start_replica(
    kind: str,
    records: int = 1000,
    fault_rate: float = 0.0,
    seed: int = 1,
    *,
    faults: Iterable[str] = FAULT_KINDS,
    image_fault_rate: float = 0.0,
    retry_after: int = 1,
    hang_s: float = 3.0,
    latency_s: float = 0.2,
    deleted_every: int = 0,
) -> ReplicaServer:
    """Start a replica of one museum API ('aic', 'met', 'cleveland', 'rijksmuseum') with N open-access records.

    fault_rate of API requests (image_fault_rate of image requests) get a fault drawn from faults: latency,
    timeout (answers after hang_s), 429 with Retry-After, 500, 503, CDN block pages (403 and 200 with HTML) or a
    body cut in half. deleted_every=k makes every k-th Rijksmuseum record a deleted header.
    """
    museum = MUSEUMS[kind](records, deleted_every=deleted_every)
    server = ReplicaServer(
        museum,
        fault_rate=fault_rate,
        image_fault_rate=image_fault_rate,
        faults=faults,
        seed=seed,
        retry_after=retry_after,
        hang_s=hang_s,
        latency_s=latency_s,
    )
    return server.start()
