"""Telnyx: its emulator and SDK client, and the speech WebSocket on the raw wire."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import partial
from typing import Any

import aiohttp

from tests.emulators.telnyx import (
    AUDIO_ERROR,
    STREAM_PATH,
    VOICES_PATH,
    TelnyxEmulator,
)
from tests.sdk.providers import API_KEY, BadKey, Provider, RestError, Wire
from tests.sdk.wire import Frame

VOICE = "Telnyx.NaturalHD.astra"


async def open_ws(
    http: aiohttp.ClientSession,
    emulator: TelnyxEmulator,
    *,
    key: str = API_KEY,
    heartbeat: float | None = None,
    **query: str,
) -> aiohttp.ClientWebSocketResponse:
    """Connect to the stream endpoint with `query` (voice defaults to VOICE)."""
    return await http.ws_connect(
        emulator.ws_base_url + STREAM_PATH,
        params={"voice": VOICE, **query},
        headers={"Authorization": f"Bearer {key}"},
        heartbeat=heartbeat,
    )


def handshake(**settings: Any) -> dict[str, Any]:
    """Return the opening {"text": " "} frame."""
    return {"text": " ", **({"voice_settings": settings} if settings else {})}


def audio_frames(frames: Sequence[Frame]) -> list[Frame]:
    """Return the frames that carry audio."""
    return [f for f in frames if f.get("audio")]


def audio_of(frames: Sequence[Frame]) -> bytes:
    """Return the decoded audio of every audio frame, in order."""
    return b"".join(base64.b64decode(f["audio"]) for f in audio_frames(frames))


class TelnyxWire(Wire):
    """Streams in linear16: the handshake, then text spoken a sentence at a time."""

    open = staticmethod(partial(open_ws, audio_format="linear16"))
    idle = (handshake(), {"text": "Waiting for more"})
    error_close_code = 1011

    def speak(self, text: str, *, end: bool) -> list[Any]:
        """The handshake and the text, which must end a sentence to be spoken."""
        return [handshake(), {"text": text}, *([{"text": ""}] if end else [])]

    def kind(self, frame: Frame) -> str:
        """Frames carry audio, a sentence's text, the final mark or an error."""
        if "error" in frame:
            return "error"
        if frame.get("audio"):
            return "audio"
        return "final" if frame.get("isFinal") else "text"

    def audio_of(self, frames: Sequence[Frame]) -> bytes:
        """Return the decoded audio of every audio frame, in order."""
        return audio_of(frames)

    def internal_error(self, record: Any) -> Frame:
        """The one error Telnyx sends, whatever went wrong."""
        return {"error": AUDIO_ERROR}


def rest_error(status: int, exception: str, code: str, title: str) -> RestError:
    """The voice list raises `exception`, with a Telnyx errors body."""
    detail = f"emulated HTTP {status}"
    return RestError(
        status,
        {"voices": exception},
        {"errors": [{"code": code, "title": title, "detail": detail}]},
    )


AUTHENTICATION_FAILED = {
    "errors": [
        {
            "code": "10009",
            "title": "Authentication failed",
            "detail": "The API key you provided is invalid.",
        }
    ]
}

TELNYX = Provider(
    name="telnyx",
    emulator=TelnyxEmulator,
    wire=TelnyxWire(),
    sdk_client="telnyx_sdk_client.py",
    sdk_env=("TELNYX_API_KEY", "TELNYX_BASE_URL", "TELNYX_CUSTOM_HEADERS"),
    # 401 with a Telnyx errors body on REST and at the upgrade.
    bad_key=BadKey(
        scenario="bad_key",
        errors={
            "rest_error": {
                "exception": "AuthenticationError",
                "status_code": 401,
                "body": AUTHENTICATION_FAILED,
            },
            "stream_error": {
                "exception": "InvalidStatus",
                "status_code": 401,
                "body": AUTHENTICATION_FAILED,
            },
        },
        state={"rejections": [(401, "The API key you provided is invalid.")]},
    ),
    rest_error_scenario="rest_error",
    rest_errors=(
        rest_error(429, "RateLimitError", "10011", "Too many requests"),
        rest_error(500, "InternalServerError", "10007", "Unexpected error"),
        rest_error(503, "InternalServerError", "10007", "Unexpected error"),
    ),
    voices_path=VOICES_PATH,
    voice_ids=lambda body: [v["voice_id"] for v in body["voices"]],
    voice=VOICE,
    key_header="authorization",
    key_prefix="Bearer ",
    after_error={"error": AUDIO_ERROR, "close_code": 1011},
    after_drop={"close_code": None},
    after_disconnect={"finished": False},
    # The server closed first: the client only answered.
    after_stop={"client_closed": False},
)
