"""What the benchmarks that drive a running API share: `artsearch` processes started as an operator starts them,
the web app's mix of requests sent by closed-loop clients on one asyncio loop (each client sends its next request
as soon as its last one is answered), and per-endpoint summaries of the answers."""

import asyncio
import io
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import quote

import aiohttp
import numpy as np
from PIL import Image

from benchmarks.timing import latency

ROOT = Path(__file__).resolve().parent.parent
IMAGES = sorted((ROOT / "tests" / "fixtures" / "images").glob("*.jpg"))
# Issue 17's download defence and per-client search limit, off: the replicas' images are on loopback, and a load
# generator is one client asking as fast as it can.
DEFENCES_OFF = {"ARTSEARCH_DOWNLOAD_ALLOW_PRIVATE": "true", "ARTSEARCH_SEARCH_RATE_LIMIT": "0"}
SERVER_START_S = 300
REQUEST_TIMEOUT_S = 30.0  # far past the longest answer, a 503 after the pool's wait (app.POOL_TIMEOUT_S): a hang
NO_ANSWER_PAUSE_S = 0.5  # a refused connection fails at once: without a pause the client would spin
K = 20
REMEMBERED = 5_000  # ids, positions and atlases learned from answers; the oldest are forgotten first
# What a session of the web app asks for, in proportion: each view of the map fetches several tiles and their
# atlases; searches, the works opened from them (with their image) and "more like this"; an upload now and then;
# the map, the filters' facets and health once a page.
UI_MIX = {
    "tile": 30, "atlas": 15, "search": 20, "artwork": 10, "image": 5, "similar": 10, "upload": 2, "map": 3,
    "facets": 3, "health": 2,
}  # fmt: skip
TEXTS = 2_000  # distinct texts the clients search for
WORDS = [
    "gloomy",
    "winter",
    "landscape",
    "snow",
    "river",
    "portrait",
    "woman",
    "man",
    "child",
    "dog",
    "horse",
    "ship",
    "storm",
    "sea",
    "harbour",
    "church",
    "flowers",
    "still",
    "life",
    "fruit",
    "night",
    "moon",
    "sunset",
    "forest",
    "mountain",
    "battle",
    "saint",
    "angel",
    "market",
    "street",
    "bridge",
    "garden",
    "city",
    "ruins",
    "cow",
    "field",
    "peasant",
    "king",
    "queen",
    "musician",
    "dancer",
    "mirror",
    "candle",
    "skull",
    "book",
    "letter",
]


# -- processes ---------------------------------------------------------------------------------------------


def artsearch_env(home: Path, model: Path, database_url: str | None, **settings: str) -> dict[str, str]:
    """This process's environment for an `artsearch` process: its home and model, DATABASE_URL (None: the embedded
    server under home), the defences off, and any other settings given (ARTSEARCH_*=value)."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(ARTSEARCH_HOME=str(home), ARTSEARCH_MODEL=str(model), **DEFENCES_OFF)
    env.update(settings)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def artsearch_command(*args: str) -> list[str]:
    """`artsearch ARGS` on this interpreter; run from ROOT, it is this checkout's code that runs."""
    return [sys.executable, "-m", "artsearch", *args]


def start_server(env: Mapping[str, str], port: int, log: IO | int = subprocess.DEVNULL) -> subprocess.Popen:
    """`artsearch serve` on 127.0.0.1:port in its own process, returned once it accepts connections."""
    server = subprocess.Popen(
        artsearch_command("serve", "--port", str(port)), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"the server did not start (exit code {server.wait()})")


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory from /proc (VmRSS: resident now; VmHWM: its high-water mark), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# -- clients -----------------------------------------------------------------------------------------------


def upload_bodies(count: int, rng: np.random.Generator) -> list[bytes]:
    """Resized JPEG copies of the fixture paintings, as a visitor would upload them."""
    bodies = []
    for n in range(count):
        image = Image.open(IMAGES[n % len(IMAGES)]).convert("RGB")
        scale = rng.uniform(0.4, 0.9)
        buffer = io.BytesIO()
        image.resize((int(image.width * scale), int(image.height * scale))).save(buffer, "JPEG", quality=85)
        bodies.append(buffer.getvalue())
    return bodies


@dataclass(frozen=True)
class Request:
    """One request of the mix: which endpoint it stands for, and what is sent."""

    endpoint: str
    method: str
    path: str
    upload: bytes | None = None


@dataclass(frozen=True)
class Answer:
    """One request as its client saw it: sent and answered on time.monotonic(), its status, and for a request
    that got no answer (status 0), why: the client error's class (a refused or reset connection, a timeout)."""

    endpoint: str
    status: int
    sent: float
    answered: float
    error: str = ""


