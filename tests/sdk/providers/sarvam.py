"""Sarvam: its emulator and SDK client, and the streaming WebSocket on the raw wire."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import aiohttp

from tests.emulators.sarvam import (
    STREAM_PATH,
    VOICES_PATH,
    SarvamEmulator,
    SarvamSessionRecord,
)
from tests.sdk.providers import API_KEY, BadKey, Provider, RestError, Wire
from tests.sdk.wire import receive_all as receive_until_close, receive_json

V3_QUERY = "model=bulbul%3Av3&send_completion_event=true"
FLUSH = {"type": "flush"}
# The only message types the SDK parses.
SDK_TYPES = ("audio", "event", "error")


def config_message(**data: Any) -> dict[str, Any]:
    """Return a config message for an English v3 session, with `data` merged in."""
    return {
        "type": "config",
        "data": {"language_code": "en-IN", "speaker": "shubh", **data},
    }


def text_message(text: str) -> dict[str, Any]:
    """Return a text message."""
    return {"type": "text", "data": {"text": text}}


async def open_ws(
    http: aiohttp.ClientSession,
    emulator: SarvamEmulator,
    *,
    path: str = STREAM_PATH,
    query: str = V3_QUERY,
    key: str | None = API_KEY,
    protocols: tuple[str, ...] = (),
    heartbeat: float | None = None,
) -> aiohttp.ClientWebSocketResponse:
    """Connect to a stream endpoint, the key in the api-subscription-key header."""
    url = emulator.ws_base_url + path + (f"?{query}" if query else "")
    headers = {} if key is None else {"api-subscription-key": key}
    return await http.ws_connect(
        url, headers=headers, protocols=protocols, heartbeat=heartbeat
    )


async def receive_frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """Read one message: JSON text of a type the SDK knows (it fails on others)."""
    frame = await receive_json(ws)
    assert frame["type"] in SDK_TYPES, frame
    return frame


async def receive_all(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Read JSON messages until the server closes, each of a type the SDK knows."""
    frames = await receive_until_close(ws)
    assert all(frame["type"] in SDK_TYPES for frame in frames), frames
    return frames


async def receive_until_event(
    ws: aiohttp.ClientWebSocketResponse, count: int = 1
) -> list[dict[str, Any]]:
    """Read messages until `count` completion events have arrived."""
    frames: list[dict[str, Any]] = []
    while sum(f["type"] == "event" for f in frames) < count:
        frames.append(await receive_frame(ws))
    return frames


def chunks_of(frames: Sequence[dict[str, Any]]) -> list[bytes]:
    """Return the decoded audio of every audio message."""
    return [
        base64.b64decode(f["data"]["audio"]) for f in frames if f["type"] == "audio"
    ]


def audio_of(frames: Sequence[dict[str, Any]]) -> bytes:
    """Return the concatenated audio."""
    return b"".join(chunks_of(frames))


class SarvamWire(Wire):
    """v3 sessions with completion events: a config in linear16, text, a flush."""

    open = staticmethod(open_ws)
    idle = (config_message(),)
    error_close_code = 1011

    def speak(self, text: str, *, end: bool) -> list[Any]:
        """Configure, send the text and flush it; the protocol has no end of input."""
        return [
            config_message(output_audio_codec="linear16"),
            text_message(text),
            FLUSH,
        ]

    async def receive(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        """Read one message of a type the SDK knows."""
        return await receive_frame(ws)

    async def receive_all(
        self, ws: aiohttp.ClientWebSocketResponse
    ) -> list[dict[str, Any]]:
        """Read messages of types the SDK knows until the server closes."""
        return await receive_all(ws)

    async def receive_answer(
        self, ws: aiohttp.ClientWebSocketResponse
    ) -> list[dict[str, Any]]:
        """Read up to and including the flush's completion event."""
        return await receive_until_event(ws)

    def kind(self, frame: dict[str, Any]) -> str:
        """Every message names its type."""
        return str(frame["type"])

    def audio_of(self, frames: Sequence[dict[str, Any]]) -> bytes:
        """Return the concatenated audio."""
        return audio_of(frames)

    def internal_error(self, record: SarvamSessionRecord) -> dict[str, Any]:
        """The error message with code 500."""
        return {
            "type": "error",
            "data": {
                "message": "Internal Server Error",
                "code": 500,
                "request_id": record.request_id,
            },
        }


def rest_error(status: int, exception: str, code: str) -> RestError:
    """The voice list raises `exception`, with a Sarvam error body."""
    return RestError(
        status,
        {"voices": exception},
        {"error": {"message": f"emulated HTTP {status}", "code": code}},
        {"voices_endpoint": True},
    )


SARVAM = Provider(
    name="sarvam",
    emulator=SarvamEmulator,
    wire=SarvamWire(),
    sdk_client="sarvam_sdk_client.py",
    sdk_env=("SARVAM_API_KEY",),
    # bad_key_style "handshake": HTTP 401 at the upgrade, as the SDK expects.
    bad_key=BadKey(
        scenario="bad_key",
        errors={
            "rest_error": {
                "exception": "UnauthorizedError",
                "status_code": 401,
                "body": {
                    "error": {
                        "message": "Invalid API key",
                        "code": "invalid_api_key_error",
                    }
                },
            },
            "connect_error": {
                "exception": "ApiError",
                "status_code": 401,
                "body": "Websocket initialized with invalid credentials.",
            },
        },
        summary={"types": []},
    ),
    rest_error_scenario="rest_error",
    rest_errors=(
        rest_error(500, "InternalServerError", "internal_server_error"),
        rest_error(429, "ApiError", "rate_limit_exceeded_error"),
        # The beta endpoint missing: the server's own 404.
        RestError(
            404,
            {"voices": "ApiError"},
            {"detail": "Not Found"},
            {"rest_status_override": None, "voices_endpoint": False},
        ),
    ),
    voices_path=VOICES_PATH,
    voice_ids=lambda body: [v["id"] for v in body["data"]["voices"]],
    voice="vc_5f2a9c7e41d84b0c",
    key_header="api-subscription-key",
    # Internal errors close the session anyway.
    error_settings={"close_after_error": False},
    after_error={"error": "Internal Server Error", "events": 0},
    after_stall={"events": 0},
    after_disconnect={"events": 0},
)
