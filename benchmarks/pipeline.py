"""Benchmark of the embedding pipeline on real JPEGs with the ViT-B/32 architecture (random weights).

Prints one JSON object: images/s of each stage alone (download, decode+preprocess, embed, write) and end to end,
the bare model's images/s at the same batch size, `pipeline_to_model_ratio` (per precision: bfloat16 and int8 by
default, their rounds interleaved), the pipeline with the map thumbnails off (paired per round), and the same
figures for a naive baseline (one image at a time, full-size download, float32, one transaction per image)
measured in the same run.

The images are served over HTTP by a local aiohttp server in its own process, as the museums' CDNs serve them:
AIC answers IIIF URLs and the pipeline asks for the width the AIC source stores as `image_url` (a cached
rendition, made once at server start from the 843 px files); WGA files are served as they are.

    .venv/bin/python benchmarks/pipeline.py [--batch-size 32] [--workers 1] [--naive-images 64]
        [--device auto] [--precisions auto,int8] [--rounds 3]
"""

import argparse
import csv
import io
import json
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessorPil

from backend.clip_model import (
    RANDOM_MARKER,
    load_clip,
    precision_name,
    preprocess_spec,
    resolve_device,
    save_random_clip,
)
from backend.database import connect, start_embedded, stop_embedded
from backend.migrate import upgrade
from backend.model_thread import ModelThread
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork, claim_pending_artworks
from etl.pipeline.channel import END, Channel
from etl.pipeline.decode import DecodeImage
from etl.pipeline.download import DownloadLoop
from etl.pipeline.embed import EmbedBatch
from etl.pipeline.items import Decoded, Downloaded, EmbeddedBatch
from etl.pipeline.runner import EmbedOptions, embed_pending
from etl.pipeline.stats import EmbedSummary
from etl.pipeline.write import WriteResults
from etl.sources.aic import EMBED_WIDTH, FULL_WIDTH

ROOT = Path(__file__).resolve().parent.parent
SHARED_IMAGES = ROOT.parent / "shared" / "data" / "images"
FIXTURE_IMAGES = ROOT / "tests" / "fixtures" / "images"
MODEL_SECONDS = 10.0  # how long the bare model runs for its figure, each round
EMBED_BATCHES = 4  # batches for the embed stage alone


@dataclass(frozen=True)
class Painting:
    """One benchmark image: the path the server answers, and the URLs the pipeline and the baseline ask for."""

    key: str  # AIC image_id, or a file path under the WGA folder
    source: str  # "aic" or "wga"
    file: Path


def collect_paintings() -> list[Painting]:
    """The shared AIC + WGA JPEGs; the test fixtures (AIC files) where the shared data is absent."""
    paintings = []
    aic_metadata = SHARED_IMAGES / "aic" / "metadata.csv"
    if aic_metadata.exists():
        for row in csv.DictReader(aic_metadata.open()):
            paintings.append(Painting(row["image_id"], "aic", SHARED_IMAGES / "aic" / row["file"]))
        for row in csv.DictReader((SHARED_IMAGES / "wga" / "metadata.csv").open()):
            paintings.append(Painting(row["file"], "wga", SHARED_IMAGES / "wga" / row["file"]))
    else:
        for row in csv.DictReader((FIXTURE_IMAGES / "metadata.csv").open()):
            path = FIXTURE_IMAGES / f"{row.get('aic_id') or row.get('id')}.jpg"
            paintings.append(Painting(path.stem, "aic", path))
    return paintings


def image_url(base: str, painting: Painting, width: int | None) -> str:
    """The AIC IIIF URL at `width` (None: full size), or the WGA file's URL."""
    if painting.source == "aic":
        return f"{base}/iiif/2/{painting.key}/full/{f'{width},' if width else 'max'}/0/default.jpg"
    return f"{base}/wga/{painting.key}"


def serve_images(paintings: list[Painting], ready: "multiprocessing.connection.Connection") -> None:
    """The CDN stand-in (its own process): IIIF renditions made once up front, then served from memory."""
    import asyncio

    from aiohttp import web

    originals = {p.key: p.file.read_bytes() for p in paintings}
    renditions = {(p.key, FULL_WIDTH): originals[p.key] for p in paintings if p.source == "aic"}
    for p in paintings:
        if p.source == "aic":
            image = Image.open(io.BytesIO(originals[p.key]))
            height = round(image.height * EMBED_WIDTH / image.width)
            out = io.BytesIO()
            image.convert("RGB").resize((EMBED_WIDTH, height), Image.Resampling.LANCZOS).save(
                out, "JPEG", quality=90, progressive=True
            )
            renditions[(p.key, EMBED_WIDTH)] = out.getvalue()

    async def iiif(request: web.Request) -> web.Response:
        key, size = request.match_info["image_id"], request.match_info["size"]
        width = FULL_WIDTH if size in ("max", "full") else int(size.rstrip(","))
        body = renditions.get((key, width))
        return web.Response(body=body, content_type="image/jpeg") if body else web.Response(status=404)

    async def wga(request: web.Request) -> web.Response:
        body = originals.get(request.match_info["path"])
        return web.Response(body=body, content_type="image/jpeg") if body else web.Response(status=404)

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/iiif/2/{image_id}/full/{size}/0/default.jpg", iiif)
        app.router.add_get("/wga/{path:.+}", wga)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ready.send(f"http://127.0.0.1:{runner.addresses[0][1]}")
        await asyncio.Event().wait()

    asyncio.run(main())


