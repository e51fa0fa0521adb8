"""A provider that quotes the API key in its errors: the key reaches no exception or log.

One case per provider and path: the WebSocket, Smallest.ai's SSE fallback,
and the REST voice list.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
import logging
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    PROVIDERS,
    SpeechError,
    StreamingClient,
)
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.smallest import SmallestEmulator

from .test_providers import FAST, one, options_for

pytestmark = pytest.mark.usefixtures("socket_enabled")

SECRET = "sk-live-0b1c2d3e4f5a6b7c"


@pytest.fixture
async def emulator(
    case: ProviderCase, socket_enabled: None
) -> AsyncGenerator[EmulatorServer[Any]]:
    """The case's emulator, accepting SECRET and quoting it in every error."""
    async with case.emulator(case.config(api_keys={SECRET}, echo_key=True)) as server:
        yield server


def assert_no_key(err: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """The key is in neither the error nor any log line."""
    assert SECRET not in str(err)
    assert SECRET not in repr(err.args)
    assert SECRET not in caplog.text
    assert "REDACTED" in str(err)  # the provider did quote it


def client_for(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: EmulatorServer[Any]
) -> StreamingClient:
    """A client of the case's provider holding SECRET."""
    return PROVIDERS[case.provider](
        http, SECRET, base_url=emulator.base_url, deadlines=FAST
    )


async def test_websocket_error(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await assert_stream_hides_key(case, http, emulator, caplog)


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_sse_error(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert isinstance(emulator, SmallestEmulator)
    emulator.config.websocket_enabled = False
    await assert_stream_hides_key(case, http, emulator, caplog)


async def assert_stream_hides_key(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stream the provider breaks with a key-quoting error."""
    caplog.set_level(logging.DEBUG)
    emulator.config.error_after_chunks = 1
    client = client_for(case, http, emulator)
    with pytest.raises(SpeechError) as err:
        async for _ in client.stream(
            one("Hello there."), options_for(client, case.voice)
        ):
            pass
    assert_no_key(err.value, caplog)


async def test_rest_error(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.config.rest_status_override = 500
    with pytest.raises(SpeechError) as err:
        await client_for(case, http, emulator).list_voices()
    assert_no_key(err.value, caplog)
