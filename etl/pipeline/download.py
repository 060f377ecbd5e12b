"""Stage 2: image bytes over HTTP(S) (or from disk for a folder work's checked file), many requests in flight on
one asyncio loop in its own thread, transient errors retried with backoff by the ETL's shared HTTP client."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aiohttp

from backend.images import looks_like_image, not_an_image
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork
from backend.url_policy import FOLDER_SOURCE, url_refusal
from etl.http import FETCH_ERRORS, BlockedResponse, HttpClient, RetryPolicy, classify, describe, detail_of
from etl.pipeline.channel import END, Channel
from etl.pipeline.items import Downloaded, Failure


def image_body(body: bytes, content_type: str, url: str) -> bytes:
    """The body as image bytes; an HTML page declared as HTML is a CDN block page, worth another try."""
    if "text/html" in content_type:
        raise BlockedResponse(url)
    return body


@dataclass(frozen=True)
class DownloadOptions:
    """How images are fetched: how many at once, how patiently, how large, and from which addresses."""

    concurrency: int
    timeout_s: float
    retries: RetryPolicy
    user_agent: str
    max_bytes: int
    allow_private: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "DownloadOptions":
        """The settings' ARTSEARCH_DOWNLOAD_*."""
        return cls(
            concurrency=settings.download_concurrency,
            timeout_s=settings.download_timeout_s,
            retries=RetryPolicy(
                settings.download_max_attempts, settings.download_backoff_s, settings.download_max_backoff_s
            ),
            user_agent=settings.user_agent,
            max_bytes=settings.download_max_bytes,
            allow_private=settings.download_allow_private,
        )

    def client(self) -> HttpClient:
        """The HTTP client of one download loop."""
        return HttpClient(
            rate=None,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            user_agent=self.user_agent,
            policy=self.retries,
            public_only=not self.allow_private,
            max_bytes=self.max_bytes,
        )


class DownloadImage:
    """Fetch one claimed artwork's image; errors become failures, transient or permanent."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    async def __call__(self, claim: ClaimedArtwork) -> Downloaded | Failure:
        url = claim.image_url
        if not url:
            return Failure(claim, "no image URL")
        if claim.source == FOLDER_SOURCE:
            if claim.local_path is None:
                return Failure(claim, "refused: no such file inside a crawled folder", url)
        elif reason := url_refusal(url):
            return Failure(claim, "refused image URL", f"{url} {reason}")
        try:
            if claim.local_path is not None:
                data = await asyncio.to_thread(claim.local_path.read_bytes)
            else:
                data = await self.client.get(url, None, image_body)
        except aiohttp.InvalidURL:
            return Failure(claim, "invalid image URL", url)
        except FETCH_ERRORS as exc:
            transient = classify(exc) == "transient"
            return Failure(claim, describe(exc), detail_of(exc), transient, getattr(exc, "retry_after", None))
        except OSError as exc:  # a folder work's file that cannot be read
            return Failure(claim, "cannot read the file", f"{url}: {exc.strerror or exc}")
        if not looks_like_image(data):
            return Failure(claim, not_an_image(data), url)
        return Downloaded(claim, data)


class DownloadLoop:
    """Runs DownloadImage over a channel on its own asyncio loop, up to options.concurrency requests in flight."""

    def __init__(self, options: DownloadOptions) -> None:
        self.options = options
        self.items = 0
        self.busy_s = 0.0  # wall time with at least one request in flight
        self._in_flight = 0
        self._busy_since = 0.0

    def __call__(self, inbox: Channel, outbox: Channel) -> None:
        asyncio.run(self._run(inbox, outbox))

    async def _run(self, inbox: Channel, outbox: Channel) -> None:
        # Blocking channel calls wait in threads of their own, one per request at most.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(self.options.concurrency + 2, thread_name_prefix="download-io")
        )
        async with self.options.client() as client:
            download = DownloadImage(client)
            slots = asyncio.Semaphore(self.options.concurrency)
            tasks: set[asyncio.Task] = set()
            try:
                while (claim := await asyncio.to_thread(inbox.get)) is not END:
                    await slots.acquire()
                    task = asyncio.create_task(self._one(download, claim, outbox, slots))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()
        await asyncio.to_thread(outbox.put, END)

    async def _one(
        self, download: DownloadImage, claim: ClaimedArtwork, outbox: Channel, slots: asyncio.Semaphore
    ) -> None:
        try:
            self._start()
            result = await download(claim)
            self._finish()
            await asyncio.to_thread(outbox.put, result)
        finally:
            slots.release()

    def _start(self) -> None:
        if self._in_flight == 0:
            self._busy_since = time.perf_counter()
        self._in_flight += 1

    def _finish(self) -> None:
        self.items += 1
        self._in_flight -= 1
        if self._in_flight == 0:
            self.busy_s += time.perf_counter() - self._busy_since