def random_vit_b32() -> Path:
    """ViT-B/32 with random weights, saved once and reused (the same folder the demo's fallback uses)."""
    cache = Settings().home.resolve() / "models" / "random-clip-vit-base-patch32"
    if not (cache / RANDOM_MARKER).exists():
        save_random_clip(cache, CLIPConfig())
    return cache


def insert_artworks(url: str, base: str, paintings: list[Painting]) -> list[tuple[int, str]]:
    """Pending artworks as the crawler leaves them; returns (id, full-size URL) for the naive baseline."""
    rows = []
    with connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for painting in paintings:
            full = image_url(base, painting, None)
            cur.execute(
                "INSERT INTO artworks (source, source_id, image_url, full_image_url) VALUES (%s, %s, %s, %s) "
                "RETURNING id",
                (painting.source, painting.key, image_url(base, painting, EMBED_WIDTH), full),
            )
            rows.append((cur.fetchone()[0], full))
    return rows


def reset_artworks(url: str) -> None:
    """Everything pending again, no vectors or map positions: the next measurement starts from the same state."""
    with connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM map_positions")
        conn.execute("DELETE FROM embeddings")
        conn.execute(
            "UPDATE artworks SET embed_status = 'pending', embed_attempts = 0, lease_expires_at = NULL, "
            "embed_error = NULL"
        )


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def measure_download(claims: list[ClaimedArtwork], options: EmbedOptions) -> tuple[list[Downloaded], float]:
    """The download stage alone: every image through the asyncio loop, as many in flight as in the pipeline."""
    abort = threading.Event()
    inbox, outbox = Channel("in", len(claims) + 1, abort), Channel("out", len(claims) + 1, abort)
    for claim in claims:
        inbox.put(claim)
    inbox.put(END)
    started = time.perf_counter()
    DownloadLoop(options.download)(inbox, outbox)
    seconds = time.perf_counter() - started
    results = [outbox.get() for _ in range(len(claims))]
    return [r for r in results if isinstance(r, Downloaded)], seconds


def measure_decode(
    downloaded: list[Downloaded], spec: object, threads: int, thumbnails: bool = True
) -> tuple[list[Decoded], float]:
    """Decode + preprocess (+ the map thumbnail) alone, on the pipeline's number of decode threads."""
    decode = DecodeImage(spec, thumbnails)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(decode, downloaded))
    return [r for r in results if isinstance(r, Decoded)], time.perf_counter() - started


def measure_embed(decoded: list[Decoded], embed: EmbedBatch, batch_size: int) -> float:
    """The embed stage alone: normalise + model, batch after batch (after one warm-up batch)."""
    embed(decoded[:batch_size])
    batches = [decoded[i : i + batch_size] for i in range(0, EMBED_BATCHES * batch_size, batch_size)]
    started = time.perf_counter()
    for batch in batches:
        embed(batch)
    return rate(sum(map(len, batches)), time.perf_counter() - started)


