"""Measure time to first audio, gaps, cost and loop lag; write docs/benchmarks.md.

    python -m benchmarks [--repeats 7] [--rates 30 10 100] [--streams 1 10 50]

All strategies run on the same traces, interleaved, in one process, so their
ratios hold even on a noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
import re
import time

from tests.conftest import CASES
from tests.emulators.synth import SECONDS_PER_CHAR

from .harness import ENGINES, SATELLITE, ProviderSettings, home_assistant, rss_bytes
from .metrics import Run, median, percentile
from .report import (
    StrategyResult,
    main_table,
    ms,
    plot,
    providers_table,
    rates_table,
)
from .trace import ANSWER, TOKEN_CHARS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RESULTS = re.compile(r"<!-- results -->.*<!-- /results -->", re.DOTALL)
SUMMARY = re.compile(r"<!-- bench-summary -->.*<!-- /bench-summary -->", re.DOTALL)


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, default=7, help="runs at the first rate")
    parser.add_argument(
        "--other-repeats", type=int, default=3, help="runs at other rates"
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[30.0, 10.0, 100.0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--handshake-delay", type=float, default=0.1)
    parser.add_argument("--first-audio-latency", type=float, default=0.15)
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument(
        "--providers",
        nargs="*",
        default=list(CASES),
        help="providers measured through this integration at the first rate",
    )
    parser.add_argument("--no-docs", action="store_true", help="print only")
    return parser.parse_args()


async def measure(
    args: argparse.Namespace,
) -> tuple[list[StrategyResult], dict[str, dict[str, list[Run]]]]:
    """Run every strategy on every trace; interleaved so noise hits all alike."""
    settings = ProviderSettings(
        args.handshake_delay, args.first_audio_latency, args.speed
    )
    runs: dict[str, dict[float, list[Run]]] = {
        s: {r: [] for r in args.rates} for s in ENGINES
    }
    cpu = dict.fromkeys(ENGINES, 0.0)
    peak = dict.fromkeys(ENGINES, 0)
    lags: dict[str, dict[int, float]] = {s: {} for s in ENGINES}
    by_provider: dict[str, list[Run]] = {p: [] for p in args.providers}
    satellite: dict[str, list[Run]] = {p: [] for p in args.providers}
    async with home_assistant(settings, args.providers) as bench:
        baseline = rss_bytes()
        for rate in args.rates:
            repeats = args.repeats if rate == args.rates[0] else args.other_repeats
            for repeat in range(repeats):
                for strategy in ENGINES:
                    sampler = asyncio.create_task(_peak_rss())
                    started = time.process_time()
                    run = await bench.run(strategy, rate)
                    cpu[strategy] += time.process_time() - started
                    sampler.cancel()
                    peak[strategy] = max(peak[strategy], await _result(sampler))
                    runs[strategy][rate].append(run)
                    print(
                        f"{rate:g} tok/s #{repeat + 1} {strategy}: first audio "
                        f"{ms(run.first_audio)} ms (floor {ms(run.floor)}), "
                        f"gaps {run.gaps:.2f} s, total {run.total:.2f} s",
                        flush=True,
                    )
        for repeat in range(args.repeats):
            for provider in args.providers:
                case = CASES[provider]
                run = await bench.run(case.title, args.rates[0], case.engine)
                by_provider[provider].append(run)
                heard = await bench.run(
                    case.title, args.rates[0], case.engine, SATELLITE
                )
                satellite[provider].append(heard)
                for kind, measured in (("player", run), ("satellite", heard)):
                    print(
                        f"{args.rates[0]:g} tok/s #{repeat + 1} {case.title} {kind}: "
                        f"first audio {ms(measured.first_audio)} ms "
                        f"(floor {ms(measured.floor)}), gaps {measured.gaps:.2f} s, "
                        f"total {measured.total:.2f} s",
                        flush=True,
                    )
        for streams in args.streams:
            for strategy in ENGINES:
                lag = await bench.loop_lag(strategy, streams, args.rates[0])
                lags[strategy][streams] = percentile(lag, 0.99) * 1000
                print(
                    f"{streams} streams {strategy}: loop lag p99 {lags[strategy][streams]:.1f} ms",
                    flush=True,
                )
    return [
        StrategyResult(
            strategy,
            runs[strategy],
            cpu[strategy]
            / sum(r.audio_seconds for rs in runs[strategy].values() for r in rs),
            max(0, peak[strategy] - baseline) / 1e6,
            lags[strategy],
        )
        for strategy in ENGINES
    ], {"player": by_provider, "satellite": satellite}


async def _peak_rss() -> int:
    peak = rss_bytes()
    try:
        while True:
            await asyncio.sleep(0.02)
            peak = max(peak, rss_bytes())
    except asyncio.CancelledError:
        return peak


async def _result(task: asyncio.Task[int]) -> int:
    return await task


def verdicts(results: list[StrategyResult], args: argparse.Namespace) -> str:
    """Check the targets against this run's numbers."""
    ours, _, batched, full = results
    rate = args.rates[0]
    first = {
        r.strategy: median([run.first_audio for run in r.runs[rate]]) for r in results
    }
    over = [run.overhead for run in ours.runs[rate]]
    worst_gap = max(run.gaps for runs in ours.runs.values() for run in runs)
    speech_chars_per_s = 1 / SECONDS_PER_CHAR
    lines = [
        ("median first audio within 10 ms of the floor", median(over) <= 0.010,
         f"{ms(median(over))} ms"),
        ("p95 within 25 ms of the floor", percentile(over, 0.95) <= 0.025,
         f"{ms(percentile(over, 0.95))} ms"),
        ("ours / sentence-batched <= 0.6", first[ours.strategy] / first[batched.strategy] <= 0.6,
         f"{first[ours.strategy] / first[batched.strategy]:.2f}"),
        ("ours / full text <= 0.2", first[ours.strategy] / first[full.strategy] <= 0.2,
         f"{first[ours.strategy] / first[full.strategy]:.2f}"),
        ("no playback gap after the first byte (LLM >= "
         f"{speech_chars_per_s:.0f} chars/s of speech at every rate here)", worst_gap <= 0.005,
         f"worst {ms(worst_gap)} ms"),
    ]  # fmt: skip
    if 50 in ours.lag_p99_ms:
        lag = ours.lag_p99_ms[50]
        lines.append(
            ("50 concurrent streams: loop lag p99 < 20 ms", lag < 20, f"{lag:.1f} ms")
        )
    return "\n".join(
        f"- {'met' if ok else 'MISSED'}: {what} ({value})" for what, ok, value in lines
    )


