"""Composes one worker's stages into threads that run at the same time, joined by bounded channels; times
each stage; stops cleanly on SIGINT/SIGTERM. `embed_pending` is the entry point of `artsearch embed`."""

import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace

import torch

from backend.clip_model import ClipModel, load_clip
from backend.database import connect, database_url, index_build_memory
from backend.migrate import check_model_dimension
from backend.model_thread import ModelThread
from backend.projection import load_current
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork, fail_exhausted_artworks, release_claims
from backend.store.hnsw import begin_bulk_load, ensure_index
from backend.store.projections import embedding_count
from etl.pipeline.channel import END, Aborted, Channel
from etl.pipeline.claim import ClaimArtworks
from etl.pipeline.decode import DecodeImage
from etl.pipeline.distributor import distribute
from etl.pipeline.download import DownloadLoop, DownloadOptions
from etl.pipeline.embed import EmbedBatch
from etl.pipeline.items import Decoded, EmbeddedBatch, Failure
from etl.pipeline.progress import ProgressView
from etl.pipeline.stats import EmbedSummary, StageStats
from etl.pipeline.write import Outcome, WriteResults

ProgressCallback = Callable[[EmbedSummary], None]
PARTIAL_BATCH_WAIT_S = 1.0  # a partial batch waits this long for more images before it is embedded
PROGRESS_INTERVAL_S = 0.5
STOP_GRACE_S = 15.0  # after a stop signal, in-flight work may finish for this long; the rest is released
DECODE_NICENESS = 10  # decode fills the model's idle moments instead of preempting its threads mid-operation


@dataclass(frozen=True)
class EmbedOptions:
    """How one run embeds: batch size, how many artworks, where, and how wide each stage is."""

    batch_size: int
    limit: int | None
    device: str
    decode_threads: int
    download: DownloadOptions
    queued_batches: int
    torch_threads: int | None = None  # None: every core this process may use

    @classmethod
    def from_settings(cls, settings: Settings, *, limit: int | None = None) -> "EmbedOptions":
        """The settings' pipeline, for at most `limit` artworks."""
        return cls(
            batch_size=settings.embed_batch_size,
            limit=limit,
            device=settings.device,
            decode_threads=settings.embed_decode_threads,
            download=DownloadOptions.from_settings(settings),
            queued_batches=settings.embed_queued_batches,
        )


def embed_pending(settings: Settings, *, limit: int | None = None, show_progress: bool = False) -> EmbedSummary:
    """Embed pending artworks until none is left (or `limit`), in the settings' worker processes; the summary."""
    options = EmbedOptions.from_settings(settings, limit=limit)
    url = database_url(settings)
    with connect(url) as conn:
        bulk = begin_bulk_load(conn, settings.embed_bulk_min_pending, settings.embed_bulk_ratio)
    with ProgressView(enabled=show_progress) as view:
        summary = distribute(run_worker, settings, options, settings.embed_workers, on_progress=view.update)
        view.update(summary)
    if bulk and not summary.interrupted:  # a stopped load leaves the build to the next run, which is bulk too
        with connect(url) as conn:
            memory = index_build_memory(settings, embedding_count(conn))
            summary = replace(summary, index_built=ensure_index(conn, memory, os.cpu_count()))
    return replace(summary, bulk=bulk)


