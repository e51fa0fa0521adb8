"""The fault and load suite: every fault, bad input, end variant and a load, for every provider.

Everything goes through Home Assistant's real TTS machinery (streams, the
``/api/tts_get_url`` view, an Assist pipeline) against emulators that quote
the API key in every error they send. Each check is counted on the
scoreboard, whose line ends the test run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from http import HTTPStatus
import logging
import time
from typing import Any

from homeassistant.components import tts
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.streaming_tts.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.streaming_tts.speech import Deadlines
from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.synth import audio_seconds
from tests.emulators.variants import END_VARIANTS
from tests.scoreboard import SCOREBOARD
from tests.speech.helpers import collect, decoded_seconds
from tests.test_assist import StreamingAgent, start_pipeline_run

# A key no test text contains, so any trace of it is a leak.
SECRET = "sk-live-7f3a9c2e41d84b6b"
DEADLINES = Deadlines(connect=2.0, first_audio=1.5, chunk_gap=1.5, close=1.0)
# A fault must end within its deadline, plus room for the emulator and HA.
FAULT_BOUND = 6.0
CONCURRENT = 50


@pytest.fixture
def api_key() -> str:
    """SECRET instead of the suite's usual key."""
    return SECRET


@pytest.fixture(autouse=True)
def echo_key(emulator: EmulatorServer[Any]) -> None:
    """Have the emulator quote the key it received in every error."""
    emulator.config.echo_key = True


@pytest.fixture
async def fast_entry(loaded_entry: MockConfigEntry) -> MockConfigEntry:
    """The loaded entry with the suite's deadlines."""
    loaded_entry.runtime_data.client.deadlines = DEADLINES
    return loaded_entry


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    """Fail a test whose log lines (at every level) contain the key."""
    caplog.set_level(logging.DEBUG)
    yield
    leaks = sum(SECRET in record.getMessage() for record in caplog.records)
    leaks += SECRET in caplog.text
    SCOREBOARD.leaks(leaks)
    assert not leaks, "the API key reached the log"


async def one(text: str) -> AsyncGenerator[str]:
    """A text stream of one chunk."""
    yield text


def words(text: str) -> str:
    """Return the words of a text, whitespace normalised."""
    return " ".join(text.split())


async def speak(
    hass: HomeAssistant,
    engine: str,
    text: str,
    options: dict[str, Any] | None = None,
) -> tuple[bytes | None, HomeAssistantError | None, float]:
    """Speak a whole text through a TTS stream; return audio or error, and seconds."""
    started = time.monotonic()
    try:
        stream = tts.async_create_stream(hass, engine, None, options)
        stream.async_set_message_stream(one(text))
        audio = (await collect(stream.async_stream_result())).audio
    except HomeAssistantError as err:
        return None, err, time.monotonic() - started
    return audio, None, time.monotonic() - started


def leaks_in_error(err: BaseException | None) -> int:
    """Count the key in an error's text and its translation placeholders."""
    if err is None:
        return 0
    placeholders = getattr(err, "translation_placeholders", None) or {}
    texts = [str(err), repr(err.args), *map(str, placeholders.values())]
    return sum(SECRET in text for text in texts)


def leaks_in_issues(hass: HomeAssistant) -> int:
    """Count the key in the repair issues raised so far."""
    issues = ir.async_get(hass).issues.values()
    return sum(SECRET in repr(issue.translation_placeholders) for issue in issues)


# Faults: (name, emulator settings, options, expected translation key)
FAULTS: list[tuple[str, dict[str, Any], dict[str, Any], set[str]]] = [
    ("error_at_once", {"error_after_chunks": 0}, {}, {"provider_error"}),
    ("error_mid_stream", {"error_after_chunks": 2}, {}, {"provider_error"}),
    ("stall", {"stall_after_chunks": 1}, {}, {"timeout"}),
    ("drop", {"drop_after_chunks": 1}, {}, {"cannot_connect"}),
    ("slow_first_chunk", {"first_audio_latency": 30.0}, {}, {"timeout"}),
    ("wrong_key", {"api_keys": {"another-key"}}, {}, {"invalid_auth"}),
    ("rate_limit", {"refuse_upgrades_with": 429}, {}, {"rate_limited"}),
    ("invalid_voice", {}, {"voice": "no-such-voice"}, {"voice_not_found"}),
]
FAULT_IDS = [name for name, *_ in FAULTS]


