"""Smallest.ai: its emulator and SDK client, and the live socket on the raw wire."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import aiohttp

from tests.emulators.smallest import (
    LIVE_PATH,
    VOICES_PATH,
    SmallestEmulator,
    SmallestSessionRecord,
)
from tests.sdk.providers import (
    API_KEY,
    ERROR_FIELDS,
    BadKey,
    Provider,
    RestError,
    Wire,
)
from tests.sdk.wire import Frame, receive_json


def request(text: str, **fields: Any) -> Frame:
    """A raw request frame (8 kHz keeps the audio small), with `fields` merged in."""
    return {"voice_id": "magnus", "text": text, "sample_rate": 8000, **fields}


async def connect(
    http: aiohttp.ClientSession,
    emulator: SmallestEmulator,
    *,
    path: str = LIVE_PATH,
    key: str = API_KEY,
    query: dict[str, str] | None = None,
    heartbeat: float | None = None,
) -> aiohttp.ClientWebSocketResponse:
    """Open the live socket with a Bearer key."""
    return await http.ws_connect(
        emulator.ws_base_url + path,
        headers={"Authorization": f"Bearer {key}"},
        params=query,
        heartbeat=heartbeat,
    )


async def receive_until_complete(ws: aiohttp.ClientWebSocketResponse) -> list[Frame]:
    """Read frames up to and including the next `complete`."""
    frames: list[Frame] = []
    while True:
        frames.append(await receive_json(ws))
        if frames[-1]["status"] in ("complete", "error"):
            return frames


def audio_of(frames: Sequence[Frame]) -> bytes:
    """Return the decoded audio of the chunk frames."""
    return b"".join(
        base64.b64decode(f["data"]["audio"]) for f in frames if f["status"] == "chunk"
    )


class SmallestWire(Wire):
    """The live socket: one request frame a synthesis, audio in `chunk` frames."""

    rate = 8000
    open = staticmethod(connect)

    def speak(self, text: str, *, end: bool) -> list[Any]:
        """One request without `continue`: the text is the whole input of the request."""
        return [request(text)]

    async def receive_answer(self, ws: aiohttp.ClientWebSocketResponse) -> list[Frame]:
        """Read up to and including the request's `complete`."""
        return await receive_until_complete(ws)

    def kind(self, frame: Frame) -> str:
        """Every frame has a status; audio comes as `chunk`."""
        return "audio" if frame["status"] == "chunk" else str(frame["status"])

    def audio_of(self, frames: Sequence[Frame]) -> bytes:
        """Return the decoded audio of the chunk frames."""
        return audio_of(frames)

    def internal_error(self, record: SmallestSessionRecord) -> Frame:
        """The error frame of the request that failed."""
        return {
            "status": "error",
            "message": "emulated internal server error",
            "request_id": record.request_ids[0],
        }


def rest_error(status: int, shape: str, voices: str, body: Any) -> RestError:
    """get_voices raises `voices`; the catalogue call the plain ApiError, whatever the status."""
    return RestError(
        status,
        {"voices": voices, "catalog": "ApiError"},
        body,
        {"rest_error_shape": shape},
    )


UNAUTHORIZED = {
    "exception": "UnauthorizedError",
    "status_code": 401,
    "body": {"error": "Invalid API key"},
}

SMALLEST = Provider(
    name="smallest",
    emulator=SmallestEmulator,
    wire=SmallestWire(),
    sdk_client="smallest_sdk_client.py",
    sdk_env=("SMALLEST_API_KEY",),
    # The Fern client: REST, SSE and both socket clients, each reporting a
    # refused key its own way.
    bad_key=BadKey(
        scenario="fern_bad_key",
        errors={
            "voices": UNAUTHORIZED,
            "catalog": UNAUTHORIZED,
            "sse": UNAUTHORIZED,
            # The sync socket client only maps the legacy websockets exception,
            # so websockets 15's InvalidStatus reaches the caller unmapped.
            "sync_socket": {
                "exception": "InvalidStatus",
                "module": "websockets.exceptions",
                "status_code": 401,
            },
            "async_socket": {
                "exception": "ApiError",
                "status_code": 401,
                "body": "Websocket initialized with invalid credentials.",
            },
        },
        upgrades=2,
        state={"sse_requests": []},
    ),
    rest_error_scenario="fern_rest_error",
    # Both body shapes of rest_error_shape.
    rest_errors=(
        rest_error(400, "flat", "BadRequestError", {"error": "emulated HTTP 400"}),
        rest_error(
            500,
            "typed",
            "InternalServerError",
            {
                "error": {
                    "message": "emulated HTTP 500",
                    "type": "internal_server_error",
                }
            },
        ),
        rest_error(429, "flat", "ApiError", {"error": "emulated HTTP 429"}),
    ),
    voices_path=VOICES_PATH,
    voice_ids=lambda body: [v["voiceId"] for v in body["voices"]],
    voice="magnus",
    key_header="authorization",
    key_prefix="Bearer ",
    error_fields=ERROR_FIELDS | {"module", "message"},
    after_error={"error": "emulated internal server error", "completes": 0},
    after_stall={"completes": 0},
    after_disconnect={"completes": 0},
)
