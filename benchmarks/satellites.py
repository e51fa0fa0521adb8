"""First audio at a media player and at satellites, in a real Home Assistant process.

    python -m benchmarks.satellites --label newest --ha-python .venv-ha/bin/python

Starts the emulators and Home Assistant on ``--ha-python`` (as scripts/develop
does), adds every provider through the config flow, then fetches each message
through /api/tts_get_url and /api/tts_proxy three ways in a row: as a player
(no format asked) and as the two satellites Home Assistant serves most, WAV
16 kHz mono (Wyoming, VoIP) and FLAC 48 kHz mono (ESPHome's Voice PE). The
satellite's delay is its first audio minus the player's in the same round.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import re
import sys
import tempfile
import time

import aiohttp

from tests.conftest import CASES
from tests.real_home_assistant import RealHomeAssistant, real_home_assistant

from .metrics import median

ROOT = Path(__file__).resolve().parent.parent
KINDS: dict[str, dict[str, str | int]] = {
    "player": {},
    "wav 16 kHz": {"preferred_format": "wav", "preferred_sample_rate": 16000,
                   "preferred_sample_channels": 1, "preferred_sample_bytes": 2},
    "flac 48 kHz": {"preferred_format": "flac", "preferred_sample_rate": 48000,
                    "preferred_sample_channels": 1, "preferred_sample_bytes": 2},
}  # fmt: skip
MESSAGE = "Turning on the kitchen lights and closing the blinds, as you asked"
#: On a Home Assistant that takes the engine's audio as asked (2026.11).
TARGET_MS = 30


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.satellites", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--label", choices=["newest", "oldest"], required=True)
    parser.add_argument(
        "--ha-python", default=sys.executable, help="the interpreter of the HA to start"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--handshake-delay", type=float, default=0.1)
    parser.add_argument("--first-audio-latency", type=float, default=0.15)
    parser.add_argument("--speed", type=float, default=4.0)
    parser.add_argument("--no-docs", action="store_true", help="print only")
    return parser.parse_args()


async def first_audio(
    ha: RealHomeAssistant,
    http: aiohttp.ClientSession,
    engine: str,
    message: str,
    options: dict[str, str | int],
) -> float:
    """Seconds from asking for the URL to the first audio byte."""
    started = time.monotonic()
    path = await ha.speech_path(http, engine, message, options)
    async with http.get(ha.url + path) as response:
        response.raise_for_status()
        async for _ in response.content.iter_any():
            first = time.monotonic() - started
            break
        else:
            raise RuntimeError(f"{engine} returned no audio")
        await response.read()
    return first


async def measure(
    args: argparse.Namespace,
) -> tuple[str, dict[str, dict[str, list[float]]]]:
    """Return Home Assistant's version and each provider's first audio by kind."""
    emulator_args = (
        "--speed", str(args.speed),
        "--first-audio-latency", str(args.first_audio_latency),
        "--handshake-delay", str(args.handshake_delay),
    )  # fmt: skip
    results = {p: {kind: [] for kind in KINDS} for p in CASES}
    with tempfile.TemporaryDirectory() as workdir:
        async with (
            real_home_assistant(
                Path(workdir), args.ha_python, CASES, emulator_args
            ) as ha,
            aiohttp.ClientSession() as http,
        ):
            for provider in CASES:
                flow = await ha.add_entry(http, provider)
                if flow.get("type") != "create_entry":
                    raise RuntimeError(f"{provider}: {flow}")
            for repeat in range(args.repeats):
                for provider, case in CASES.items():
                    for kind, options in KINDS.items():
                        # A new text every time: never served from the cache.
                        message = f"{MESSAGE}, round {repeat + 1}, {kind}."
                        seconds = await first_audio(
                            ha, http, case.engine, message, options
                        )
                        results[provider][kind].append(seconds)
                        print(
                            f"HA {ha.version} #{repeat + 1} {case.title} {kind}: "
                            f"{seconds * 1000:.0f} ms",
                            flush=True,
                        )
            return ha.version, results


def table(version: str, results: dict[str, dict[str, list[float]]]) -> tuple[str, int]:
    """Return the markdown table and the largest satellite delay (median, ms)."""
    kinds = list(KINDS)
    header = ["provider", "player ms", *(f"{kind} ms (delay)" for kind in kinds[1:])]
    rows = [header, ["---"] * len(header)]
    worst = 0
    for provider, by_kind in results.items():
        player = by_kind["player"]
        row = [CASES[provider].title, f"{median(player) * 1000:.0f}"]
        for kind in kinds[1:]:
            delay = median([s - p for s, p in zip(by_kind[kind], player, strict=True)])
            worst = max(worst, round(delay * 1000))
            row.append(f"{median(by_kind[kind]) * 1000:.0f} ({delay * 1000:+.0f})")
        rows.append(row)
    lines = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return f"Home Assistant {version}, median of the rounds:\n\n{lines}", worst


def main() -> None:
    """Measure, print, and write the section of docs/benchmarks.md and README.md."""
    args = parse_args()
    version, results = asyncio.run(measure(args))
    text, worst = table(version, results)
    if args.label == "newest":
        verdict = "met" if worst <= TARGET_MS else "MISSED"
        text += (
            f"\n\n- {verdict}: every satellite at most {TARGET_MS} ms after the "
            f"player (largest delay {worst} ms)"
        )
    print("\n" + text)
    if args.no_docs:
        return
    pattern = re.compile(
        rf"<!-- satellites-{args.label} -->.*<!-- /satellites-{args.label} -->",
        re.DOTALL,
    )
    block = (
        f"<!-- satellites-{args.label} -->\n{text}\n<!-- /satellites-{args.label} -->"
    )
    for page in (ROOT / "docs" / "benchmarks.md", ROOT / "README.md"):
        body = page.read_text(encoding="utf-8")
        page.write_text(pattern.sub(lambda _: block, body), encoding="utf-8")
    print("\nwrote docs/benchmarks.md and README.md")


if __name__ == "__main__":
    main()
