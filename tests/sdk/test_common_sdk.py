"""The cases every provider shares: its official SDK on errors, its emulator's faults and lifecycle.

Each case runs once per provider; what differs between providers comes from
their descriptions in tests/sdk/providers/. The SDKs run in their own
interpreter; see tests/sdk/helpers.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
import signal
import sys
import time
from typing import Any

import aiohttp
import pytest

from tests.emulators import synth
from tests.emulators.__main__ import PROVIDERS as EMULATORS
from tests.emulators.base import REDACTED, EmulatorServer
from tests.sdk.helpers import REPO_ROOT
from tests.sdk.providers import Provider, RestError, Wire
from tests.sdk.providers.lmnt import LMNT
from tests.sdk.providers.sarvam import SARVAM
from tests.sdk.providers.smallest import SMALLEST
from tests.sdk.providers.telnyx import TELNYX
from tests.sdk.wire import assert_silent, send_all

# pytest-homeassistant-custom-component blocks socket creation by default.
pytestmark = pytest.mark.usefixtures("socket_enabled")

PROVIDERS = (LMNT, SMALLEST, TELNYX, SARVAM)

# A text long enough for several audio messages.
LONG_TEXT = "Long enough text."


@pytest.fixture(params=PROVIDERS, ids=str)
def provider(request: pytest.FixtureRequest) -> Provider:
    """Each provider in turn."""
    return request.param


@pytest.fixture
async def emulator(provider: Provider) -> AsyncIterator[EmulatorServer[Any, Any]]:
    """A running emulator of the provider that accepts API_KEY."""
    async with provider.serve() as server:
        yield server


def assert_error(
    reported: Mapping[str, Any], expected: Mapping[str, Any], fields: frozenset[str]
) -> None:
    """describe_error() reported `fields`, with the `expected` values among them."""
    assert set(reported) == fields
    assert {name: reported[name] for name in expected} == expected


def assert_fields(record: Any, expected: Mapping[str, Any]) -> None:
    """The session record has the `expected` field values."""
    assert {name: getattr(record, name) for name in expected} == expected


async def ended_session(emulator: EmulatorServer[Any, Any]) -> Any:
    """Wait until no connection is open and the session has ended; return its record."""
    async with asyncio.timeout(2):
        await emulator.wait_closed()
        await emulator.sessions[0].ended.wait()
    return emulator.sessions[0]


async def receive_kinds(
    wire: Wire, ws: aiohttp.ClientWebSocketResponse, kinds: tuple[str, ...]
) -> None:
    """The next frames are of `kinds`, in order."""
    for kind in kinds:
        assert wire.kind(await wire.receive(ws)) == kind


def test_every_emulator_is_described() -> None:
    """The shared cases run for every emulator the command line offers."""
    assert [p.name for p in PROVIDERS] == list(EMULATORS)


# The official SDK


async def test_sdk_bad_key(
    provider: Provider, emulator: EmulatorServer[Any, Any]
) -> None:
    """A refused key: each SDK call reports the 401 its own way; the key is never logged."""
    bad_key = provider.bad_key
    result = await provider.run_sdk(emulator, bad_key.scenario, api_key="wrong-key")
    for name, expected in bad_key.errors.items():
        assert_error(result[name], expected, provider.error_fields)
    assert {name: result[name] for name in bad_key.summary} == bad_key.summary
    assert len(emulator.sessions) == bad_key.sessions
    assert len([r for r in emulator.requests if r.websocket]) == bad_key.upgrades
    for request in emulator.requests:
        if provider.upgrade_carries_key or not request.websocket:
            assert request.headers[provider.key_header] == REDACTED
    for name, value in bad_key.state.items():
        assert getattr(emulator, name) == value


@pytest.mark.parametrize(
    ("provider", "case"),
    [(provider, case) for provider in PROVIDERS for case in provider.rest_errors],
    ids=lambda value: str(value.status) if isinstance(value, RestError) else str(value),
)
async def test_sdk_rest_errors(
    provider: Provider, emulator: EmulatorServer[Any, Any], case: RestError
) -> None:
    """The SDK maps the emulator's REST error statuses and parses their bodies."""
    settings = {"rest_status_override": case.status, **case.settings}
    for name, value in settings.items():
        setattr(emulator.config, name, value)
    result = await provider.run_sdk(emulator, provider.rest_error_scenario)
    for call, exception in case.exceptions.items():
        expected = {
            "exception": exception,
            "status_code": case.status,
            "body": case.body,
        }
        assert_error(result[call], expected, provider.error_fields)
    assert len(emulator.requests) == len(case.exceptions)  # no retries


