"""Debug logging tells a user chasing latency what happened to each answer, with timings."""

from __future__ import annotations

import logging
import re
from typing import Any

import aiohttp
import pytest

from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer

from .helpers import ANSWER, TextFeed, collect
from .test_providers import make_client, options_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

# One line per moment of an answer, each with its time.
EXPECTED = (
    r": speaking with voice \S+, \S+ at \d+ Hz$",
    r": connected and set up in \d+ ms$",
    r": flush after \d+ characters \(\d+ new\), \d+ ms after the connection$",
    r": first audio \d+ ms after the connection \(\d+ ms after its flush\)$",
    r": end of text after \d+ characters, \d+ ms after the connection$",
    r": answer complete and closed after [\d.]+ s: [\d.]+ s of audio, \d+ requests "
    r"to speak, \d+ answers$",
)


async def test_an_answer_is_logged_with_timings(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.streaming_tts")
    client = make_client(case, http, emulator)
    await collect(client.stream(TextFeed(ANSWER)(), options_for(client, case.voice)))
    lines = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.streaming_tts")
    ]
    for pattern in EXPECTED:
        assert any(
            line.startswith(client.provider) and re.search(pattern, line)
            for line in lines
        ), (pattern, lines)
