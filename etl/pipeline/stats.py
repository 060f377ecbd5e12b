"""What a run did, stage by stage: counts, busy time per stage, queue depths, failures by reason."""

from collections import Counter
from dataclasses import dataclass, field

STAGES = ("claim", "download", "decode", "embed", "write")


@dataclass
class StageStats:
    """Items a stage finished and the seconds it spent working on them (waiting excluded)."""

    items: int = 0
    busy_s: float = 0.0

    @property
    def rate(self) -> float:
        """Images/s this stage could sustain alone."""
        return self.items / self.busy_s if self.busy_s > 0 else 0.0


@dataclass
class EmbedSummary:
    """A run's progress so far, or its result: also what the distributor adds up across workers."""

    elapsed_s: float = 0.0
    claimed: int = 0
    embedded: int = 0
    failed: int = 0
    retry: int = 0  # transient failures, claimable again after a backoff
    lost: int = 0  # claims whose lease another worker took over
    released: int = 0  # handed back untried at shutdown
    interrupted: bool = False
    bulk: bool = False  # a first load: written without the HNSW index, which is built at the end
    index_built: bool = False
    failures: Counter[str] = field(default_factory=Counter)
    stages: dict[str, StageStats] = field(default_factory=lambda: {name: StageStats() for name in STAGES})
    queues: dict[str, int] = field(default_factory=dict)

    @property
    def images_per_s(self) -> float:
        """Embedded images per second of wall time."""
        return self.embedded / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def merge(self, other: "EmbedSummary") -> "EmbedSummary":
        """Two workers' summaries as one: counts add up, workers run side by side (elapsed = the longer)."""
        stages = {
            name: StageStats(
                self.stages[name].items + other.stages[name].items,
                self.stages[name].busy_s + other.stages[name].busy_s,
            )
            for name in STAGES
        }
        queues = Counter(self.queues) + Counter(other.queues)
        return EmbedSummary(
            elapsed_s=max(self.elapsed_s, other.elapsed_s),
            claimed=self.claimed + other.claimed,
            embedded=self.embedded + other.embedded,
            failed=self.failed + other.failed,
            retry=self.retry + other.retry,
            lost=self.lost + other.lost,
            released=self.released + other.released,
            interrupted=self.interrupted or other.interrupted,
            bulk=self.bulk or other.bulk,
            index_built=self.index_built or other.index_built,
            failures=self.failures + other.failures,
            stages=stages,
            queues={name: queues.get(name, 0) for name in set(self.queues) | set(other.queues)},
        )

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        text = f"embedded {self.embedded} images in {self.elapsed_s:.1f} s ({self.images_per_s:.1f} images/s)"
        text += f"; {self.failed} failed"
        if self.failures:
            text += " (" + ", ".join(f"{reason}: {n}" for reason, n in self.failures.most_common(5)) + ")"
        text += f"; {self.retry} to retry later"
        if self.released:
            text += f"; {self.released} released"
        if self.lost:
            text += f"; {self.lost} taken over by another worker"
        if self.index_built:
            text += "; bulk load: HNSW index built"
        if self.interrupted:
            text += "; interrupted"
        return text
