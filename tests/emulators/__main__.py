"""Run a provider emulator from the command line.

    python -m tests.emulators lmnt --port 8901 --api-key demo-key --speed 4
    python -m tests.emulators smallest|telnyx|sarvam ...

Prints ``READY <base_url>`` once listening and runs until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass
import logging
import signal
import sys
from typing import Any

from .base import EmulatorServer
from .lmnt import LmntEmulator
from .sarvam import SarvamEmulator
from .smallest import SmallestEmulator
from .telnyx import TelnyxEmulator


@dataclass(frozen=True, slots=True)
class Provider:
    """A sub-command: its help text, default port and emulator factory."""

    help: str
    default_port: int
    build: Callable[[argparse.Namespace], EmulatorServer[Any]]


def _factory(
    emulator: type[EmulatorServer[Any]],
) -> Callable[[argparse.Namespace], EmulatorServer[Any]]:
    def build(args: argparse.Namespace) -> EmulatorServer[Any]:
        return emulator.from_cli(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            speed=args.speed,
            first_audio_latency=args.first_audio_latency,
            handshake_delay=args.handshake_delay,
        )

    return build


PROVIDERS: dict[str, Provider] = {
    "lmnt": Provider("LMNT speech sessions and REST", 8901, _factory(LmntEmulator)),
    "smallest": Provider(
        "Smallest.ai Waves live WebSocket, SSE and voices",
        8902,
        _factory(SmallestEmulator),
    ),
    "telnyx": Provider(
        "Telnyx speech WebSocket and voices", 8903, _factory(TelnyxEmulator)
    ),
    "sarvam": Provider(
        "Sarvam Bulbul WebSocket and cloned voices", 8904, _factory(SarvamEmulator)
    ),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators", description=__doc__.splitlines()[0]
    )
    providers = parser.add_subparsers(dest="provider", required=True)
    providers.add_parser("list", help="print each emulator and its default port")
    for name, provider in PROVIDERS.items():
        sub = providers.add_parser(name, help=provider.help)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument(
            "--port", type=int, default=provider.default_port, help="0 picks a port"
        )
        sub.add_argument("--api-key", default="demo-key")
        sub.add_argument(
            "--speed",
            type=float,
            default=0.0,
            help="real-time factor of audio delivery; 0 = as fast as possible",
        )
        sub.add_argument(
            "--first-audio-latency",
            type=float,
            default=0.0,
            help="seconds before the first audio of every segment",
        )
        sub.add_argument(
            "--handshake-delay",
            type=float,
            default=0.0,
            help="seconds added to every HTTP response and WebSocket upgrade",
        )
        sub.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Run the chosen emulator until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with PROVIDERS[args.provider].build(args) as server:
        print(f"READY {server.base_url}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    if args.provider == "list":
        for name, provider in PROVIDERS.items():
            print(name, provider.default_port)
        return 0
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