# Fault switches on the raw wire


async def test_error_after_chunks(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """error_after_chunks: N audio messages, the provider's internal error, a close."""
    wire = provider.wire
    emulator.config.error_after_chunks = 2
    for name, value in provider.error_settings.items():
        setattr(emulator.config, name, value)
    ws = await wire.open(http, emulator)
    await send_all(ws, *wire.speak(LONG_TEXT, end=True))
    frames = await wire.receive_all(ws)
    record = emulator.sessions[0]
    assert [wire.kind(f) for f in frames] == [
        *wire.preamble, "audio", "audio", "error",
    ]  # fmt: skip
    assert frames[-1] == wire.internal_error(record)
    assert ws.close_code == wire.error_close_code
    assert record.chunks_sent == 2
    assert record.audio_bytes_sent == len(wire.audio_of(frames))
    assert not record.client_closed
    assert_fields(record, provider.after_error)


async def test_stall_after_chunks(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """stall_after_chunks: audio stops but the socket stays open until the client goes."""
    wire = provider.stall_wire or provider.wire
    emulator.config.stall_after_chunks = 1
    # With a heartbeat the client pings every 0.1 s and gives up on the
    # connection when a pong is late, so staying open proves pongs arrive.
    ws = await wire.open(http, emulator, heartbeat=0.1)
    await send_all(ws, *wire.speak(LONG_TEXT, end=False))
    await receive_kinds(wire, ws, (*wire.preamble, *provider.stall_frames))
    await assert_silent(ws, 0.3)
    assert emulator.open_connections == 1
    await ws.close()
    record = await ended_session(emulator)
    assert record.client_closed
    assert record.chunks_sent == 1
    assert record.error is None
    assert_fields(record, provider.after_stall)


async def test_drop_after_chunks(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """drop_after_chunks: the TCP connection ends without a close frame."""
    wire = provider.wire
    emulator.config.drop_after_chunks = 1
    ws = await wire.open(http, emulator)
    await send_all(ws, *wire.speak(LONG_TEXT, end=True))
    data = (aiohttp.WSMsgType.TEXT, wire.audio_message)
    seen: list[aiohttp.WSMsgType] = []
    async with asyncio.timeout(5):
        while True:
            message = await ws.receive()
            seen.append(message.type)
            if message.type not in data:
                break
    # The preamble, then the one audio message before the drop.
    arrived = [aiohttp.WSMsgType.TEXT] * len(wire.preamble) + [wire.audio_message]
    assert seen[: len(arrived)] == arrived
    assert aiohttp.WSMsgType.CLOSE not in seen
    assert ws.close_code != 1000
    record = await ended_session(emulator)
    assert record.chunks_sent == 1
    assert not record.client_closed
    assert_fields(record, provider.after_drop)


async def test_client_disconnect_mid_synthesis(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """The session ends and nothing keeps running when a client leaves during paced audio."""
    wire = provider.wire
    emulator.config.speed = 1.0
    text = "A sentence that takes seconds to play out."
    ws = await wire.open(http, emulator)
    await send_all(ws, *wire.speak(text, end=False))
    async with asyncio.timeout(2):
        record = await emulator.wait_for_session(0)
    await receive_kinds(wire, ws, (*wire.preamble, "audio"))
    assert emulator.open_connections == 1
    assert not record.ended.is_set()
    await ws.close()
    assert await ended_session(emulator) is record
    assert emulator.open_connections == 0
    assert record.chunks_sent < 5  # far from the 26 the whole text needs
    assert record.client_closed
    assert_fields(record, provider.after_disconnect)


async def test_first_audio_latency_and_speed(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """first_audio_latency delays each synthesis; speed paces its delivery."""
    wire = provider.wire
    emulator.config.first_audio_latency = 0.15
    emulator.config.speed = 10.0
    text = "Twenty characters!!!"  # 1.2 s of audio: 0.12 s at ten times real time
    ws = await wire.open(http, emulator)
    await receive_kinds(wire, ws, wire.preamble)
    started = time.monotonic()
    await send_all(ws, *wire.speak(text, end=True))
    await receive_kinds(wire, ws, ("audio",))
    first_audio = time.monotonic() - started
    frames = await wire.receive_answer(ws)
    total = time.monotonic() - started
    await ws.close()
    assert 0.15 <= first_audio < 0.5
    # The first 0.1 s chunk leaves at once; the other 1.1 s take 0.11 s.
    assert 0.15 + 0.11 <= total < 1.0
    rest = synth.sample_count(text, wire.rate) - round(0.1 * wire.rate)
    assert len(wire.audio_of(frames)) == 2 * rest


# Lifecycle


async def test_handshake_delay(
    provider: Provider, emulator: EmulatorServer[Any, Any], http: aiohttp.ClientSession
) -> None:
    """handshake_delay holds back WebSocket upgrades and HTTP responses."""
    emulator.handshake_delay = 0.2
    started = time.monotonic()
    ws = await provider.wire.open(http, emulator)
    assert time.monotonic() - started >= 0.2
    await ws.close()
    started = time.monotonic()
    async with http.get(
        emulator.base_url + provider.voices_path, headers=provider.auth()
    ) as response:
        assert response.status == 200
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("reading", [False, True], ids=["not_reading", "reading"])
async def test_stop_closes_open_sessions(
    provider: Provider, http: aiohttp.ClientSession, reading: bool
) -> None:
    """stop() closes connected clients (1001) and leaves nothing running.

    A client that reads its socket answers the close frame at once; one that
    does not must not hold stop() up either.
    """
    wire = provider.wire
    server = provider.emulator()
    await server.start()
    ws = await wire.open(http, server)
    await send_all(ws, *wire.idle)
    await receive_kinds(wire, ws, wire.preamble)
    async with asyncio.timeout(2):
        record = await server.wait_for_session(0)
    started = time.monotonic()
    if reading:
        stopping = asyncio.create_task(server.stop())
        async with asyncio.timeout(2):
            message = await ws.receive()
            await stopping
    else:
        await server.stop()
        async with asyncio.timeout(2):
            message = await ws.receive()
    assert time.monotonic() - started < 2
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert message.data == 1001
    assert server.open_connections == 0
    assert record.ended.is_set()
    assert_fields(record, provider.after_stop)


async def test_from_cli(provider: Provider, http: aiohttp.ClientSession) -> None:
    """from_cli builds an emulator that honours the command-line options."""
    server = provider.emulator.from_cli(
        host="127.0.0.1",
        port=0,
        api_key="demo-key",
        speed=4.0,
        first_audio_latency=0.01,
        handshake_delay=0.05,
    )
    assert isinstance(server, provider.emulator)
    assert server.config.api_keys == {"demo-key"}
    assert server.config.speed == 4.0
    assert server.config.first_audio_latency == 0.01
    assert server.handshake_delay == 0.05
    wire = provider.wire
    async with server:
        async with http.get(
            server.base_url + provider.voices_path, headers=provider.auth("demo-key")
        ) as response:
            assert response.status == 200
        ws = await wire.open(http, server, key="demo-key")
        await send_all(ws, *wire.speak("Hi.", end=True))
        frames = await wire.receive_answer(ws)
        await ws.close()
    assert len(wire.audio_of(frames)) == 2 * synth.sample_count("Hi.", wire.rate)


async def test_cli(provider: Provider, http: aiohttp.ClientSession) -> None:
    """`python -m tests.emulators <provider>` prints READY, serves, exits on SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "tests.emulators", provider.name, "--port", "0"),
        *("--api-key", "demo-key", "--speed", "4", "--handshake-delay", "0.01"),
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(10):
            line = (await process.stdout.readline()).decode().strip()
        word, base_url = line.split()
        assert word == "READY"
        assert base_url.startswith("http://127.0.0.1:")
        async with http.get(
            base_url + provider.voices_path, headers=provider.auth("demo-key")
        ) as response:
            assert response.status == 200
            assert provider.voice in provider.voice_ids(await response.json())
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(5):
            _, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        assert not stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