class ClientMix:
    """Requests drawn in proportion to `weights` (endpoint names as in UI_MIX), aimed at what exists: ids, map
    positions, the map's version and atlases are learned from earlier answers, as the web app learns them; a request
    whose target is not known yet (no search has found a work, /api/map has not given a map) becomes a search."""

    def __init__(self, texts: list[str], uploads: list[bytes], weights: Mapping[str, int]) -> None:
        self.texts = texts
        self.uploads = uploads
        self.endpoints, self.weights = list(weights), list(weights.values())
        self.ids: deque[int] = deque(maxlen=REMEMBERED)
        self.points: deque[tuple[float, float]] = deque(maxlen=REMEMBERED)
        self.atlases: deque[str] = deque(maxlen=REMEMBERED)
        self.version: str | None = None
        self.max_zoom = 0
        self.builders = {
            "search": lambda rng: Request("search", "GET", f"/api/search?q={quote(rng.choice(self.texts))}&k={K}"),
            "similar": lambda rng: Request("similar", "GET", f"/api/artworks/{rng.choice(self.ids)}/similar?k={K}"),
            "artwork": lambda rng: Request("artwork", "GET", f"/api/artworks/{rng.choice(self.ids)}"),
            "image": lambda rng: Request("image", "GET", f"/api/artworks/{rng.choice(self.ids)}/image"),
            "upload": lambda rng: Request("upload", "POST", f"/api/search/image?k={K}", rng.choice(self.uploads)),
            "tile": self._tile,
            "atlas": lambda rng: Request("atlas", "GET", rng.choice(self.atlases)),
            "map": lambda rng: Request("map", "GET", "/api/map"),
            "facets": lambda rng: Request("facets", "GET", "/api/facets"),
            "health": lambda rng: Request("health", "GET", "/api/health"),
        }

    def next_request(self, rng: random.Random) -> Request:
        """The next request of one client."""
        return self.builders[self._reachable(rng.choices(self.endpoints, self.weights)[0])](rng)

    def learn(self, request: Request, status: int, body: bytes) -> None:
        """Keep from an answer what later requests aim at."""
        if request.endpoint == "tile" and status == 404:  # a refit moved the map on: ask for the new one
            self.version = None
        if status != 200:
            return
        if request.endpoint in ("search", "similar", "upload"):
            for hit in json.loads(body)["results"]:
                self.ids.append(hit["id"])
                if hit["x"] is not None:
                    self.points.append((hit["x"], hit["y"]))
        elif request.endpoint == "map":
            info = json.loads(body)
            if info["version"] != self.version:
                self.atlases.clear()
            self.version, self.max_zoom = info["version"], info["max_zoom"]
        elif request.endpoint == "tile" and (atlas := json.loads(body)["atlas_url"]):
            self.atlases.append(atlas)

    def _reachable(self, endpoint: str) -> str:
        """The endpoint, or the one to ask first while its target is unknown."""
        if endpoint == "atlas" and not self.atlases:
            endpoint = "tile"
        if endpoint == "tile" and (self.version is None or not self.points):
            return "search"
        if endpoint in ("similar", "artwork", "image") and not self.ids:
            return "search"
        return endpoint

    def _tile(self, rng: random.Random) -> Request:
        """A tile at some zoom around a work a search found, as a view around results asks."""
        zoom = rng.randint(0, self.max_zoom)
        side = 1 << zoom
        x, y = (min(int(value * side), side - 1) for value in rng.choice(self.points))
        return Request("tile", "GET", f"/api/map/{self.version}/tiles/{zoom}/{x}/{y}")


def web_app_mix(weights: Mapping[str, int] = UI_MIX) -> ClientMix:
    """The mix with TEXTS three-word texts, new to the server (its text cache helps only with repeats), and resized
    fixture paintings to upload."""
    phrases = [" ".join(words) for words in itertools.permutations(WORDS, 3)]
    return ClientMix(random.Random(0).sample(phrases, TEXTS), upload_bodies(8, np.random.default_rng(0)), weights)


async def run_clients(base_url: str, mix: ClientMix, clients: int, until: float) -> list[Answer]:
    """`clients` closed-loop clients until time.monotonic() reaches until; every answer they got."""
    answers: list[Answer] = []
    await asyncio.gather(*(_client(base_url, mix, random.Random(n), until, answers) for n in range(clients)))
    return answers


async def _client(base_url: str, mix: ClientMix, rng: random.Random, until: float, answers: list[Answer]) -> None:
    """One client on a kept-alive connection of its own: shared ones sit idle in turn until the server closes them,
    and a POST sent on one that is closing fails (aiohttp sends a GET again, never a POST)."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=aiohttp.TCPConnector(limit=1)) as session:
        while time.monotonic() < until:
            request = mix.next_request(rng)
            sent = time.monotonic()
            try:
                status, body = await _send(session, request)
            except (aiohttp.ClientError, TimeoutError) as exc:
                answers.append(Answer(request.endpoint, 0, sent, time.monotonic(), type(exc).__name__))
                await asyncio.sleep(NO_ANSWER_PAUSE_S)
                continue
            answers.append(Answer(request.endpoint, status, sent, time.monotonic()))
            mix.learn(request, status, body)


async def _send(session: aiohttp.ClientSession, request: Request) -> tuple[int, bytes]:
    """The status and body of one request; a redirect is an answer, not followed."""
    data = None
    if request.upload is not None:
        data = aiohttp.FormData()
        data.add_field("file", request.upload, filename="query.jpg", content_type="image/jpeg")
    async with session.request(request.method, request.path, data=data, allow_redirects=False) as response:
        return response.status, await response.read()


# -- summaries ---------------------------------------------------------------------------------------------


def tally(values: Iterable[object]) -> dict[str, int]:
    """How often each value came, by value."""
    return dict(sorted(Counter(str(value) for value in values).items()))


def status_counts(answers: Iterable[Answer]) -> dict[str, int]:
    """How many answers came with each status ("0": no answer)."""
    return tally(answer.status for answer in answers)


def by_endpoint(answers: Iterable[Answer]) -> dict[str, dict[str, object]]:
    """Per endpoint: requests, their statuses, and p50/p99 of the answered ones."""
    grouped: dict[str, list[Answer]] = {}
    for answer in answers:
        grouped.setdefault(answer.endpoint, []).append(answer)
    summary = {}
    for endpoint, group in sorted(grouped.items()):
        times = [answer.answered - answer.sent for answer in group if answer.status]
        timing = latency(times) if times else {}
        summary[endpoint] = {"requests": len(group), "statuses": status_counts(group), **timing}
    return summary
