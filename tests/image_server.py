"""A local image CDN for tests: serves the fixture paintings and hostile variants made at test time, on
127.0.0.1 with port 0, from a background thread; it can be made slow or flaky to exercise the pipeline."""

import asyncio
import struct
import threading
import zlib
from collections import Counter

from aiohttp import web
from PIL import Image

from tests.helpers import FIXTURE_IMAGES, jpeg, png


class ImageServer:
    """Serves `files[name] = (bytes, content type)` at /images/{name}; 404 for anything else."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.failures_first: dict[str, list[int]] = {}  # name → statuses answered before the real file
        self.redirects: dict[str, str] = {}  # name → the URL it redirects to
        self.chunked: set[str] = set()  # names sent without a Content-Length
        self.delay_s = 0.0
        self.one_at_a_time = False  # serialise requests: a slow CDN whose pace a test controls
        self.hits: Counter[str] = Counter()
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="image-server", daemon=True)
        self._runner: web.AppRunner | None = None
        self._serial: asyncio.Lock | None = None

    def add(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve `data` under `name`; returns its URL."""
        self.files[name] = (data, content_type)
        return self.url(name)

    def url(self, name: str) -> str:
        """Where `name` is (or would be) served."""
        return f"{self.base_url}/images/{name}"

    def __enter__(self) -> "ImageServer":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._serial = asyncio.Lock()
        app = web.Application()
        app.router.add_get("/images/{name}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        if self.one_at_a_time:
            async with self._serial:
                await asyncio.sleep(self.delay_s)
        elif self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.failures_first.get(name):
            status = self.failures_first[name].pop(0)
            headers = {"Retry-After": "0"} if status == 429 else {}
            return web.Response(status=status, text="try again", headers=headers)
        if name in self.redirects:
            raise web.HTTPFound(self.redirects[name])
        if name not in self.files:
            return web.Response(status=404, text="not found")
        data, content_type = self.files[name]
        if name in self.chunked:
            return await self._stream(request, data, content_type)
        return web.Response(body=data, content_type=content_type)

    async def _stream(self, request: web.Request, data: bytes, content_type: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(data), 16 * 1024):
            await response.write(data[start : start + 16 * 1024])
        await response.write_eof()
        return response


def one_colour_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size, a few KB on disk: a decompression bomb when width x height is huge."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed pixels, all zero
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def hostile_images() -> dict[str, tuple[bytes, str]]:
    """name → (bytes, content type) of images that try to break a decoder; '404' is deliberately absent."""
    painting = FIXTURE_IMAGES[0].read_bytes()
    rgba = Image.open(FIXTURE_IMAGES[1]).convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    cmyk = Image.open(FIXTURE_IMAGES[2]).convert("CMYK")
    return {
        "truncated.jpg": (painting[: len(painting) * 6 // 10], "image/jpeg"),
        "alpha.png": (png(rgba), "image/png"),
        "cmyk.jpg": (jpeg(cmyk, quality=90), "image/jpeg"),
        "pixel.png": (png(Image.new("RGB", (1, 1), "white")), "image/png"),
        "bomb.png": (one_colour_png(20_000, 20_000), "image/png"),
        "page.jpg": (b"<!DOCTYPE html><html><body>Access denied</body></html>", "image/jpeg"),
    }