def apply(emulator: EmulatorServer[Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Change the emulator's settings; return the old values."""
    old = {key: getattr(emulator.config, key) for key in settings}
    for key, value in settings.items():
        setattr(emulator.config, key, value)
    return old


@pytest.mark.parametrize(
    ("name", "settings", "options", "expected"), FAULTS, ids=FAULT_IDS
)
async def test_fault_through_a_stream(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    name: str,
    settings: dict[str, Any],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """A fault ends in time with a translated error, closed, and the entry recovers."""
    old = apply(emulator, settings)
    audio, err, seconds = await speak(
        hass, case.engine, "The lights are on. The door is locked.", options
    )
    async with asyncio.timeout(3):
        await emulator.wait_closed()
    key = getattr(err, "translation_key", None)
    leaks = leaks_in_error(err) + leaks_in_issues(hass)
    apply(emulator, old)
    recovered, again, _ = await speak(hass, case.engine, "Back to normal.")
    clean = (
        err is not None
        and key in expected
        and seconds < FAULT_BOUND
        and not leaks
        and recovered is not None
    )
    SCOREBOARD.fault(clean=clean)
    SCOREBOARD.leaks(leaks)
    assert err is not None, f"{name} gave {len(audio or b'')} bytes and no error"
    assert key in expected, (name, key, str(err))
    assert seconds < FAULT_BOUND
    assert not leaks
    assert again is None
    assert recovered


@pytest.mark.parametrize(
    ("name", "settings", "options", "expected"), FAULTS, ids=FAULT_IDS
)
async def test_fault_through_the_http_view(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
    name: str,
    settings: dict[str, Any],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """A player's GET fails cleanly: a 500 before audio, or a stream that ends."""
    apply(emulator, settings)
    client = await hass_client()
    started = time.monotonic()
    response = await client.post(
        "/api/tts_get_url",
        json={
            "engine_id": case.engine,
            "message": f"Fault {name}.",
            "options": options,
        },
    )
    if response.status == HTTPStatus.OK:
        audio = await client.get((await response.json())["path"])
        await audio.read()
        status = audio.status
    else:
        status = response.status
    seconds = time.monotonic() - started
    async with asyncio.timeout(3):
        await emulator.wait_closed()
    leaks = leaks_in_issues(hass)
    # Refused before the first byte: an error status. A fault after audio
    # has begun can only end the stream early.
    clean = (
        seconds < FAULT_BOUND
        and not leaks
        and (status >= 400 or name in ("error_mid_stream", "stall", "drop"))
    )
    SCOREBOARD.fault(clean=clean)
    SCOREBOARD.leaks(leaks)
    assert clean, (name, status, seconds)


@pytest.mark.parametrize(
    ("name", "settings", "options", "expected"), FAULTS[:6], ids=FAULT_IDS[:6]
)
async def test_fault_in_an_assist_pipeline(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    name: str,
    settings: dict[str, Any],
    options: dict[str, Any],
    expected: set[str],
) -> None:
    """The satellite's stream ends in time and the pipeline run ends."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    agent = StreamingAgent("Sure. The kitchen lights are on now.", interval=0.01)
    await hass.data[DATA_COMPONENT].async_add_entities([agent])
    apply(emulator, settings)
    ws = await hass_ws_client(hass)
    started = time.monotonic()
    voice = options.get("voice", case.voice)
    run_start = (await start_pipeline_run(ws, agent, case, voice))["event"]
    client = await hass_client()
    response = await client.get(run_start["data"]["tts_output"]["url"])
    body = await response.read()
    async with asyncio.timeout(FAULT_BOUND):
        while (await ws.receive_json())["event"]["type"] != "run-end":
            pass
    seconds = time.monotonic() - started
    async with asyncio.timeout(3):
        await emulator.wait_closed()
    leaks = leaks_in_issues(hass)
    clean = (
        seconds < FAULT_BOUND
        and not leaks
        and (response.status >= 400 or len(body) < 100_000)
    )
    SCOREBOARD.fault(clean=clean)
    SCOREBOARD.leaks(leaks)
    assert clean, (name, response.status, seconds)


BAD_TEXTS = [
    "", " ", "\n\n\t", "🙂🎉👍", "**", "__init__", "```\ncode only\n```",
    "```python\nprint('hi')\n```\nDone.", "# Heading", "- item one\n- item two",
    "| a | b |\n|---|---|\n| 1 | 2 |", "[a link](http://example.com/path?q=1)",
    "Visit https://www.home-assistant.io/integrations/tts today.",
    "<speak>Hello <break time='1s'/> there</speak>", "<b>bold</b> and <i>italic</i>",
    "<script>alert(1)</script>", "Tom &amp; Jerry &lt;3", "a" * 5000,
    "word " * 4000, "Line one\r\nLine two\rLine three.", "\x00\x01\x02\x7f",
    "Hello\x00World", "\u200b\u200c\u200d\ufeff", "...", "." * 1000, "?!?!",
    "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "你好\uff0c世界。今天天气很好。",
    "こんにちは世界", "안녕하세요 세계", "नमस्ते दुनिया, आप कैसे हैं?",
    "வணக்கம் உலகம்", "Привет, мир!", "Καλημέρα κόσμε", "Äpfel, Öl und Übermaß.",
    "An emoji 🙂 in the middle.", "1,234.56 and 3.14 and -7", "$100 & 50% off!",
    "C:\\path\\to\\file.txt", '{"json": true, "n": 1}', "SELECT * FROM users;",
    "\t\ttabs\tbetween\t", "   padded   ", "a", "A. B. C.",
    "Mr. Smith went to Washington.", "Wait... what?", "e.g. this, i.e. that",
    "🇩🇪 flag and 👨‍👩‍👧 family", "\u2028\u2029", "text\u2028more\u2029end",
    "\x0b\x0c\x85", "<<<>>>", "%s %d {0} {{x}}", "null", "\\n literal backslash",
    "*" * 300, "Ünïcödé ñ ç ø å", "Line\n\n\n\nbreaks\n\n\n",
]  # fmt: skip
HOSTILE_OPTIONS: list[dict[str, Any]] = [
    {"voice": "../../etc/passwd"}, {"voice": "voice\x00id"}, {"voice": "a" * 500},
    {"voice": "<script>"}, {"voice": "' OR 1=1 --"}, {"voice": "🙂"},
    {"voice": " "}, {"speed": "fast"}, {"speed": "1e309"}, {"speed": -1},
    {"speed": None}, {"nonexistent": 1}, {"voice": ["list"]},
]  # fmt: skip


async def test_bad_inputs(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """Clean speech of exactly the cleaned text, or the translated "nothing to speak"."""
    # The emulator synthesises a 20,000-character text slower than the
    # suite's short deadlines allow; these are the product's own.
    fast_entry.runtime_data.client.deadlines = Deadlines()
    failures = []
    for text in BAD_TEXTS:
        sessions = len(emulator.sessions)
        audio, err, seconds = await speak(hass, case.engine, text)
        expected = clean_text(text)
        if not expected.strip():
            clean = err is not None and err.translation_key == "no_text"
        else:
            received = [words(s.text) for s in emulator.sessions[sessions:]]
            clean = (
                err is None
                and audio is not None
                and received == [words(expected)]
                # Home Assistant hands a stream's result over as MP3.
                and decoded_seconds(audio)
                == pytest.approx(audio_seconds(words(expected)), abs=0.5)
            )
        clean = clean and seconds < 60 and not leaks_in_error(err)
        SCOREBOARD.input(clean=clean)
        if not clean:
            failures.append((text[:40], err and err.translation_key))
    assert not failures


async def test_hostile_options(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """A hostile voice id or option value is a translated error, never a traceback."""
    failures = []
    for options in HOSTILE_OPTIONS:
        _, err, seconds = await speak(hass, case.engine, "Hello there.", options)
        # Ours are translated; an option no provider has is refused by Home
        # Assistant itself ("Invalid options found"), before us.
        clean = seconds < FAULT_BOUND and err is not None and not leaks_in_error(err)
        SCOREBOARD.input(clean=clean)
        if not clean:
            failures.append((options, err))
    assert not failures


SENTENCE = "This is sentence number {n} of the answer."


@pytest.mark.parametrize("count", [1, 2, 5, 30])
@pytest.mark.parametrize(
    ("case", "variant"),
    [
        pytest.param(provider, variant, id=f"{provider}-{variant}")
        for provider, variants in END_VARIANTS.items()
        for variant in variants
    ],
    indirect=["case"],
)
async def test_full_text_under_every_end_variant(
    hass: HomeAssistant,
    case: ProviderCase,
    variant: str,
    count: int,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """A full text over the player's HTTP path: all of its audio, however the server ends."""
    apply(emulator, END_VARIANTS[case.provider][variant])
    text = " ".join(SENTENCE.format(n=n) for n in range(count))
    client = await hass_client()
    response = await client.post(
        "/api/tts_get_url", json={"engine_id": case.engine, "message": text}
    )
    audio = await (await client.get((await response.json())["path"])).read()
    seconds = decoded_seconds(audio, "mp3", 24000)
    complete = seconds == pytest.approx(audio_seconds(text), abs=0.3) and words(
        emulator.sessions[-1].text
    ) == words(text)
    SCOREBOARD.full_text(complete=complete)
    assert complete, (seconds, audio_seconds(text))


# Each provider's default, and the variant that answers the most often.
LOAD_VARIANTS = [
    pytest.param(provider, variant, id=f"{provider}-{variant or 'default'}")
    for provider, variant in (
        ("lmnt", None), ("smallest", None), ("telnyx", None), ("sarvam", None),
        ("smallest", "text_flush"), ("sarvam", "per_chunk"),
    )
]  # fmt: skip


@pytest.mark.parametrize(("case", "variant"), LOAD_VARIANTS, indirect=["case"])
async def test_concurrent_requests(
    hass: HomeAssistant,
    case: ProviderCase,
    variant: str | None,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """50 requests at once: all complete with exactly their own text."""
    if variant is not None:
        apply(emulator, END_VARIANTS[case.provider][variant])
    texts = [
        f"Request number {n} is being spoken now. It has two sentences."
        for n in range(CONCURRENT)
    ]
    results = await asyncio.gather(*(speak(hass, case.engine, t) for t in texts))
    received = sorted(words(session.text) for session in emulator.sessions)
    complete = sum(
        audio is not None
        and err is None
        and decoded_seconds(audio) == pytest.approx(audio_seconds(text), abs=0.3)
        for (audio, err, _), text in zip(results, texts, strict=True)
    )
    slowest = max(seconds for _, _, seconds in results)
    SCOREBOARD.loaded(CONCURRENT, complete, slowest)
    assert complete == CONCURRENT
    assert received == sorted(texts)


async def test_diagnostics_after_faults(
    hass: HomeAssistant,
    case: ProviderCase,
    fast_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
) -> None:
    """After a key-echoing error, diagnostics hold no key."""
    emulator.config.error_after_chunks = 0
    _, err, _ = await speak(hass, case.engine, "Hello there.")
    assert err is not None
    diagnostics = await async_get_config_entry_diagnostics(hass, fast_entry)
    leaks = (SECRET in repr(diagnostics)) + leaks_in_error(err)
    SCOREBOARD.leaks(leaks)
    assert not leaks
