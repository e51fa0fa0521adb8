"""Drive the official Smallest.ai SDK against an emulator; print one JSON summary line.

Runs under the SDK interpreter (requirements_sdk.txt), not Home Assistant's:

    python smallest_sdk_client.py BASE_URL API_KEY SCENARIO [--audio-out FILE]
        [--voice VOICE] [--path PATH]

Scenarios:
    shim            WavesStreamingTTS: a streamed text generator, then synthesize()
    shim_error      WavesStreamingTTS: a streamed request the server refuses or breaks
    shim_bad_key    WavesStreamingTTS with a key the server refuses at the upgrade
    fern_voices     SmallestAI: get_voices and the voice catalogue
    fern_socket     SmallestAI: two requests over one waves.tts.connect() socket
    fern_bad_key    SmallestAI: REST and both socket clients with a refused key
    fern_rest_error SmallestAI: REST calls while the server answers with an error
    fern_sse        SmallestAI: synthesize_sse_tts, and its raw SSE events
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import Callable, Iterator
from functools import partial
import json
import logging
import sys
from typing import Any

import sdk_script
from sdk_script import write_audio
from smallestai import AsyncSmallestAI, SmallestAI
from smallestai.core.http_sse._api import EventSource
from smallestai.environment import SmallestAIEnvironment
from smallestai.version import __version__
from smallestai.waves import TTSConfig, WavesStreamingTTS
from smallestai.waves.tts import TtsRequestMessage

# Split mid-word on purpose, with a blank fragment the shim must skip.
SHIM_PARTS = ["Hello the", "re, this is a te", "   ", "st of the emer", "gency."]
SHIM_SINGLE = "One more sentence."
SOCKET_FIRST = ["Stream", "ing over the Fern so", "cket."]
SOCKET_SECOND = " And after the flush."
SOCKET_REUSED = "A second request on the same socket."
SSE_TEXT = "Server sent events work too."

# Models keyed by their wire names, without the fields the server left out.
DUMP = {"by_alias": True, "exclude_none": True}
plain = partial(sdk_script.plain, **DUMP)


def describe_error(err: BaseException) -> dict[str, Any]:
    """Summarise an SDK exception, whatever its family."""
    summary = sdk_script.describe_error(err, **DUMP)
    if summary["status_code"] is None:
        # websockets' InvalidStatus keeps the status on its response.
        response = getattr(err, "response", None)
        summary["status_code"] = getattr(response, "status_code", None)
    return {**summary, "module": type(err).__module__, "message": str(err)}


def environment(base_url: str) -> SmallestAIEnvironment:
    """Point every Smallest.ai base URL at the emulator."""
    ws_base = "ws" + base_url.removeprefix("http")
    return SmallestAIEnvironment(
        atoms=f"{base_url}/atoms/v1", waves=base_url, waves_ws=ws_base, payment=base_url
    )


def shim_for(args: argparse.Namespace) -> WavesStreamingTTS:
    """Build the shim as its docs show, then point it at the emulator."""
    tts = WavesStreamingTTS(
        TTSConfig(voice_id=args.voice, api_key=args.api_key, sample_rate=24000)
    )
    tts.ws_url = "ws" + args.base_url.removeprefix("http") + args.path
    return tts


def fragments() -> Iterator[str]:
    """Yield text as an LLM would: in pieces that split words."""
    yield from SHIM_PARTS


def consume(chunks: Iterator[bytes], tts: WavesStreamingTTS) -> dict[str, Any]:
    """Drain one shim generator, keeping what arrived before any exception."""
    audio = bytearray()
    count = 0
    raised = None
    try:
        for chunk in chunks:
            audio += chunk
            count += 1
    except Exception as err:  # noqa: BLE001 - the shim re-raises whatever it queued
        raised = describe_error(err)
    return {
        "chunks": count,
        "audio": bytes(audio),
        "request_id": tts.request_id,
        "complete": tts.is_complete,
        "raised": raised,
        "errors_left": tts.error_queue.qsize(),
    }


def scenario_shim(args: argparse.Namespace) -> dict[str, Any]:
    """Stream a generator, then speak one string, each over its own socket.

    Each call gets its own shim: a shim reused right after a server-side
    close can receive the old socket's late on_close and fail the new call.
    """
    tts = shim_for(args)
    streamed = consume(tts.synthesize_streaming(fragments()), tts)
    tts = shim_for(args)
    single = consume(tts.synthesize(SHIM_SINGLE), tts)
    write_audio(args.audio_out, streamed["audio"])
    for part in (streamed, single):
        part["audio_bytes"] = len(part.pop("audio"))
    return {"streamed": streamed, "single": single}


def scenario_shim_error(args: argparse.Namespace) -> dict[str, Any]:
    """Stream until the server sends an error frame; report what the shim raised."""
    tts = shim_for(args)
    chunks: list[bytes] = []
    summary: dict[str, Any] = {"raised": None}
    try:
        chunks.extend(tts.synthesize_streaming(fragments()))
    except Exception as err:  # noqa: BLE001 - the shim raises bare Exception
        summary["raised"] = describe_error(err)
    summary["chunks"] = len(chunks)
    summary["audio_bytes"] = sum(map(len, chunks))
    summary["complete"] = tts.is_complete
    return summary


def scenario_shim_bad_key(args: argparse.Namespace) -> dict[str, Any]:
    """The shim waits for a connection that the server refused (10 s), then raises."""
    tts = shim_for(args)
    summary: dict[str, Any] = {"raised": None}
    try:
        list(tts.synthesize("Never spoken."))
    except Exception as err:  # noqa: BLE001 - the shim raises bare Exception
        summary["raised"] = describe_error(err)
    # What websocket-client reported while the shim was waiting.
    queued = []
    while not tts.error_queue.empty():
        queued.append(describe_error(tts.error_queue.get()))
    summary["queued_errors"] = queued
    return summary


def fern_client(args: argparse.Namespace) -> SmallestAI:
    """The Fern client, without retries so every error reaches the summary once."""
    return SmallestAI(
        api_key=args.api_key, environment=environment(args.base_url), max_retries=0
    )


def scenario_fern_voices(args: argparse.Namespace) -> dict[str, Any]:
    """List voices both ways and report the parsed models."""
    client = fern_client(args)
    voices = client.waves.get_voices(model="lightning-v3.1")
    catalog = client.waves.voices.get_all_voice_models()
    return {
        "voices_class": type(voices).__name__,
        "voice_classes": sorted({type(v).__name__ for v in voices.voices or []}),
        "voices": [
            {
                "voice_id": v.voice_id,
                "display_name": v.display_name,
                "tags": plain(v.tags),
            }
            for v in voices.voices or []
        ],
        "catalog_class": type(catalog).__name__,
        "catalog": [
            {
                "id": v.id,
                "voice_id": v.voice_id,
                "display_name": v.display_name,
                "description": v.description,
                "audio_preview": v.audio_preview,
                "tags": plain(v.tags),
            }
            for v in catalog.voices or []
        ],
    }


def receive_request(socket: Any) -> dict[str, Any]:
    """Receive frames until `complete`; summarise them."""
    summary: dict[str, Any] = {
        "statuses": [],
        "classes": [],
        "audio": b"",
        "words": [],
        "request_ids": [],
        "session_ids": [],
        "external": [],
    }
    while True:
        message = socket.recv()
        name = type(message).__name__
        if name not in summary["classes"]:
            summary["classes"].append(name)
        status = message.status
        summary["statuses"].append(status)
        for key, seen in (
            ("request_ids", message.request_id),
            ("session_ids", message.session_id),
        ):
            if seen not in summary[key]:
                summary[key].append(seen)
        external = [message.external_session_id, message.external_request_id]
        if external not in summary["external"]:
            summary["external"].append(external)
        if status == "chunk":
            summary["audio"] += base64.b64decode(message.data.audio)
        elif status == "word_timestamp":
            summary["words"].append(plain(message.data))
        elif status == "complete":
            summary["complete"] = plain(message)
            return summary


def scenario_fern_socket(args: argparse.Namespace) -> dict[str, Any]:
    """Two requests over one socket: streamed text with a flush, then one frame."""
    client = fern_client(args)
    common: dict[str, Any] = {
        "voice_id": args.voice,
        "model": "lightning_v3.1_pro",
        "sample_rate": 16000,
        "language": "en",
        "word_timestamps": True,
    }
    options: Any = {"additional_query_parameters": {"timeout": 30}}
    with client.waves.tts.connect(request_options=options) as socket:
        ids = {"session_id": "my-session.1", "request_id": "turn-1"}
        for part in SOCKET_FIRST:
            socket.synthesize_streaming_tts(
                TtsRequestMessage(text=part, continue_=True, **common, **ids)
            )
        socket.synthesize_streaming_tts(
            TtsRequestMessage(text="", continue_=True, flush=True, **common, **ids)
        )
        socket.synthesize_streaming_tts(
            TtsRequestMessage(text=SOCKET_SECOND, continue_=True, **common, **ids)
        )
        socket.synthesize_streaming_tts(
            TtsRequestMessage(text="", continue_=False, flush=True, **common, **ids)
        )
        first = receive_request(socket)
        # The socket stays open after `complete`: speak again on it.
        socket.synthesize_streaming_tts(TtsRequestMessage(text=SOCKET_REUSED, **common))
        second = receive_request(socket)
    audio = first["audio"] + second["audio"]
    write_audio(args.audio_out, audio)
    for part in (first, second):
        part["audio_bytes"] = len(part.pop("audio"))
    return {"first": first, "second": second}


async def async_connect(args: argparse.Namespace) -> dict[str, Any] | None:
    """Open the async Fern socket; return the error it raised, if any."""
    client = AsyncSmallestAI(
        api_key=args.api_key, environment=environment(args.base_url), max_retries=0
    )
    try:
        async with client.waves.tts.connect():
            return None
    except Exception as err:  # noqa: BLE001 - report whatever the SDK raises
        return describe_error(err)


def capture(call: Callable[[], Any]) -> dict[str, Any] | None:
    """Run `call`; return the error it raised, if any."""
    try:
        call()
    except Exception as err:  # noqa: BLE001 - report whatever the SDK raises
        return describe_error(err)
    return None


def scenario_fern_bad_key(args: argparse.Namespace) -> dict[str, Any]:
    """A refused key on REST, SSE and both socket clients."""
    client = fern_client(args)

    def connect_sync() -> None:
        with client.waves.tts.connect():
            pass

    return {
        "voices": capture(lambda: client.waves.get_voices(model="lightning-v3.1")),
        "catalog": capture(client.waves.voices.get_all_voice_models),
        "sse": capture(
            lambda: list(client.waves.synthesize_sse_tts(text="x", voice_id=args.voice))
        ),
        "sync_socket": capture(connect_sync),
        "async_socket": asyncio.run(async_connect(args)),
    }


def scenario_fern_rest_error(args: argparse.Namespace) -> dict[str, Any]:
    """REST calls while the server answers every one with an error."""
    client = fern_client(args)
    return {
        "voices": capture(lambda: client.waves.get_voices(model="lightning-v3.1")),
        "catalog": capture(client.waves.voices.get_all_voice_models),
    }


class _Warnings(logging.Handler):
    """Collects the warnings the SDK logs while it reads SSE events."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def scenario_fern_sse(args: argparse.Namespace) -> dict[str, Any]:
    """synthesize_sse_tts as documented, then the same call read event by event."""
    client = fern_client(args)
    request: dict[str, Any] = {
        "text": SSE_TEXT,
        "voice_id": args.voice,
        "sample_rate": 24000,
        "output_format": "pcm",
        "request_id": "sse-1",
    }
    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    try:
        items = list(client.waves.synthesize_sse_tts(**request))
    finally:
        logging.getLogger().removeHandler(warnings)
    events: list[dict[str, Any]] = []
    audio = b""
    with client.waves.with_raw_response.synthesize_sse_tts(**request) as raw:
        headers = raw.headers
        # The documented iterator drops every event (see "items"), and the SDK
        # has no public way to their payloads: read the response it made with
        # its own SSE decoder.
        for sse in EventSource(raw._response).iter_sse():
            data = json.loads(sse.data)
            events.append({"event": sse.event, "keys": sorted(data)})
            chunk = data.get("audio") or (data.get("data") or {}).get("audio")
            if chunk:
                audio += base64.b64decode(chunk)
    write_audio(args.audio_out, audio)
    return {
        "items": [plain(item) for item in items],
        "skipped_warnings": sum("Skipping SSE event" in m for m in warnings.messages),
        "content_type": headers.get("content-type"),
        "external_request_id": headers.get("x-external-request-id"),
        "events": events,
        "audio_bytes": len(audio),
    }


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = (
    sdk_script.scenarios(globals())
)


def main() -> int:
    """Run one scenario and print its summary as one JSON line."""
    parser = sdk_script.parser(SCENARIOS)
    parser.add_argument("--voice", default="magnus")
    parser.add_argument("--path", default="/waves/v1/tts/live")
    args = parser.parse_args()
    return sdk_script.emit(SCENARIOS[args.scenario](args), __version__)


if __name__ == "__main__":
    sys.exit(main())
