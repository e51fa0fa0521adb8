"""Drive the official Telnyx SDK against an emulator; print one JSON summary line.

Runs under the SDK interpreter (requirements_sdk.txt), not Home Assistant's:

    python telnyx_sdk_client.py BASE_URL API_KEY SCENARIO [--voice ID ...] [--audio-out FILE]

BASE_URL is the emulator's root; the SDK gets it with ``/v2`` appended, the
only change from talking to api.telnyx.com.

Scenarios:
    stream      handshake with voice settings, text split mid-word, a flush, end
    force       interrupt a sentence with {"force": true}, then speak another
    voices      list every voice, then only Telnyx's
    bad_key     the voice list and a stream with a key the server refuses
    refused     open streams the server refuses at the upgrade, one per --voice
    error       a stream that the server ends with an error frame
    idle        a stream left idle until the server's inactivity timeout
    rest_error  the voice list while the server answers every call with an error
"""

from __future__ import annotations

import base64
from functools import partial
import json
import sys
from typing import Any

import sdk_script
import telnyx
from telnyx import Telnyx
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

DEFAULT_VOICE = "Telnyx.NaturalHD.astra"
VOICE_SETTINGS = {"voice_speed": 1.1}
# Split mid-word on purpose: the server must join the pieces in order and
# find the sentence ends itself. The last part is spoken by its flush.
STREAM_PARTS = ["Hel", "lo there. How a", "re you to", "day? And now a part"]
STREAM_FLUSHED = "ial thought"
FORCE_DROPPED = (
    "This long sentence is interrupted by the client well before it ends, "
    "so most of it is never heard."
)
FORCE_KEPT = "Next sentence."
ERROR_TEXT = "This sentence fails halfway through."

# Models keyed by their wire names, with only the fields the server sent.
DUMP = {"by_alias": True, "exclude_unset": True}
plain = partial(sdk_script.plain, **DUMP)


def describe_error(err: Exception) -> dict[str, Any]:
    """Summarise an SDK (REST) or websockets (upgrade) exception."""
    if isinstance(err, InvalidStatus):
        response = err.response
        try:
            body: Any = json.loads(response.body or b"")
        except ValueError:
            body = (response.body or b"").decode(errors="replace")
        return {
            "exception": type(err).__name__,
            "status_code": response.status_code,
            "body": body,
        }
    return sdk_script.describe_error(err, **DUMP)


def describe_event(event: Any) -> dict[str, Any]:
    """Summarise one parsed server frame as the SDK presents it."""
    audio = getattr(event, "audio", None)
    return {
        "class": type(event).__name__,
        "type": getattr(event, "type", None),
        "audio_bytes": None if audio is None else len(base64.b64decode(audio)),
        "text": getattr(event, "text", None),
        "is_final": getattr(event, "is_final", None),
        "cached": getattr(event, "cached", None),
        "ttfa_ms": getattr(event, "time_to_first_audio_frame_ms", None),
        "error": getattr(event, "error", None),
    }


class Drain:
    """Collects the events of one stream and the audio they carry."""

    def __init__(self) -> None:
        """Start empty."""
        self.events: list[dict[str, Any]] = []
        self.audio = bytearray()

    def add(self, event: Any) -> dict[str, Any]:
        """Record `event`; return its summary."""
        summary = describe_event(event)
        self.events.append(summary)
        if getattr(event, "audio", None):
            self.audio += base64.b64decode(event.audio)
        return summary

    def finish(self, connection: Any, audio_out: str | None) -> dict[str, Any]:
        """Read how the stream closed; write the audio; return the summary."""
        closed: dict[str, Any] = {}
        try:
            # After the iterator ends, recv() raises the close again with its details.
            connection.recv()
        except ConnectionClosed as err:
            closed = close_info(err)
        sdk_script.write_audio(audio_out, bytes(self.audio))
        return {
            "events": self.events,
            "audio_bytes": len(self.audio),
            "close": closed,
        }


def close_info(err: ConnectionClosed) -> dict[str, Any]:
    """Return the close code and reason the server sent (None when it sent none)."""
    frame = err.rcvd
    return {
        "exception": type(err).__name__,
        "code": None if frame is None else frame.code,
        "reason": None if frame is None else frame.reason,
    }


def open_stream(client: Telnyx, voice: str, **query: str) -> Any:
    """Return the SDK's connection manager for a stream with `voice`."""
    return client.text_to_speech.stream(
        extra_query={"voice": voice, "audio_format": "mp3", **query}
    )