def measure_model(model_dir: Path, batch_size: int, workers: int, cores: int, device: str, precision: str) -> float:
    """The bare model in the pipeline's layout: `workers` processes sharing the cores, each embedding the same
    ready batch again and again, nothing else running; images/s summed over the processes."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = context.Barrier(workers)
    threads = max(1, cores // workers)
    processes = [
        context.Process(target=run_bare_model, args=(model_dir, batch_size, threads, device, precision, start, results))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    total = sum(results.get() for _ in processes)
    for process in processes:
        process.join()
    return round(total, 2)


def run_bare_model(
    model_dir: Path, batch_size: int, threads: int, device: str, precision: str, start: object, results: object
) -> None:
    """One bare-model process (see measure_model)."""
    torch.set_num_threads(threads)
    model = load_clip(str(model_dir), device=device, precision=precision, text=False)
    pixels = np.random.default_rng(0).normal(size=(batch_size, 3, 224, 224)).astype(np.float32)
    model.embed_pixels(pixels)
    start.wait()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < MODEL_SECONDS:
        model.embed_pixels(pixels)
        count += batch_size
    results.put(count / (time.perf_counter() - started))


def measure_write(url: str, batch_size: int, settings: Settings) -> float:
    """The write stage alone: every row claimed, unit vectors written one transaction per batch."""
    with connect(url, autocommit=True) as conn:
        claims = claim_pending_artworks(conn, 100_000, 600, settings.max_embed_attempts)
        vectors = np.random.default_rng(0).normal(size=(len(claims), 512)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        write = WriteResults(conn, settings.model, None, settings.max_embed_attempts)
        count, started = 0, time.perf_counter()
        for i in range(0, len(claims), batch_size):
            count += len(write(EmbeddedBatch(claims[i : i + batch_size], vectors[i : i + batch_size])))
        seconds = time.perf_counter() - started
    reset_artworks(url)
    return rate(count, seconds)


def measure_naive(url: str, artworks: list[tuple[int, str]], model_dir: Path, device: str) -> dict:
    """One image at a time: full-size download, full decode + CLIPImageProcessor, float32, one transaction each."""
    model = load_clip(str(model_dir), device=device, precision="float32", text=False)
    processor = model.image_processor
    seconds = {"download": 0.0, "decode_preprocess": 0.0, "embed": 0.0, "write": 0.0}
    with connect(url, autocommit=True) as conn:
        for artwork_id, full_url in artworks:
            t0 = time.perf_counter()
            with urllib.request.urlopen(full_url, timeout=30) as response:
                data = response.read()
            t1 = time.perf_counter()
            pixels = processor(images=[Image.open(io.BytesIO(data)).convert("RGB")], return_tensors="pt")
            t2 = time.perf_counter()
            vector = model.embed_pixels(pixels["pixel_values"])[0]
            t3 = time.perf_counter()
            with conn.transaction():
                conn.execute(
                    "INSERT INTO embeddings (artwork_id, model, embedding) VALUES (%s, %s, %s) "
                    "ON CONFLICT (artwork_id) DO UPDATE SET embedding = EXCLUDED.embedding",
                    (artwork_id, model.name, vector),
                )
                conn.execute("UPDATE artworks SET embed_status = 'embedded' WHERE id = %s", (artwork_id,))
            t4 = time.perf_counter()
            for stage, spent in zip(seconds, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                seconds[stage] += spent
    n = len(artworks)
    return {
        "images": n,
        "stages_alone_images_per_s": {stage: rate(n, spent) for stage, spent in seconds.items()},
        "end_to_end_images_per_s": rate(n, sum(seconds.values())),
    }


def measure_embed_alone(
    model_dir: Path, decoded: list[Decoded], batch_size: int, cores: int, device: str, precision: str
) -> float:
    """The embed stage alone at one precision, its model loaded and run on a model thread as in the pipeline."""
    model_thread = ModelThread()
    try:
        model_thread.run(torch.set_num_threads, cores)
        model = model_thread.run(load_clip, str(model_dir), device=device, precision=precision, text=False)
        return measure_embed(decoded, EmbedBatch(model, model_thread), batch_size)
    finally:
        model_thread.close()


def precision_report(embed_rate: float, rounds: list[tuple[float, EmbedSummary]], workers: int) -> dict:
    """One precision's figures: the embed stage alone, the bare model, the pipeline and their paired ratio."""
    # Each round measures the bare model and then the pipeline back to back: their ratio is the paired figure.
    ratios = sorted(summary.images_per_s / model for model, summary in rounds)
    model_rate = max(model for model, _ in rounds)
    best = max((summary for _, summary in rounds), key=lambda summary: summary.images_per_s)
    end_to_end = round(best.images_per_s, 2)
    return {
        "embed_stage_alone_images_per_s": embed_rate,
        "end_to_end_images_per_s": end_to_end,
        "model_images_per_s": model_rate,
        "pipeline_to_model_ratio": round(ratios[len(ratios) // 2], 3),  # median over rounds
        "best_end_to_end_to_best_model_ratio": round(end_to_end / model_rate, 3),
        # from the first claim to the last write of the best round; loading the model is not counted
        "end_to_end": {
            "embedded": best.embedded,
            "failed": best.failed,
            "seconds": round(best.elapsed_s, 2),
            "embed_stage_busy_fraction": round(best.stages["embed"].busy_s / workers / best.elapsed_s, 3),
            "stages_busy_images_per_s": {name: round(s.rate, 2) for name, s in best.stages.items()},
        },
        "rounds": [
            {"model_images_per_s": model, "end_to_end_images_per_s": round(summary.images_per_s, 2)}
            for model, summary in rounds
        ],
    }


def thumbnail_report(
    rounds: list[tuple[float, EmbedSummary]], without: list[EmbedSummary], decode_s: float, decode_bare_s: float
) -> dict:
    """What making the map thumbnails costs: end to end with and without them (paired per round), decode alone."""
    ratios = sorted(on.images_per_s / off.images_per_s for (_, on), off in zip(rounds, without, strict=True))
    return {
        "end_to_end_images_per_s_on": [round(on.images_per_s, 2) for _, on in rounds],
        "end_to_end_images_per_s_off": [round(off.images_per_s, 2) for off in without],
        "on_to_off_ratio": round(ratios[len(ratios) // 2], 3),  # median over the paired rounds
        "decode_alone_seconds_on_off": [round(decode_s, 3), round(decode_bare_s, 3)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=Settings().embed_batch_size)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--naive-images", type=int, default=64, help="images for the (slow) naive baseline")
    parser.add_argument("--rounds", type=int, default=3, help="bare model + pipeline rounds (paired)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument(
        "--precisions", help="comma-separated, the first is the headline (default: auto,int8 on CPU, auto on CUDA)"
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    precisions = (args.precisions or ("auto,int8" if device == "cpu" else "auto")).split(",")
    cores = len(os.sched_getaffinity(0))
    paintings = collect_paintings()
    work = Path(tempfile.mkdtemp(prefix="artsearch-bench-"))
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=serve_images, args=(paintings, send), daemon=True)
    server.start()
    pgdata = work / "pgdata"
    try:
        url = start_embedded(pgdata, Settings().embedded_shared_buffers)
        upgrade(url)
        model_dir = random_vit_b32()
        base = receive.recv()
        artworks = insert_artworks(url, base, paintings)
        settings = Settings(
            database_url=url,
            home=work / "home",
            model=str(model_dir),
            device=device,
            embed_batch_size=args.batch_size,
            download_allow_private=True,  # the images come from a server on 127.0.0.1
        )
        options = EmbedOptions.from_settings(settings)

        with connect(url, autocommit=True) as conn:
            claims = claim_pending_artworks(conn, len(artworks), 600, settings.max_embed_attempts)
        reset_artworks(url)
        spec = preprocess_spec(CLIPImageProcessorPil.from_pretrained(model_dir))
        downloaded, download_s = measure_download(claims, options)
        decoded, decode_s = measure_decode(downloaded, spec, options.decode_threads)
        _, decode_bare_s = measure_decode(downloaded, spec, options.decode_threads, thumbnails=False)
        embed_rates = {
            p: measure_embed_alone(model_dir, decoded, args.batch_size, cores, device, p) for p in precisions
        }
        write_rate = measure_write(url, args.batch_size, settings)

        # Other work on a shared machine comes and goes: alternate the bare model and the pipeline, and the precisions.
        rounds: dict[str, list[tuple[float, EmbedSummary]]] = {p: [] for p in precisions}
        without_thumbnails: list[EmbedSummary] = []  # the headline precision again, thumbnails off, in each round
        for _ in range(args.rounds):
            for precision in precisions:
                model_rate = measure_model(model_dir, args.batch_size, args.workers, cores, device, precision)
                reset_artworks(url)
                run_settings = settings.model_copy(update={"precision": precision, "embed_workers": args.workers})
                summary = embed_pending(run_settings)
                rounds[precision].append((model_rate, summary))
            reset_artworks(url)
            off = {"precision": precisions[0], "embed_workers": args.workers, "thumbnails": False}
            without_thumbnails.append(embed_pending(settings.model_copy(update=off)))
        naive = measure_naive(url, artworks[: args.naive_images], model_dir, device)
    finally:
        server.kill()
        stop_embedded(pgdata)
        shutil.rmtree(work, ignore_errors=True)

    by_precision = {p: precision_report(embed_rates[p], rounds[p], args.workers) for p in precisions}
    headline = by_precision[precisions[0]]
    print(
        json.dumps(
            {
                "images": len(paintings),
                "sources": {s: sum(p.source == s for p in paintings) for s in ("aic", "wga")},
                "requested_rendition": f"AIC IIIF {EMBED_WIDTH}px wide (naive: {FULL_WIDTH}px), WGA as served",
                "model": "ViT-B/32 architecture, random weights",
                "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                "cpu_cores": cores,
                "precision": precision_name(device, precisions[0]),
                "batch_size": args.batch_size,
                "workers": args.workers,
                "stages_alone_images_per_s": {
                    "download": rate(len(claims), download_s),
                    "decode_preprocess": rate(len(downloaded), decode_s),
                    "embed": headline["embed_stage_alone_images_per_s"],
                    "write": write_rate,
                },
                **{key: value for key, value in headline.items() if key != "embed_stage_alone_images_per_s"},
                "by_precision": {precision_name(device, p): report for p, report in by_precision.items()},
                "thumbnails": thumbnail_report(rounds[precisions[0]], without_thumbnails, decode_s, decode_bare_s),
                "naive": naive,
                "pipeline_to_naive_ratio": round(
                    headline["end_to_end_images_per_s"] / naive["end_to_end_images_per_s"], 2
                ),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