def run_worker(
    settings: Settings,
    options: EmbedOptions,
    on_progress: ProgressCallback | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> EmbedSummary:
    """One worker's run: load the model, check it fits the column, then run the stages until the work is done."""
    model_thread = ModelThread()
    try:
        model = model_thread.run(_load_model, settings, options)
        return _run_stages(settings, options, model, model_thread, on_progress, signals)
    finally:
        model_thread.close()


def _load_model(settings: Settings, options: EmbedOptions) -> ClipModel:
    """On the model thread: torch's thread count (its OpenMP team is this thread's), then the vision tower."""
    torch.set_num_threads(options.torch_threads or len(os.sched_getaffinity(0)))
    return load_clip(
        settings.model,
        device=options.device,
        precision=settings.precision,
        text=False,
        allow_random=settings.allow_random_weights,
        home=settings.home,
    )


def _run_stages(
    settings: Settings,
    options: EmbedOptions,
    model: ClipModel,
    model_thread: ModelThread,
    on_progress: ProgressCallback | None,
    signals: tuple[signal.Signals, ...],
) -> EmbedSummary:
    url = database_url(settings)
    with (
        connect(url, autocommit=True) as control,
        connect(url, autocommit=True) as claim_conn,
        connect(url, autocommit=True) as write_conn,
    ):
        check_model_dimension(control, model.dim, model.name)
        fail_exhausted_artworks(control, settings.max_embed_attempts)
        # The map as it is when the run starts; `artsearch project` re-places every artwork when refitted.
        projection = load_current(control)
        pipeline = Pipeline(
            claim=ClaimArtworks(
                claim_conn, options.batch_size, settings.lease_seconds, settings.max_embed_attempts, options.limit
            ),
            download=DownloadLoop(options.download),
            decode=DecodeImage(model.preprocess_spec, settings.thumbnails),
            embed=EmbedBatch(model, model_thread),
            write=WriteResults(write_conn, model.name, projection, settings.max_embed_attempts),
            options=options,
        )
        try:
            with stop_on_signals(pipeline, signals):
                summary = pipeline.run(on_progress)
        finally:
            released = release_claims(control, pipeline.unfinished())
    return replace(summary, released=released)


class Pipeline:
    """The five stages of one worker, each on its own thread(s), joined by bounded channels and timed."""

    def __init__(
        self,
        claim: ClaimArtworks,
        download: DownloadLoop,
        decode: DecodeImage,
        embed: EmbedBatch,
        write: WriteResults,
        options: EmbedOptions,
    ) -> None:
        self.claim = claim
        self.download = download
        self.decode = decode
        self.embed = embed
        self.write = write
        self.batch_size = options.batch_size
        self.decode_threads = options.decode_threads
        self.stopping = threading.Event()
        self.abort = threading.Event()
        capacity = options.batch_size * options.queued_batches
        self.to_download = Channel("download", capacity, self.abort)
        self.to_decode = Channel("decode", capacity, self.abort)
        self.to_embed = Channel("embed", capacity, self.abort)
        self.to_write = Channel("write", capacity, self.abort)
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._summary = EmbedSummary()
        self._in_flight: dict[int, ClaimedArtwork] = {}
        self._decoders_left = options.decode_threads
        self._started = 0.0
        self._stop_requested_at: float | None = None

    def stop(self) -> None:
        """First call: stop claiming and let in-flight work finish; second call: abort now."""
        self._summary.interrupted = True
        if self.stopping.is_set():
            self.abort.set()
        self.stopping.set()
        self._stop_requested_at = self._stop_requested_at or time.perf_counter()

    def unfinished(self) -> list[ClaimedArtwork]:
        """Claims neither written nor recorded as failed: released when the run ends."""
        with self._lock:
            return list(self._in_flight.values())

    def run(self, on_progress: ProgressCallback | None = None) -> EmbedSummary:
        """Run every stage until the claim stage finds no more work, then return the summary."""
        self._started = time.perf_counter()
        targets = [("claim", self._claim_loop), ("download", self._download_loop)]
        targets += [(f"decode-{i}", self._decode_loop) for i in range(self.decode_threads)]
        targets += [("embed", self._embed_loop), ("write", self._write_loop)]
        threads = [threading.Thread(target=self._guard, args=(fn,), name=name, daemon=True) for name, fn in targets]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            threads[-1].join(PROGRESS_INTERVAL_S)
            if self._stop_requested_at and time.perf_counter() - self._stop_requested_at > STOP_GRACE_S:
                self.abort.set()
            if on_progress:
                on_progress(self.snapshot())
        if self.error is not None:
            raise self.error
        return self.snapshot()

    def snapshot(self) -> EmbedSummary:
        """The run so far, safe to hand to another thread or process."""
        with self._lock:
            stages = {name: replace(stats) for name, stats in self._summary.stages.items()}
            stages["download"] = StageStats(self.download.items, self.download.busy_s)
            queues = {ch.name: ch.depth() for ch in (self.to_download, self.to_decode, self.to_embed, self.to_write)}
            return replace(
                self._summary,
                elapsed_s=time.perf_counter() - self._started,
                failures=self._summary.failures.copy(),
                stages=stages,
                queues=queues,
            )

    def _guard(self, loop: Callable[[], None]) -> None:
        """Run one stage loop; its unexpected error aborts the run and is raised by run()."""
        try:
            with suppress(Aborted):  # another stage failed first: its error is the one to raise
                loop()
        except BaseException as exc:
            self.error = self.error or exc
            self.abort.set()

    def _timed(self, stage: str, items: int, started: float) -> None:
        with self._lock:
            stats = self._summary.stages[stage]
            stats.items += items
            stats.busy_s += time.perf_counter() - started

    def _claim_loop(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            claims = self.claim()
            self._timed("claim", len(claims), started)
            if not claims:
                break
            with self._lock:
                self._in_flight.update((claim.id, claim) for claim in claims)
                self._summary.claimed += len(claims)
            for claim in claims:
                self.to_download.put(claim)
        self.to_download.put(END)

    def _download_loop(self) -> None:
        self.download(self.to_download, self.to_decode)

    def _decode_loop(self) -> None:
        lower_thread_priority(DECODE_NICENESS)
        while (item := self.to_decode.get()) is not END:
            if not isinstance(item, Failure):
                started = time.perf_counter()
                item = self.decode(item)
                self._timed("decode", 1, started)
            self.to_embed.put(item)
        self.to_decode.put(END)  # for the sibling decode threads
        with self._lock:
            self._decoders_left -= 1
            last = self._decoders_left == 0
        if last:
            self.to_embed.put(END)

    def _embed_loop(self) -> None:
        batch: list[Decoded] = []
        while True:
            try:
                item = self.to_embed.get(timeout=PARTIAL_BATCH_WAIT_S if batch else None)
            except queue.Empty:
                item = None
            if item is END:
                break
            if isinstance(item, Failure):
                self.to_write.put(item)
                continue
            if item is not None:
                batch.append(item)
            if batch and (item is None or len(batch) >= self.batch_size):
                self._embed_batch(batch)
                batch = []
        if batch:
            self._embed_batch(batch)
        self.to_write.put(END)

    def _embed_batch(self, batch: list[Decoded]) -> None:
        started = time.perf_counter()
        embedded = self.embed(batch)
        self._timed("embed", len(batch), started)
        self.to_write.put(embedded)

    def _write_loop(self) -> None:
        while (item := self.to_write.get()) is not END:
            started = time.perf_counter()
            outcomes = self.write(item)
            self._timed("write", len(outcomes), started)
            self._record(item, outcomes)

    def _record(self, item: EmbeddedBatch | Failure, outcomes: list[tuple[ClaimedArtwork, Outcome]]) -> None:
        with self._lock:
            for claim, outcome in outcomes:
                self._in_flight.pop(claim.id, None)
                setattr(self._summary, outcome, getattr(self._summary, outcome) + 1)
                if outcome == "failed" and isinstance(item, Failure):
                    self._summary.failures[item.reason] += 1


def lower_thread_priority(niceness: int) -> None:
    """Renice the calling thread only (Linux: a thread id is a scheduling entity); elsewhere leave it be."""
    with suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


@contextmanager
def stop_on_signals(pipeline: Pipeline, signals: tuple[signal.Signals, ...]) -> Iterator[None]:
    """While running: the first signal stops claiming and finishes in-flight work, a second one aborts."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        signal.signal(sig, lambda *_: pipeline.stop())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
