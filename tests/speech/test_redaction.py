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

from custom_components.streaming_tts.speech import PROVIDERS, SpeechError
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


async def test_websocket_error(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.config.error_after_chunks = 1
    client = PROVIDERS[case.provider](
        http, SECRET, base_url=emulator.base_url, deadlines=FAST
    )
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
    # Every emulator has this switch; the shared config type does not.
    setattr(emulator.config, "rest_status_override", 500)  # noqa: B010
    client = PROVIDERS[case.provider](
        http, SECRET, base_url=emulator.base_url, deadlines=FAST
    )
    with pytest.raises(SpeechError) as err:
        await client.list_voices()
    assert_no_key(err.value, caplog)


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_sse_error(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert isinstance(emulator, SmallestEmulator)
    emulator.config.websocket_enabled = False
    emulator.config.error_after_chunks = 1
    client = PROVIDERS[case.provider](
        http, SECRET, base_url=emulator.base_url, deadlines=FAST
    )
    with pytest.raises(SpeechError) as err:
        async for _ in client.stream(
            one("Hello there."), options_for(client, case.voice)
        ):
            pass
    assert_no_key(err.value, caplog)
