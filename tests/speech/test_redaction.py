"""A provider that quotes the API key in its errors: the key reaches no exception or log.

One case per provider and path: the WebSocket, Smallest.ai's SSE fallback,
and the REST voice list; then the same paths with a provider module that
writes the key into its own error, which the engine must still remove.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
import logging
import sys
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    PROVIDERS,
    SpeechError,
    SpeechProviderError,
    StreamingClient,
)
from custom_components.streaming_tts.speech.smallest import SmallestSse
from custom_components.streaming_tts.speech.websocket_answer import WebSocketAnswer
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


async def stream_error(
    client: StreamingClient, case: ProviderCase, expected: type[SpeechError]
) -> SpeechError:
    """Speak a short text; return the error the stream ends with."""
    with pytest.raises(expected) as err:
        async for _ in client.stream(
            one("Hello there."), options_for(client, case.voice)
        ):
            pass
    return err.value


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
    error = await stream_error(client, case, SpeechError)
    assert_no_key(error, caplog)


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


# The engine's duty: a provider module that quotes the key itself, verbatim,
# in an error it raises still leaks it nowhere.


def leaky(*_: Any, **__: Any) -> Any:
    """A provider callback that puts the key into its error, unredacted."""
    raise SpeechProviderError(f"refused request for key {SECRET}", provider="P")


async def test_engine_redacts_a_message_error_the_module_wrote(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(case, http, emulator)
    monkeypatch.setattr(client.wire_protocol, "on_text", leaky)
    monkeypatch.setattr(client.wire_protocol, "on_binary", leaky)
    error = await stream_error(client, case, SpeechProviderError)
    assert_no_key(error, caplog)


async def test_engine_redacts_a_handshake_error_the_module_wrote(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.config.refuse_upgrades_with = 429
    client = client_for(case, http, emulator)
    monkeypatch.setattr(
        client.wire_protocol,
        "handshake_error",
        lambda self, status: SpeechProviderError(f"{status} for {SECRET}"),
    )
    error = await stream_error(client, case, SpeechProviderError)
    assert_no_key(error, caplog)


async def test_engine_redacts_a_voice_list_error_the_module_wrote(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(case, http, emulator)

    async def leaky_voices(self: StreamingClient) -> list[Any]:
        leaky()

    monkeypatch.setattr(type(client), "_fetch_voices", leaky_voices)
    with pytest.raises(SpeechProviderError) as err:
        await client.list_voices()
    assert_no_key(err.value, caplog)


@pytest.mark.parametrize("case", ["smallest"], indirect=True)
async def test_engine_redacts_an_sse_error_the_module_wrote(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert isinstance(emulator, SmallestEmulator)
    emulator.config.websocket_enabled = False
    monkeypatch.setattr(SmallestSse, "on_event", leaky)
    client = client_for(case, http, emulator)
    error = await stream_error(client, case, SpeechProviderError)
    assert_no_key(error, caplog)


async def test_error_is_redacted_before_the_socket_closes(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    emulator: EmulatorServer[Any],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever logs while the answer closes (asyncio does, on a broken pipe)
    may quote the error in flight: by then the key is already gone from it.
    """
    caplog.set_level(logging.DEBUG)
    emulator.config.error_after_chunks = 1
    close = WebSocketAnswer.close

    async def close_logging_the_error(self: WebSocketAnswer) -> None:
        logging.getLogger(__name__).debug("closing after %r", sys.exc_info()[1])
        await close(self)

    monkeypatch.setattr(WebSocketAnswer, "close", close_logging_the_error)
    client = client_for(case, http, emulator)
    error = await stream_error(client, case, SpeechError)
    assert "REDACTED" in caplog.text  # the error in flight was logged
    assert_no_key(error, caplog)
