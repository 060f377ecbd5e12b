"""The shared HTTP client of the ETL: per-host rate limit and concurrency, retries with exponential backoff
and jitter on transient failures (timeouts, connection errors, 429, 5xx, CDN block pages, cut bodies),
honouring Retry-After."""

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiolimiter import AsyncLimiter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from etl.public_addresses import connector, refused_address

T = TypeVar("T")
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class ResponseError(Exception):
    """An answer that brought no usable body (its subclass says why and whether to ask again)."""


class HttpStatusError(ResponseError):
    """An HTTP error answer; transient or permanent by its status (see classify)."""

    def __init__(self, status: int, url: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url
        self.retry_after = retry_after


class BlockedResponse(ResponseError):
    """A CDN block page (an HTML body where data was expected, 403 or even 200): a request to slow down."""

    def __init__(self, url: str, retry_after: float | None = None) -> None:
        super().__init__(f"blocked by the CDN at {url}")
        self.retry_after = retry_after


class MalformedResponse(ResponseError):
    """A body that does not parse (cut short, invalid JSON/XML): worth fetching again."""


class ResponseTooLarge(ResponseError):
    """A body over the client's size cap: never worth fetching again."""

    def __init__(self, url: str, max_bytes: int) -> None:
        super().__init__(f"{url} sends more than {max_bytes // (1024 * 1024)} MB")


# Everything a fetch can fail with that classify, describe and detail_of know how to report.
FETCH_ERRORS = (ResponseError, aiohttp.ClientError, TimeoutError)


def classify(error: BaseException) -> Literal["transient", "permanent"]:
    """Whether an error is worth retrying: network trouble, overload and garbled bodies are; the rest (a refused
    address among them) is not."""
    if refused_address(error):
        return "permanent"
    if isinstance(error, HttpStatusError):
        return "transient" if error.status in TRANSIENT_STATUSES else "permanent"
    transient = (
        TimeoutError,
        aiohttp.ClientConnectionError,
        aiohttp.ClientPayloadError,
        BlockedResponse,
        MalformedResponse,
    )
    return "transient" if isinstance(error, transient) else "permanent"


def describe(error: BaseException) -> str:
    """An error's class: short and low-cardinality, fit for grouping in `artsearch status`."""
    if isinstance(error, HttpStatusError):
        return f"HTTP {error.status}"
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, BlockedResponse):
        return "blocked by CDN"
    if isinstance(error, MalformedResponse):
        return "malformed response"
    if isinstance(error, ResponseTooLarge):
        return "over the size limit"
    if refused_address(error):
        return "refused: not a public address"
    if isinstance(error, aiohttp.ClientError):
        return f"connection error ({type(error).__name__})"
    return type(error).__name__


def detail_of(error: BaseException) -> str | None:
    """An error's particulars (the URL, the parser's message), kept beside its class."""
    return str(refused_address(error) or error) or None


def explain(error: BaseException) -> str:
    """Class and detail in one line, for a message a user reads."""
    detail = detail_of(error)
    return f"{describe(error)}: {detail}" if detail else describe(error)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    with suppress(ValueError):  # delta-seconds; otherwise an HTTP date, below
        return max(0.0, float(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _looks_like_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type or body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))


def parse_json(body: bytes, content_type: str, url: str) -> Any:
    """JSON from a body; an HTML page instead is a block page, garbage is malformed."""
    if _looks_like_html(body, content_type):
        raise BlockedResponse(url)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise MalformedResponse(f"invalid JSON: {exc.__class__.__name__}") from exc


def parse_xml(body: bytes, content_type: str, url: str) -> ET.Element:
    """The root element of an XML body; an HTML page instead is a block page, garbage is malformed."""
    if "html" in content_type:
        raise BlockedResponse(url)
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise MalformedResponse("invalid XML") from exc


def json_with(check: Callable[[Any], T]) -> Callable[[bytes, str, str], T]:
    """A body parser: JSON, then check (which raises MalformedResponse), so a bad page is fetched again."""
    return lambda body, content_type, url: check(parse_json(body, content_type, url))


