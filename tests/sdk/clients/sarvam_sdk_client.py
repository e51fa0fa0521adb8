"""Drive the official Sarvam SDK against an emulator; print one JSON summary line.

Runs under the SDK interpreter (requirements_sdk.txt), not Home Assistant's:

    python sarvam_sdk_client.py BASE_URL API_KEY SCENARIO [--audio-out FILE]
        [--codec CODEC] [--sample-rate HZ]

Scenarios:
    stream      cloned voices, then a v3 session: text split mid-word, two flushes
                each answered by a completion event, a ping in between
    persona     a bulbul:v4-flash session with a persona speaker
    codec       one flush with --codec and --sample-rate
    bad_speaker a v3 session configured with the SDK's default speaker (a v2 voice)
    bad_key     the voice list and a session with a key the server refuses
    fault       a session the server breaks off with an internal error
    too_long    a text message longer than the 2500-character limit
    rest_error  the voice list while the server answers with an error
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from functools import partial
import sys
from typing import Any

import sarvamai
from sarvamai import AsyncSarvamAI, SarvamAIEnvironment
from sarvamai.core.api_error import ApiError
import sdk_script
import websockets

# Split mid-word on purpose: the server must join the pieces in order.
FIRST_PARTS = [
    "Namaste! This is a stream",
    "ing test of the Sarvam emul",
    "ator, split mid-word on pur",
    "pose. And here is the end.",
]
SECOND_PARTS = ["After the first fl", "ush, one more."]
PERSONA_TEXT = "Good evening. The garden lights are now on."
CODEC_TEXT = "Raw audio, please."
NO_RETRIES = {"max_retries": 0}

# In "json" mode the models dump dates and enums as JSON strings.
plain = partial(sdk_script.plain, mode="json")
describe_error = partial(sdk_script.describe_error, mode="json")


class Collector:
    """Everything the SDK parsed from the server, across one or more reads."""

    def __init__(self) -> None:
        """Start empty."""
        self.types: list[str] = []
        self.classes: list[str] = []
        self.content_types: list[str] = []
        self.request_ids: set[str | None] = set()
        self.events: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.audio = bytearray()
        self.chunks: list[bytes] = []
        self.closed: dict[str, Any] | None = None

    async def read(self, ws: Any, *, until_events: int | None = None) -> None:
        """Iterate the socket until `until_events` events were seen in total, or it closes."""
        try:
            async for message in ws:
                self.add(message)
                if until_events is not None and len(self.events) >= until_events:
                    return
        except websockets.ConnectionClosed as err:
            self.closed = {"exception": type(err).__name__, "code": close_code(err)}
        else:
            self.closed = {"exception": None, "code": close_code_of(ws)}

    def add(self, message: Any) -> None:
        """Record one parsed message."""
        self.types.append(message.type)
        if type(message).__name__ not in self.classes:
            self.classes.append(type(message).__name__)
        data = message.data
        if message.type == "audio":
            chunk = base64.b64decode(data.audio)
            self.chunks.append(chunk)
            self.audio += chunk
            self.content_types.append(data.content_type)
            self.request_ids.add(data.request_id)
        elif message.type == "event":
            self.events.append(
                {
                    "event_type": data.event_type,
                    "message": data.message,
                    # Parsed by the SDK into a datetime.
                    "timestamp_class": type(data.timestamp).__name__,
                    "timestamp": data.timestamp.isoformat() if data.timestamp else None,
                    "position": len(self.types) - 1,
                }
            )
        elif message.type == "error":
            self.errors.append(
                {
                    "message": data.message,
                    "code": data.code,
                    "request_id": data.request_id,
                }
            )

    async def summary(self, audio_out: str | None) -> dict[str, Any]:
        """Return the collected facts; write the audio to `audio_out`."""
        await asyncio.to_thread(sdk_script.write_audio, audio_out, bytes(self.audio))
        return {
            "types": self.types,
            "classes": self.classes,
            "content_types": sorted(set(self.content_types)),
            "request_ids": sorted(str(r) for r in self.request_ids),
            "events": self.events,
            "errors": self.errors,
            "audio_bytes": len(self.audio),
            "audio_messages": len(self.chunks),
            "first_chunk_head": base64.b64encode(self.chunks[0][:44]).decode()
            if self.chunks
            else None,
            "riff_chunks": sum(chunk.startswith(b"RIFF") for chunk in self.chunks),
            "closed": self.closed,
        }


def close_code(err: websockets.ConnectionClosed) -> int | None:
    """Return the close code the server sent, if any."""
    return err.rcvd.code if err.rcvd is not None else None


def close_code_of(ws: Any) -> int | None:
    """Return the close code of a socket the server closed cleanly."""
    return getattr(ws._websocket, "close_code", None)


async def scenario_stream(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """List cloned voices, then stream text with two flushes and a ping."""
    voices = await client.voice_cloning.list_voices(request_options=NO_RETRIES)
    female = await client.voice_cloning.list_voices(
        gender="female", limit=10, offset=0, request_options=NO_RETRIES
    )
    collector = Collector()
    async with client.text_to_speech_streaming.connect(
        model="bulbul:v3", send_completion_event="true"
    ) as ws:
        await ws.configure(target_language_code="hi-IN", speaker="shubh")
        for part in FIRST_PARTS:
            await ws.convert(part)
        await ws.flush()
        await collector.read(ws, until_events=1)
        await ws.ping()
        for part in SECOND_PARTS:
            await ws.convert(part)
        await ws.flush()
        await collector.read(ws, until_events=2)
    return {
        "voices_class": type(voices).__name__,
        "voices": plain(voices),
        "voice_classes": sorted({type(v).__name__ for v in voices.data.voices}),
        "female": [v.id for v in female.data.voices],
        "sent_first": "".join(FIRST_PARTS),
        "sent_second": "".join(SECOND_PARTS),
        **await collector.summary(args.audio_out),
    }


async def speak_once(
    client: AsyncSarvamAI,
    args: argparse.Namespace,
    text: str,
    *,
    model: str,
    speaker: str,
    until_events: int | None = 1,
    **config: Any,
) -> dict[str, Any]:
    """Speak English `text` in one flush on a `model` session with completion events.

    `config` is what configure() gets besides the language and speaker;
    reading stops after `until_events` events, or when the server closes.
    """
    collector = Collector()
    async with client.text_to_speech_streaming.connect(
        model=model, send_completion_event="true"
    ) as ws:
        await ws.configure(target_language_code="en-IN", speaker=speaker, **config)
        await ws.convert(text)
        await ws.flush()
        await collector.read(ws, until_events=until_events)
    return await collector.summary(args.audio_out)


async def scenario_persona(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """Speak with a bulbul:v4-flash persona at 24 kHz."""
    return await speak_once(
        client,
        args,
        PERSONA_TEXT,
        model="bulbul:v4-flash",
        speaker="shubh_en_narration_gentle",
        speech_sample_rate=24000,
    )


async def scenario_codec(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """Speak one flush in the codec and at the rate given on the command line."""
    return await speak_once(
        client,
        args,
        CODEC_TEXT,
        model="bulbul:v3",
        speaker="priya",
        output_audio_codec=args.codec,
        speech_sample_rate=args.sample_rate,
    )


async def scenario_bad_speaker(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """Configure a v3 session with the SDK's default speaker, anushka (v2 only)."""
    collector = Collector()
    async with client.text_to_speech_streaming.connect(model="bulbul:v3") as ws:
        await ws.configure(target_language_code="en-IN")
        await collector.read(ws)
    return await collector.summary(args.audio_out)


