"""Warm connections, for every provider: opened before the text, used by the next answer.

A connection opened ahead (connected, authenticated, set up) is taken by the
answer made for the same options, so the answer pays no handshake. One the
provider closed meanwhile, one made for other options, one that failed to open
and one left unused are closed, and the answer opens a fresh connection as it
would have without; nothing stays open.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    SpeechAuthError,
    StreamingClient,
    SynthesisOptions,
)
from tests.conftest import API_KEY, ProviderCase
from tests.emulators import EmulatorServer

from .helpers import TextFeed, decoded_seconds, make_client

pytestmark = pytest.mark.usefixtures("socket_enabled")

HANDSHAKE = 0.3
TEXT = "The kitchen lights are off. The front door is locked."


async def first_audio_after(
    client: StreamingClient, options: SynthesisOptions, **kwargs: Any
) -> tuple[float, bytes]:
    """Stream TEXT; return how long the first audio took, and all the audio."""
    started = time.monotonic()
    audio = client.stream(TextFeed(TEXT, interval=0.0)(), options, **kwargs)
    first = await anext(audio)
    took = time.monotonic() - started
    rest = b"".join([chunk async for chunk in audio])
    return took, first + rest


async def test_the_answer_takes_the_warm_connection(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    """One connection in all; the handshake was paid before the text came."""
    emulator.handshake_delay = HANDSHAKE
    cold, _ = await first_audio_after(client, options)
    await emulator.wait_closed()
    warm = client.warm(options)
    await asyncio.sleep(HANDSHAKE * 2 + 0.2)  # the satellite listens, the agent thinks
    assert emulator.open_connections == 1
    started = emulator.sessions_started
    took, audio = await first_audio_after(client, options, warm=warm)
    assert emulator.sessions_started == started  # no second upgrade
    assert decoded_seconds(audio, options.audio_format.container) > 1.0
    assert took < cold - HANDSHAKE * 0.6, (took, cold)
    await asyncio.wait_for(emulator.wait_closed(), 5)
    assert warm.done
    await warm.close()  # taken: nothing to do


async def test_an_answer_early_waits_for_the_opening_connection(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    """Text before the warm connection is open: it is waited for, not doubled."""
    emulator.handshake_delay = HANDSHAKE
    warm = client.warm(options)
    await asyncio.sleep(HANDSHAKE / 3)
    _, audio = await first_audio_after(client, options, warm=warm)
    assert audio
    assert emulator.sessions_started == 1
    await asyncio.wait_for(emulator.wait_closed(), 5)


async def test_a_connection_the_provider_closed_is_replaced(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    warm = client.warm(options)
    await asyncio.sleep(0.3)
    await emulator.close_connections()
    await asyncio.sleep(0.1)
    _, audio = await first_audio_after(client, options, warm=warm)
    assert decoded_seconds(audio, options.audio_format.container) > 1.0
    assert emulator.sessions_started == 2
    await asyncio.wait_for(emulator.wait_closed(), 5)


async def test_other_options_close_it_and_open_their_own(
    case: ProviderCase,
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
) -> None:
    warm = client.warm(options)
    await asyncio.sleep(0.3)
    other = dataclasses.replace(options, voice=case.other_voice)
    _, audio = await first_audio_after(client, other, warm=warm)
    assert audio
    assert emulator.sessions_started == 2
    assert warm.done
    await asyncio.wait_for(emulator.wait_closed(), 5)


async def test_unused_it_closes_by_itself(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    warm = client.warm(options, keep=0.5)
    await asyncio.sleep(0.3)
    assert emulator.open_connections == 1
    await asyncio.wait_for(emulator.wait_closed(), 3)
    assert warm.done
    assert await warm.take() is None


async def test_closed_while_opening_leaves_nothing_open(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    emulator.handshake_delay = HANDSHAKE
    warm = client.warm(options)
    await asyncio.sleep(HANDSHAKE / 3)
    await warm.close()
    await asyncio.sleep(HANDSHAKE)
    await asyncio.wait_for(emulator.wait_closed(), 3)
    assert emulator.open_connections == 0


async def test_a_refused_key_is_reported_by_the_answer(
    case: ProviderCase,
    http: aiohttp.ClientSession,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
) -> None:
    """The warm attempt fails quietly; the answer's own attempt says why."""
    client = make_client(case, http, emulator.base_url, api_key="wrong-key")
    warm = client.warm(options)
    await asyncio.sleep(0.3)
    with pytest.raises(SpeechAuthError):
        await first_audio_after(client, options, warm=warm)
    assert warm.done
    await asyncio.wait_for(emulator.wait_closed(), 3)


async def test_an_answer_given_up_while_it_opens_closes_it(
    client: StreamingClient, options: SynthesisOptions, emulator: EmulatorServer[Any]
) -> None:
    emulator.handshake_delay = HANDSHAKE
    warm = client.warm(options)
    answer = asyncio.create_task(first_audio_after(client, options, warm=warm))
    await asyncio.sleep(HANDSHAKE / 3)
    answer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await answer
    await asyncio.sleep(HANDSHAKE + 0.2)
    await asyncio.wait_for(emulator.wait_closed(), 3)


@pytest.mark.parametrize("case", ["smallest", "telnyx", "sarvam"], indirect=True)
async def test_a_waiting_connection_gets_the_providers_keep_alive(
    client: StreamingClient,
    options: SynthesisOptions,
    emulator: EmulatorServer[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Providers that close a quiet connection get their keep-alive while it waits."""
    monkeypatch.setattr(client.wire_protocol, "keepalive_interval", 0.2)
    warm = client.warm(options)
    await asyncio.sleep(1.1)
    _, audio = await first_audio_after(client, options, warm=warm)
    assert decoded_seconds(audio, options.audio_format.container) > 1.0
    assert emulator.sessions_started == 1
    keepalive = client.wire_protocol(client.base_url, API_KEY, options).keepalive()[0]
    assert emulator.sessions[0].messages.count(dict(keepalive)) >= 3