def xml_with(check: Callable[[ET.Element], T]) -> Callable[[bytes, str, str], T]:
    """A body parser: XML, then check (which raises MalformedResponse), so a bad page is fetched again."""
    return lambda body, content_type, url: check(parse_xml(body, content_type, url))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient failures; shared by the crawler and image download."""

    max_attempts: int
    backoff_s: float
    max_backoff_s: float

    def retrying(self, on_retry: Callable[[RetryCallState], None] | None = None) -> AsyncRetrying:
        """A tenacity loop: transient errors only, Retry-After when given, else exponential backoff + jitter."""
        return AsyncRetrying(
            retry=retry_if_exception(lambda exc: classify(exc) == "transient"),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            before_sleep=on_retry,
            reraise=True,
        )

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        backoff = wait_exponential_jitter(initial=self.backoff_s, max=self.max_backoff_s, jitter=self.backoff_s)
        return backoff(state)


class HttpClient:
    """An aiohttp session with a rate limit and a concurrency cap per host, and the retry policy; for image
    downloads also public addresses only (etl.public_addresses) and a cap on a body's size."""

    def __init__(
        self,
        *,
        rate: float | None,
        concurrency: int,
        timeout_s: float,
        user_agent: str,
        policy: RetryPolicy,
        public_only: bool = False,
        max_bytes: int | None = None,
    ) -> None:
        self.rate = rate
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.user_agent = user_agent
        self.policy = policy
        self.public_only = public_only
        self.max_bytes = max_bytes
        self.retries = 0
        self._limits: dict[str, tuple[AsyncLimiter | None, asyncio.Semaphore]] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "HttpClient":
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            headers={"User-Agent": self.user_agent},
            connector=connector(allow_private=not self.public_only),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(self, url: str, params: dict[str, Any] | None, parse: Callable[[bytes, str, str], T]) -> T:
        """GET and parse, retrying transient failures (parse errors included); the last error propagates."""
        async for attempt in self.policy.retrying(on_retry=self._count_retry):
            with attempt:
                return await self._get_once(url, params, parse)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """A JSON document."""
        return await self.get(url, params, parse_json)

    async def _get_once(self, url: str, params: dict[str, Any] | None, parse: Callable[[bytes, str, str], T]) -> T:
        assert self._session is not None, "use HttpClient as an async context manager"
        limiter, semaphore = self._host_limits(url)
        async with semaphore:
            if limiter is not None:  # waits for this host's next slot under the rate limit
                await limiter.acquire()
            async with self._session.get(url, params=params) as response:
                where = str(response.url)
                body = await self._read(response, where)
                content_type = response.headers.get("Content-Type", "").lower()
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if response.status == 403 and _looks_like_html(body, content_type):
                    raise BlockedResponse(where, retry_after)
                if response.status >= 400:
                    raise HttpStatusError(response.status, where, retry_after)
                return parse(body, content_type, where)

    async def _read(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        """The body, stopped as soon as it passes max_bytes (a declared length over it is not read at all)."""
        if self.max_bytes is None:
            return await response.read()
        if (response.content_length or 0) > self.max_bytes:
            raise ResponseTooLarge(where, self.max_bytes)
        body = bytearray()
        async for chunk in response.content.iter_any():
            body += chunk
            if len(body) > self.max_bytes:
                raise ResponseTooLarge(where, self.max_bytes)
        return bytes(body)

    def _host_limits(self, url: str) -> tuple[AsyncLimiter | None, asyncio.Semaphore]:
        host = urlsplit(url).netloc
        if host not in self._limits:
            # One request per 1/rate seconds: a steady pace, no burst at the start.
            limiter = AsyncLimiter(1, 1 / self.rate) if self.rate else None
            self._limits[host] = (limiter, asyncio.Semaphore(self.concurrency))
        return self._limits[host]

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
