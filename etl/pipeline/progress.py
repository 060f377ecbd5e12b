"""A live `rich` view of a run: images/s overall and per stage, queue depths, failures."""

from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from etl.pipeline.stats import STAGES, EmbedSummary


class ProgressView:
    """Shows the latest summary while a run goes on; does nothing when disabled."""

    def __init__(self, enabled: bool, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self._live: Live | None = None

    def __enter__(self) -> "ProgressView":
        if self.enabled:
            self._live = Live(console=self.console, refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __exit__(self, *_: Any) -> None:
        if self._live is not None:
            self._live.stop()
            if not self.console.is_terminal:  # off a terminal, Live leaves its last frame without a newline
                self.console.line()

    def update(self, summary: EmbedSummary) -> None:
        """Redraw with this summary."""
        if self._live is not None:
            self._live.update(render(summary))


def render(summary: EmbedSummary) -> Group:
    """The view: a headline, one row per stage, the most common failure reasons."""
    headline = Text.assemble(
        ("embedding ", "bold"),
        f"{summary.embedded} embedded · {summary.images_per_s:.1f} images/s · ",
        (f"{summary.failed} failed", "red" if summary.failed else ""),
        f" · {summary.retry} to retry · {summary.elapsed_s:.0f} s",
    )
    table = Table(box=None, pad_edge=False)
    for column in ("stage", "done", "images/s", "alone images/s", "queued"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for name in STAGES:
        stats = summary.stages[name]
        wall_rate = stats.items / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
        queued = summary.queues.get(name, "")  # waiting in front of this stage
        table.add_row(name, str(stats.items), f"{wall_rate:.1f}", f"{stats.rate:.1f}", str(queued))
    parts: list[Any] = [headline, table]
    for reason, count in summary.failures.most_common(3):
        parts.append(Text(f"  {count} × {reason}", style="red"))
    return Group(*parts)