def scenario_stream(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """Handshake, sentences split mid-word, a flushed fragment, end of input."""
    drain = Drain()
    with open_stream(client, voices[0]) as connection:
        connection.send({"text": " ", "voice_settings": VOICE_SETTINGS})
        for part in STREAM_PARTS:
            connection.send({"text": part})
        # `flush` is not in the SDK's types; it passes unknown keys through.
        flushed: Any = {"text": STREAM_FLUSHED, "flush": True}
        connection.send(flushed)
        connection.send({"text": ""})
        for event in connection:
            drain.add(event)
        result = drain.finish(connection, audio_out)
    return {"sent": "".join(STREAM_PARTS) + STREAM_FLUSHED, **result}


def scenario_force(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """Interrupt a sentence once its audio starts, then speak another one."""
    drain = Drain()
    forced_at: int | None = None
    with open_stream(client, voices[0]) as connection:
        connection.send({"text": " "})
        connection.send({"text": FORCE_DROPPED})
        for event in connection:
            summary = drain.add(event)
            if forced_at is None and summary["audio_bytes"]:
                forced_at = len(drain.events)
                # The SDK's types require text; the bare interrupt serialises fine.
                force: Any = {"force": True}
                connection.send(force)
                connection.send({"text": FORCE_KEPT})
                connection.send({"text": ""})
        result = drain.finish(connection, audio_out)
    return {"forced_after_events": forced_at, **result}


def scenario_voices(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """List all voices, then Telnyx's own."""
    every = client.text_to_speech.list_voices()
    own = client.text_to_speech.list_voices(provider="telnyx")
    return {
        "class": type(every).__name__,
        "voice_classes": sorted({type(v).__name__ for v in every.voices or []}),
        "voices": plain(every.voices),
        "telnyx_voices": plain(own.voices),
    }


def scenario_bad_key(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """The voice list and a stream with a refused key."""
    summary: dict[str, Any] = {}
    try:
        client.text_to_speech.list_voices()
    except telnyx.APIStatusError as err:
        summary["rest_error"] = describe_error(err)
    summary["stream_error"] = None
    try:
        with open_stream(client, voices[0]) as connection:
            connection.send({"text": " "})
    except InvalidStatus as err:
        summary["stream_error"] = describe_error(err)
    return summary


def scenario_refused(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """Open a stream with each voice; the server refuses them at the upgrade."""
    errors: dict[str, Any] = {}
    for voice in voices:
        errors[voice] = None
        try:
            with open_stream(client, voice) as connection:
                connection.send({"text": " "})
        except InvalidStatus as err:
            errors[voice] = describe_error(err)
    return {"stream_errors": errors}


def scenario_error(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """A stream the server ends with an error frame and a 1011 close."""
    drain = Drain()
    closed: dict[str, Any] | None = None
    with open_stream(client, voices[0]) as connection:
        connection.send({"text": " "})
        connection.send({"text": ERROR_TEXT})
        try:
            for event in connection:
                drain.add(event)
        except ConnectionClosedError as err:
            # 1011 is not a clean close: the SDK's iterator raises it.
            closed = close_info(err)
    result = drain.finish(connection, audio_out)
    return {**result, "close": closed, "raised": closed is not None}


def scenario_idle(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """Send the handshake, then nothing, until the server gives up."""
    drain = Drain()
    with open_stream(client, voices[0], inactivity_timeout="0.3") as connection:
        connection.send({"text": " "})
        for event in connection:
            drain.add(event)
        return drain.finish(connection, audio_out)


def scenario_rest_error(
    client: Telnyx, voices: list[str], audio_out: str | None
) -> dict[str, Any]:
    """The voice list while the server answers with an error status."""
    try:
        client.text_to_speech.list_voices(provider="telnyx")
    except telnyx.APIStatusError as err:
        return {"voices": describe_error(err)}
    return {"voices": None}


SCENARIOS = sdk_script.scenarios(globals())


def main() -> int:
    """Run one scenario and print its summary as one JSON line."""
    parser = sdk_script.parser(SCENARIOS)
    parser.add_argument("--voice", action="append", dest="voices")
    args = parser.parse_args()
    # No retries: every error the emulator sends must reach the summary once.
    client = Telnyx(
        api_key=args.api_key,
        base_url=args.base_url.rstrip("/") + "/v2",
        max_retries=0,
        timeout=10.0,
    )
    try:
        summary = SCENARIOS[args.scenario](
            client, args.voices or [DEFAULT_VOICE], args.audio_out
        )
    finally:
        client.close()
    return sdk_script.emit(summary, telnyx.__version__)


if __name__ == "__main__":
    sys.exit(main())