def provider_tables(by_provider: dict[str, dict[str, list[Run]]]) -> str:
    """Return the per-provider tables: media player (MP3) and satellite (WAV 16 kHz)."""
    titles = {
        "player": "Media player (MP3, no conversion; Smallest.ai's PCM converted "
        "by Home Assistant):",
        "satellite": "Assist satellite (WAV 16 kHz mono, converted by Home "
        "Assistant's ffmpeg):",
    }
    return "\n\n".join(
        f"{titles[kind]}\n\n"
        + providers_table({CASES[p].title: r for p, r in runs.items() if r})
        for kind, runs in by_provider.items()
    )


def render(
    results: list[StrategyResult],
    by_provider: dict[str, dict[str, list[Run]]],
    args: argparse.Namespace,
) -> str:
    """Write the results section: the same text on stdout and in the docs."""
    rate = args.rates[0]
    return "\n\n".join(
        [
            f"Provider: LMNT emulator, handshake {ms(args.handshake_delay)} ms, first audio "
            f"{ms(args.first_audio_latency)} ms after it decides to speak, {args.speed:g}x "
            f"real time. Text: {len(ANSWER)} characters in {TOKEN_CHARS}-character tokens, "
            f"{args.repeats} runs at {rate:g} tokens/s, {args.other_repeats} at the others.",
            f"At {rate:g} tokens/s:",
            main_table(results, rate),
            "First audio at each token rate:",
            rates_table(results),
            "Targets:",
            verdicts(results, args),
            f"Every provider through this integration, at {rate:g} tokens/s, each "
            "on its own emulator with the same settings.",
            provider_tables(by_provider),
        ]
    )


def main() -> None:
    """Run the benchmark and report."""
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    results, by_provider = asyncio.run(measure(args))
    text = render(results, by_provider, args)
    print("\n" + text)
    if not args.no_docs:
        plot(results, args.rates[0], DOCS / "benchmark_timeline.png")
        summary = "\n\n".join(
            [f"At {args.rates[0]:g} tokens/s:", main_table(results, args.rates[0]),
             verdicts(results, args), provider_tables(by_provider)]
        )  # fmt: skip
        for page, pattern, tag, content in (
            (DOCS / "benchmarks.md", RESULTS, "results", text),
            (ROOT / "README.md", SUMMARY, "bench-summary", summary),
        ):
            body = page.read_text(encoding="utf-8")
            block = f"<!-- {tag} -->\n{content}\n<!-- /{tag} -->"
            page.write_text(pattern.sub(lambda _, b=block: b, body), encoding="utf-8")
        print(
            f"\nwrote docs/benchmarks.md, README.md and {DOCS / 'benchmark_timeline.png'}"
        )


if __name__ == "__main__":
    main()