async def scenario_bad_key(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """List voices and open a session with a refused key."""
    summary: dict[str, Any] = {"rest_error": None, "connect_error": None}
    try:
        await client.voice_cloning.list_voices(request_options=NO_RETRIES)
    except ApiError as err:
        summary["rest_error"] = describe_error(err)
    collector = Collector()
    try:
        async with client.text_to_speech_streaming.connect(model="bulbul:v3") as ws:
            try:
                await ws.configure(target_language_code="en-IN", speaker="shubh")
            except websockets.ConnectionClosed:
                # The server may close before the config is written.
                summary["configure_failed"] = True
            await collector.read(ws)
    except ApiError as err:
        summary["connect_error"] = describe_error(err)
    summary.update(await collector.summary(args.audio_out))
    return summary


async def scenario_fault(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """Read until the server breaks the session off."""
    text = "This sentence is long enough for several audio messages."
    return await speak_once(
        client, args, text, model="bulbul:v3", speaker="rahul", until_events=None
    )


async def scenario_too_long(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """Send one text message over the limit."""
    collector = Collector()
    async with client.text_to_speech_streaming.connect(model="bulbul:v3") as ws:
        await ws.configure(target_language_code="en-IN", speaker="shubh")
        await ws.convert("a" * 2501)
        await collector.read(ws)
    return await collector.summary(args.audio_out)


async def scenario_rest_error(
    client: AsyncSarvamAI, args: argparse.Namespace
) -> dict[str, Any]:
    """List voices while the server answers with an error status."""
    try:
        await client.voice_cloning.list_voices(request_options=NO_RETRIES)
    except ApiError as err:
        return {"voices": describe_error(err)}
    return {"voices": None}


SCENARIOS = sdk_script.scenarios(globals())


async def main() -> int:
    """Run one scenario and print its summary as one JSON line."""
    parser = sdk_script.parser(SCENARIOS)
    parser.add_argument("--codec", default="mp3")
    parser.add_argument("--sample-rate", type=int, default=22050)
    args = parser.parse_args()
    base = args.base_url.rstrip("/")
    # The only change to the SDK: its three base URLs point at the emulator.
    environment = SarvamAIEnvironment(
        base=base,
        creative=base + "/dubbing",
        production="ws" + base.removeprefix("http"),
    )
    client = AsyncSarvamAI(api_subscription_key=args.api_key, environment=environment)
    async with asyncio.timeout(20):
        summary = await SCENARIOS[args.scenario](client, args)
    return sdk_script.emit(summary, sarvamai.__version__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
