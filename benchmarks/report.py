"""Tables for stdout and docs/benchmarks.md, and the timeline plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl

mpl.use("Agg")
from matplotlib import pyplot as plt

from .metrics import Run, median, percentile


@dataclass
class StrategyResult:
    """Everything measured for one strategy."""

    strategy: str
    runs: dict[float, list[Run]]  # by token rate
    cpu_per_audio_second: float
    peak_rss_mb: float
    lag_p99_ms: dict[int, float]  # by concurrent streams


def ms(seconds: float) -> str:
    """Format seconds as whole milliseconds."""
    return f"{seconds * 1000:.0f}"


def main_table(results: list[StrategyResult], rate: float) -> str:
    """Return the per-strategy table at the default token rate, as markdown."""
    streams = sorted({n for r in results for n in r.lag_p99_ms})
    header = [
        "strategy", "first audio median ms", "p95 ms", "floor ms", "over floor median ms",
        "over floor p95 ms", "playback gaps s", "total s", "CPU s / audio s",
        "peak RSS MB", *(f"loop lag p99 ms @{n}" for n in streams),
    ]  # fmt: skip
    rows = [header, ["---"] * len(header)]
    for result in results:
        runs = result.runs[rate]
        first = [run.first_audio for run in runs]
        over = [run.overhead for run in runs]
        rows.append(
            [
                result.strategy,
                ms(median(first)),
                ms(percentile(first, 0.95)),
                ms(median([run.floor for run in runs])),
                ms(median(over)),
                ms(percentile(over, 0.95)),
                f"{median([run.gaps for run in runs]):.2f}",
                f"{median([run.total for run in runs]):.2f}",
                f"{result.cpu_per_audio_second:.4f}",
                f"{result.peak_rss_mb:.1f}",
                *(f"{result.lag_p99_ms.get(n, float('nan')):.1f}" for n in streams),
            ]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def providers_table(by_provider: dict[str, list[Run]]) -> str:
    """Return first audio, overhead and gaps for each provider, as markdown."""
    header = ["provider", "first audio median ms", "p95 ms", "floor ms",
              "over floor median ms", "over floor p95 ms", "playback gaps s", "total s"]  # fmt: skip
    rows = [header, ["---"] * len(header)]
    for provider, runs in by_provider.items():
        first = [run.first_audio for run in runs]
        over = [run.overhead for run in runs]
        rows.append(
            [
                provider,
                ms(median(first)),
                ms(percentile(first, 0.95)),
                ms(median([run.floor for run in runs])),
                ms(median(over)),
                ms(percentile(over, 0.95)),
                f"{median([run.gaps for run in runs]):.2f}",
                f"{median([run.total for run in runs]):.2f}",
            ]
        )
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def rates_table(results: list[StrategyResult]) -> str:
    """Return first-audio medians (and gaps) at every token rate, as markdown."""
    rates = sorted({rate for r in results for rate in r.runs})
    header = [
        "strategy",
        *(f"{rate:g} tok/s: first audio ms (floor, gaps s)" for rate in rates),
    ]
    rows = [header, ["---"] * len(header)]
    for result in results:
        cells = [result.strategy]
        for rate in rates:
            runs = result.runs[rate]
            cells.append(
                f"{ms(median([r.first_audio for r in runs]))} "
                f"({ms(median([r.floor for r in runs]))}, "
                f"{median([r.gaps for r in runs]):.2f})"
            )
        rows.append(cells)
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def plot(results: list[StrategyResult], rate: float, path: Path) -> None:
    """Plot text arriving vs audio arriving, one row per strategy (its median run)."""
    figure, axes = plt.subplots(
        len(results), 1, sharex=True, figsize=(11, 1.9 * len(results))
    )
    for axis, result in zip(axes, results, strict=True):
        runs = sorted(result.runs[rate], key=lambda run: run.first_audio)
        run = runs[len(runs) // 2]
        token_t = [t - run.start for t in run.token_times]
        axis.vlines(
            token_t, 0.55, 0.95, color="tab:blue", linewidth=0.6, label="text token"
        )
        audio_t = [t - run.start for t, _, _ in run.chunks]
        axis.vlines(
            audio_t, 0.05, 0.45, color="tab:orange", linewidth=0.6, label="audio chunk"
        )
        axis.axvline(
            run.floor, color="tab:green", linestyle="--", linewidth=1, label="floor"
        )
        axis.axvline(
            run.first_audio, color="tab:red", linewidth=1.2, label="first audio"
        )
        axis.set_yticks([])
        axis.set_title(
            f"{result.strategy}: first audio {ms(run.first_audio)} ms",
            fontsize=9,
            loc="left",
        )
    axes[0].legend(loc="upper right", fontsize=7, ncol=4)
    axes[-1].set_xlabel(f"seconds after the first token ({rate:g} tokens/s)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
