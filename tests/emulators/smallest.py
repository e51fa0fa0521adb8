"""Local emulator of the Smallest.ai Waves streaming speech API (Lightning v3.1).

Serves the live WebSocket (``/waves/v1/tts/live`` and the legacy
``/waves/v1/lightning-v3.1/get_speech/stream``), Server-Sent Events by POST to
the same path (and the legacy ``/waves/v1/lightning-v3.1/stream``), and the
two voice listings. Every WebSocket frame is a self-contained request; text
of ``continue: true`` frames is buffered until a flush, the end of the
request (``continue`` false or absent) or ``max_buffer_flush_ms`` of quiet.

Points the public sources leave open are configuration switches:
`close_after_complete`, `completion`, `ws_output_format`,
`error_shape`, `sse_shape` and `rest_error_shape`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Sequence
import copy
from dataclasses import dataclass, field
import hashlib
import json
import logging
import math
import re
from typing import Any, Final, Literal
import uuid

from aiohttp import WSCloseCode, WSMsgType, web

from . import synth
from .base import EmulatorConfig, EmulatorServer, request_key

_LOGGER = logging.getLogger(__name__)

LIVE_PATH: Final = "/waves/v1/tts/live"
LEGACY_WS_PATH: Final = "/waves/v1/lightning-v3.1/get_speech/stream"
LEGACY_SSE_PATH: Final = "/waves/v1/lightning-v3.1/stream"
VOICES_MODEL: Final = "lightning-v3.1"
VOICES_PATH: Final = f"/waves/v1/{VOICES_MODEL}/get_voices"
CATALOG_PATH: Final = "/waves/v1/voice/get-all-models"

MODELS: Final = ("lightning_v3.1", "lightning_v3.1_pro")
DEFAULT_MODEL: Final = MODELS[0]
SAMPLE_RATES: Final = (8000, 16000, 24000, 44100)
DEFAULT_SAMPLE_RATE: Final = 44100
MIN_SPEED: Final = 0.5
MAX_SPEED: Final = 2.0
MAX_BUFFER_FLUSH_MS: Final = 1000
MAX_COMPLETE_BACKOFF_MS: Final = 10000
# fmt: off
# The `language` enum of smallestai 5.14.0, "auto" included.
LANGUAGES: Final = frozenset({
    "auto", "en", "hi", "mr", "kn", "ta", "bn", "gu", "te", "ml", "pa", "or", "es",
    "de", "fr", "it", "nl", "sv", "pt", "ru", "el", "fi", "no", "pl", "ar", "zh",
    "id", "ja", "ko", "ms", "tr", "vi",
})
# fmt: on
# Formats this emulator can encode. The real service also lists alaw.
OUTPUT_FORMATS: Final = frozenset({"pcm", "mp3", "wav", "ulaw"})
UNSUPPORTED_FORMATS: Final = frozenset({"alaw"})
# Only these voices emit word timestamps; the rest silently send none.
WORD_TIMESTAMP_VOICES: Final = frozenset(
    {"meher", "devansh", "kartik", "maithili", "liam", "avery"}
)
COMPLETE_MESSAGE: Final = "All chunks sent"
INTERNAL_ERROR_MESSAGE: Final = "emulated internal server error"
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.-]{1,128}")

WsOutputFormat = Literal["pcm_only", "honour"]
# When `complete` is sent: once at the end of a request; after every flush
# message (and at the end); after every flush or end that spoke something;
# after every sentence spoken (and nothing else).
Completion = Literal["end", "every_flush", "text_flush", "sentence"]
ErrorShape = Literal["message", "error", "nested"]
SseShape = Literal["flat", "nested"]
RestErrorShape = Literal["flat", "typed"]

_STATUS_TYPES: Final = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    429: "rate_limit_exceeded",
}


def _voice(
    voice_id: str,
    name: str,
    *,
    gender: str,
    accent: str,
    age: str,
    languages: Sequence[str],
    usecases: Sequence[str],
    emotions: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "voiceId": voice_id,
        "displayName": name,
        "tags": {
            "language": list(languages),
            "accent": accent,
            "gender": gender,
            "age": age,
            "emotions": list(emotions),
            "usecases": list(usecases),
        },
    }


def default_voices() -> list[dict[str, Any]]:
    """Return the default catalogue: standard and Pro voices, as the API lists them."""
    english, bilingual = ["english"], ["english", "hindi"]
    return [
        _voice("magnus", "Magnus", gender="male", accent="american", age="young",
               languages=english, usecases=["conversational"]),
        _voice("sophia", "Sophia", gender="female", accent="american", age="young",
               languages=english, usecases=["narration", "conversational"],
               emotions=["happy"]),
        _voice("emily", "Emily", gender="female", accent="british", age="middle aged",
               languages=english, usecases=["narration"]),
        _voice("arjun", "Arjun", gender="male", accent="indian", age="middle aged",
               languages=bilingual, usecases=["conversational", "support"]),
        _voice("meher", "Meher", gender="female", accent="indian", age="young",
               languages=bilingual, usecases=["conversational", "support"]),
        _voice("devansh", "Devansh", gender="male", accent="indian", age="young",
               languages=bilingual, usecases=["conversational"]),
        _voice("kartik", "Kartik", gender="male", accent="indian", age="middle aged",
               languages=["hindi", "english"], usecases=["news"]),
        _voice("maithili", "Maithili", gender="female", accent="indian", age="young",
               languages=["hindi", "marathi"], usecases=["narration"]),
        _voice("liam", "Liam", gender="male", accent="american", age="young",
               languages=english, usecases=["conversational"]),
        _voice("avery", "Avery", gender="female", accent="american", age="young",
               languages=english, usecases=["support"]),
    ]  # fmt: skip


def catalog_entry(voice: dict[str, Any]) -> dict[str, Any]:
    """Return `voice` in the shape of ``GET /waves/v1/voice/get-all-models``."""
    voice_id = str(voice.get("voiceId", ""))
    tags = voice.get("tags") or {}
    accent, gender = tags.get("accent", ""), tags.get("gender", "")
    return {
        # A stable 24-hex document id, like the real catalogue's.
        "_id": hashlib.sha256(voice_id.encode()).hexdigest()[:24],
        "voiceId": voice_id,
        "displayName": voice.get("displayName", voice_id),
        "description": f"{accent.capitalize()} {gender} voice.".strip(),
        # .invalid never resolves: previews are not served by the emulator.
        "audioPreview": f"https://voice-previews.invalid/smallest/{voice_id}.wav",
        "tags": {
            "age": tags.get("age"),
            "emotions": list(tags.get("emotions", [])),
            "language": list(tags.get("language", [])),
        },
    }


@dataclass
class SmallestEmulatorConfig(EmulatorConfig):
    """Behaviour of a `SmallestEmulator` (see `EmulatorConfig` for the shared part).

    The fault switches count audio messages (``chunk`` frames or SSE audio
    events) of one connection or SSE request.
    """

    voices: list[dict[str, Any]] = field(default_factory=default_voices)
    word_timestamp_voices: frozenset[str] = WORD_TIMESTAMP_VOICES
    # Seconds without a client message before the server closes the socket;
    # ``?timeout=N`` overrides it per connection.
    idle_timeout: float = 60.0
    # UNKNOWN: the asyncapi says the server closes after `complete`, the
    # frameworks reuse the socket. False keeps it open for further requests.
    close_after_complete: bool = False
    # UNKNOWN: when `complete` is sent (see `Completion`); livekit speaks of
    # "several completes per context, with no way to tell which one is last".
    completion: Completion = "end"
    # UNKNOWN: "pcm_only" ignores `output_format` on the WebSocket; "honour"
    # encodes what was asked for (mp3 as whole frames per chunk).
    ws_output_format: WsOutputFormat = "pcm_only"
    # UNKNOWN: error frames carry `message` (what the SDK shim reads),
    # `error` as a string (what pipecat reads) or `error: {message, code}`.
    error_shape: ErrorShape = "message"
    # Close the socket after a request is refused. Faults and the idle
    # timeout always close.
    close_after_error: bool = False
    error_close_code: int = WSCloseCode.OK
    # Seconds between the last chunk and `complete` when the request has no
    # `complete_backoff_ms`; the docs say 4 s, which would slow every test.
    complete_backoff: float = 0.0
    # UNKNOWN: "flat" (event: audio / {"audio"} / {"done": true}, the
    # current docs) or "nested" ({"status": "chunk", "data": {...}}, seed 001).
    sse_shape: SseShape = "flat"
    # False answers the WebSocket routes with 404, as a deployment where
    # only SSE works.
    websocket_enabled: bool = True
    # Refuse every WebSocket upgrade with this HTTP status.
    ws_reject_status: int | None = None
    mp3_kbps: int = 128
    # UNKNOWN: REST errors as {"error": msg} or {"error": {"message", "type"}}.
    rest_error_shape: RestErrorShape = "flat"


@dataclass
class SmallestSessionRecord:
    """What happened on one WebSocket connection."""

    path: str = LIVE_PATH
    idle_timeout: float = 60.0
    session_id: str = field(default_factory=lambda: f"ws_{uuid.uuid4().hex}")
    # Server request ids, in the order they were first used.
    request_ids: list[str] = field(default_factory=list)
    # Every client JSON message, in order.
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Text of accepted frames with non-empty text, exactly as sent.
    text_parts: list[str] = field(default_factory=list)
    # Parameters of the latest accepted request frame.
    voice: str | None = None
    model: str | None = None
    sample_rate: int | None = None
    speed: float | None = None
    language: str | None = None
    # The texts actually spoken, one per synthesis.
    segments: list[str] = field(default_factory=list)
    flushes: int = 0
    keepalives: int = 0
    # A request frame with `continue` false or absent arrived.
    finished: bool = False
    completes: int = 0
    # The client closed (or vanished) before the server ended the session.
    client_closed: bool = False
    timed_out: bool = False
    # Message of the last error frame sent, and of all of them.
    error: str | None = None
    errors: list[str] = field(default_factory=list)
    chunks_sent: int = 0
    audio_bytes_sent: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Return the concatenation of the text the client asked to be spoken."""
        return "".join(self.text_parts)


@dataclass
class SmallestSseRecord:
    """One Server-Sent Events request."""

    path: str = LIVE_PATH
    body: dict[str, Any] = field(default_factory=dict)
    text_parts: list[str] = field(default_factory=list)
    voice: str | None = None
    sample_rate: int | None = None
    output_format: str | None = None
    segments: list[str] = field(default_factory=list)
    # Message of the error sent (HTTP error body or error event), if any.
    error: str | None = None
    client_closed: bool = False
    chunks_sent: int = 0
    audio_bytes_sent: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Return the text the request asked to be spoken."""
        return "".join(self.text_parts)


class _RequestError(Exception):
    """A request the service refuses; `code` is the machine-readable slug."""

    def __init__(self, message: str, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class _Request:
    """One validated request frame (or SSE body)."""

    text: str
    voice_id: str
    model: str
    sample_rate: int
    speed: float
    language: str | None
    output_format: str
    word_timestamps: bool
    continue_: bool
    flush: bool
    max_buffer_flush_ms: int
    complete_backoff_ms: float | None
    session_id: str | None
    request_id: str | None


def _optional_bool(message: dict[str, Any], name: str) -> bool:
    value = message.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _RequestError(f"{name} must be a boolean")
    return value


def _optional_number(
    message: dict[str, Any], name: str, low: float, high: float
) -> float | None:
    value = message.get(name)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise _RequestError(f"Invalid {name} {value!r}; expected {low:g} to {high:g}")
    return float(value)


def _optional_id(message: dict[str, Any], name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise _RequestError(f"{name} must be 1 to 128 letters, digits, '-', '_' or '.'")
    return value


def _parse_request(
    message: dict[str, Any],
    config: SmallestEmulatorConfig,
    *,
    honour_format: bool,
) -> _Request:
    """Validate a request frame or SSE body; raise `_RequestError` when refused.

    Unknown fields (context_id, enhancement, similarity, math_notation…)
    are ignored, as the service does.
    """
    text = message.get("text")
    if text is None:
        raise _RequestError("text is required")
    if not isinstance(text, str):
        raise _RequestError("text must be a string")
    voice_id = message.get("voice_id")
    if not isinstance(voice_id, str) or not voice_id:
        raise _RequestError("voice_id is required")
    if not any(v.get("voiceId") == voice_id for v in config.voices):
        raise _RequestError(f"Invalid voice_id '{voice_id}'")
    model = message.get("model", DEFAULT_MODEL)
    if model not in MODELS:
        raise _RequestError(
            f"Invalid model {model!r}; expected one of {', '.join(MODELS)}"
        )
    rate = message.get("sample_rate", DEFAULT_SAMPLE_RATE)
    if isinstance(rate, bool) or rate not in SAMPLE_RATES:
        raise _RequestError(
            f"Invalid sample_rate {rate!r}; expected one of "
            f"{', '.join(map(str, SAMPLE_RATES))}"
        )
    speed = _optional_number(message, "speed", MIN_SPEED, MAX_SPEED)
    language = message.get("language")
    if language is not None and (
        not isinstance(language, str) or language not in LANGUAGES
    ):
        raise _RequestError(f"Unsupported language {language!r}")
    output_format = "pcm"
    if honour_format:
        output_format = message.get("output_format") or "pcm"
        if not isinstance(output_format, str):
            raise _RequestError("output_format must be a string")
        if output_format in UNSUPPORTED_FORMATS:
            raise _RequestError(
                f"output_format {output_format!r} is not supported by this emulator"
            )
        if output_format not in OUTPUT_FORMATS:
            raise _RequestError(f"Invalid output_format {output_format!r}")
    flush_ms = message.get("max_buffer_flush_ms", 0)
    if (
        isinstance(flush_ms, bool)
        or not isinstance(flush_ms, int)
        or not 0 <= flush_ms <= MAX_BUFFER_FLUSH_MS
    ):
        raise _RequestError(
            f"max_buffer_flush_ms must be an integer from 0 to {MAX_BUFFER_FLUSH_MS}"
        )
    return _Request(
        text=text,
        voice_id=voice_id,
        model=str(model),
        sample_rate=int(rate),
        speed=1.0 if speed is None else speed,
        language=language,
        output_format=output_format,
        word_timestamps=_optional_bool(message, "word_timestamps"),
        continue_=_optional_bool(message, "continue"),
        flush=_optional_bool(message, "flush"),
        max_buffer_flush_ms=flush_ms,
        complete_backoff_ms=_optional_number(
            message, "complete_backoff_ms", 0, MAX_COMPLETE_BACKOFF_MS
        ),
        session_id=_optional_id(message, "session_id"),
        request_id=_optional_id(message, "request_id"),
    )


def error_body(
    shape: ErrorShape, message: str, code: str, request_id: str | None = None
) -> dict[str, Any]:
    """Return an error frame in `shape`."""
    body: dict[str, Any] = {"status": "error"}
    match shape:
        case "message":
            body["message"] = message
        case "error":
            body["error"] = message
        case "nested":
            body["error"] = {"message": message, "code": code}
    if request_id is not None:
        body["request_id"] = request_id
    return body


def _is_keepalive(message: dict[str, Any]) -> bool:
    """Blank text with ``continue: true`` and no flush only keeps the socket alive.

    Keep-alives are not validated further: clients send them with whatever
    fields they have at hand.
    """
    text = message.get("text")
    return (
        isinstance(text, str)
        and not text.strip()
        and message.get("continue") is True
        and message.get("flush") is not True
    )


class _Encoder:
    """Turns the PCM of one synthesis into the requested output format."""

    def __init__(self, output_format: str, sample_rate: int, mp3_kbps: int) -> None:
        self.output_format = output_format
        self.sample_rate = sample_rate
        self.mp3 = (
            synth.Mp3StreamEncoder(sample_rate, mp3_kbps)
            if output_format == "mp3"
            else None
        )
        self.header_due = output_format == "wav"

    def encode(self, pcm: bytes) -> bytes:
        match self.output_format:
            case "mp3":
                assert self.mp3 is not None
                return self.mp3.encode(pcm)
            case "ulaw":
                return synth.pcm16_to_ulaw(pcm)
            case "wav" if self.header_due:
                self.header_due = False
                return synth.wav_header(self.sample_rate) + pcm
            case _:
                return pcm

    def finish(self) -> bytes:
        """End the synthesis; MP3 returns its last frames."""
        return self.mp3.flush() if self.mp3 is not None else b""


@dataclass(frozen=True, slots=True)
class _Piece:
    """One audio message and the samples of the synthesis it covers."""

    payload: bytes
    first_sample: int
    end_sample: int


async def _audio_pieces(
    text: str,
    *,
    sample_rate: int,
    output_format: str,
    config: SmallestEmulatorConfig,
    pacer: synth.Pacer,
) -> AsyncIterator[_Piece]:
    """Yield the encoded audio of `text` chunk by chunk, paced and delayed."""
    if config.first_audio_latency > 0:
        await asyncio.sleep(config.first_audio_latency)
    pcm = synth.synthesize_pcm(text, sample_rate)
    encoder = _Encoder(output_format, sample_rate, config.mp3_kbps)
    pacer.restart()
    pieces = synth.chunk_pcm(pcm, sample_rate, config.chunk_seconds)
    first = fed = 0
    unsent = 0.0  # seconds encoded but not yet released
    for index, piece in enumerate(pieces):
        fed += len(piece) // 2
        unsent += len(piece) / 2 / sample_rate
        payload = encoder.encode(piece)
        if index == len(pieces) - 1:
            payload += encoder.finish()
        if not payload:
            # The MP3 encoder is still filling a frame.
            continue
        await pacer.wait(unsent)
        unsent = 0.0
        yield _Piece(payload, first, fed)
        first = fed


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _bearer_key(request: web.Request) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


class SmallestEmulator(EmulatorServer[SmallestEmulatorConfig, SmallestSessionRecord]):
    """Smallest.ai Waves on loopback: live WebSocket, SSE and voice listings."""

    config_type = SmallestEmulatorConfig

    def __init__(
        self,
        config: SmallestEmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        handshake_delay: float | None = None,
    ) -> None:
        """Prepare the emulator; `start()` or ``async with`` makes it listen."""
        self.sse_requests: list[SmallestSseRecord] = []
        self._sse_added = asyncio.Event()
        self._sse_tasks: set[asyncio.Task[object]] = set()
        super().__init__(
            config,
            host=host,
            port=port,
            handshake_delay=handshake_delay,
        )

    def setup_routes(self, app: web.Application) -> None:
        """Add the Waves routes."""
        app.router.add_get(LIVE_PATH, self._websocket_route)
        app.router.add_post(LIVE_PATH, self._sse_route)
        app.router.add_get(LEGACY_WS_PATH, self._websocket_route)
        app.router.add_post(LEGACY_SSE_PATH, self._sse_route)
        app.router.add_get(CATALOG_PATH, self._catalog)
        app.router.add_get("/waves/v1/{model}/get_voices", self._voices)

    async def stop(self) -> None:
        """End streaming SSE responses, then stop like every emulator."""
        tasks = [task for task in self._sse_tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await super().stop()

    async def wait_for_sse_request(self, index: int = 0) -> SmallestSseRecord:
        """Wait until SSE request number `index` (0-based) has arrived."""
        while len(self.sse_requests) <= index:
            self._sse_added.clear()
            await self._sse_added.wait()
        return self.sse_requests[index]

    # HTTP errors

    def _http_error(self, status: int, message: str) -> web.Response:
        body: dict[str, Any]
        match self.config.rest_error_shape:
            case "flat":
                body = {"error": message}
            case "typed":
                kind = _STATUS_TYPES.get(
                    status, "internal_server_error" if status >= 500 else "error"
                )
                body = {"error": {"message": message, "type": kind}}
        return web.json_response(body, status=status)

    def _auth_refusal(self, request: web.Request) -> web.Response | None:
        key = _bearer_key(request)
        if not self.config.key_ok(key):
            return self._http_error(
                401, "Missing API key" if not key else "Invalid API key"
            )
        return None

    def _rest_refusal(self, request: web.Request) -> web.Response | None:
        if (status := self.config.rest_status_override) is not None:
            return self._http_error(status, f"emulated HTTP {status}")
        return self._auth_refusal(request)

    # WebSocket

    async def _websocket_route(self, request: web.Request) -> web.StreamResponse:
        config = copy.copy(self.config)
        if not config.websocket_enabled:
            return self._http_error(404, "Not Found")
        if (status := config.ws_reject_status) is not None:
            return self._http_error(status, f"emulated HTTP {status}")
        if (refusal := self._auth_refusal(request)) is not None:
            return refusal
        idle_timeout = config.idle_timeout
        if "timeout" in request.query:
            try:
                idle_timeout = float(request.query["timeout"])
            except ValueError:
                idle_timeout = 0.0
            if not math.isfinite(idle_timeout) or idle_timeout <= 0:
                return self._http_error(400, "timeout must be a positive number")
        async with self.websocket(request) as ws:
            record = SmallestSessionRecord(path=request.path, idle_timeout=idle_timeout)
            async with self.recording(record):
                await _SmallestSession(request, ws, record, config).run()
        return ws

    # Server-Sent Events

    async def _sse_route(self, request: web.Request) -> web.StreamResponse:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        config = copy.copy(self.config)
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._http_error(400, "the body must be a JSON object")
        record = SmallestSseRecord(path=request.path, body=body)
        self.sse_requests.append(record)
        self._sse_added.set()
        task = asyncio.current_task()
        if task is not None:
            self._sse_tasks.add(task)
        try:
            return await self._serve_sse(request, record, config)
        finally:
            if task is not None:
                self._sse_tasks.discard(task)
            record.ended.set()

    async def _serve_sse(
        self,
        request: web.Request,
        record: SmallestSseRecord,
        config: SmallestEmulatorConfig,
    ) -> web.StreamResponse:
        try:
            params = _parse_request(record.body, config, honour_format=True)
        except _RequestError as err:
            record.error = err.message
            return self._http_error(400, err.message)
        if not params.text.strip():
            record.error = "text is required"
            return self._http_error(400, record.error)
        record.text_parts.append(params.text)
        record.voice = params.voice_id
        record.sample_rate = params.sample_rate
        record.output_format = params.output_format
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        if params.session_id is not None:
            headers["X-External-Session-Id"] = params.session_id
        if params.request_id is not None:
            headers["X-External-Request-Id"] = params.request_id
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        try:
            if await self._stream_sse(request, response, record, params, config):
                await response.write_eof()
        except ConnectionError:
            record.client_closed = True
        return response

    async def _stream_sse(
        self,
        request: web.Request,
        response: web.StreamResponse,
        record: SmallestSseRecord,
        params: _Request,
        config: SmallestEmulatorConfig,
    ) -> bool:
        """Send the events of one SSE request; False when a fault ended it."""
        nested = config.sse_shape == "nested"
        record.segments.append(params.text)
        async for piece in _audio_pieces(
            params.text,
            sample_rate=params.sample_rate,
            output_format=params.output_format,
            config=config,
            pacer=synth.Pacer(config.speed),
        ):
            sent = record.chunks_sent
            if (limit := config.error_after_chunks) is not None and sent >= limit:
                record.error = config.echoed(
                    INTERNAL_ERROR_MESSAGE, request_key(request)
                )
                body = error_body(config.error_shape, record.error, "internal_error")
                event = b"" if nested else b"event: error\n"
                await response.write(event + _sse_data(body))
                await response.write_eof()
                return False
            if (limit := config.drop_after_chunks) is not None and sent >= limit:
                if request.transport is not None:
                    request.transport.close()
                return False
            if (limit := config.stall_after_chunks) is not None and sent >= limit:
                await _until_gone(request)
                record.client_closed = True
                return False
            audio = _b64(piece.payload)
            if nested:
                event = _sse_data({"status": "chunk", "data": {"audio": audio}})
            else:
                event = b"event: audio\n" + _sse_data({"audio": audio})
            await response.write(event)
            record.chunks_sent += 1
            record.audio_bytes_sent += len(piece.payload)
        if nested:
            end = {"status": "complete", "message": COMPLETE_MESSAGE, "done": True}
        else:
            end = {"done": True}
        await response.write(_sse_data(end))
        return True

    # Voice listings

    async def _voices(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        model = request.match_info["model"]
        if model != VOICES_MODEL:
            return self._http_error(
                400, f"Invalid model '{model}'; expected {VOICES_MODEL}"
            )
        return web.json_response({"voices": self.config.voices})

    async def _catalog(self, request: web.Request) -> web.Response:
        if (refusal := self._rest_refusal(request)) is not None:
            return refusal
        return web.json_response(
            {"voices": [catalog_entry(voice) for voice in self.config.voices]}
        )


def _sse_data(body: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(body)}\n\n".encode()


async def _until_gone(request: web.Request) -> None:
    """Wait, sending nothing, until the client closes the connection."""
    # aiohttp offers no event for a peer that goes away (handlers are not
    # cancelled on disconnect), so the transport is polled.
    transport = request.transport
    while transport is not None and not transport.is_closing():  # noqa: ASYNC110 - no event to wait on
        await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class _Job:
    """Work for the speaking worker, in the order the frames arrived."""

    # "quiet": max_buffer_flush_ms passed without a frame.
    kind: Literal["request", "keepalive", "error", "quiet"]
    request: _Request | None = None
    error: _RequestError | None = None


class _SmallestSession:
    """One WebSocket connection: a reader (this task), a speaking worker and an idle watch."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        record: SmallestSessionRecord,
        config: SmallestEmulatorConfig,
    ) -> None:
        self.request = request
        self.ws = ws
        self.record = record
        self.config = config
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self.pacer = synth.Pacer(config.speed)
        # The request being buffered: its text, latest frame and server id.
        self.buffer = ""
        self.current: _Request | None = None
        self.request_id: str | None = None
        # Seconds of audio and words sent for the current request, for
        # word timestamps (they restart with every server request id).
        self.request_seconds = 0.0
        self.request_words = 0
        self.last_activity = self.loop.time()
        self.busy = False
        self.server_closing = False
        # The idle watch is closing the socket: let it finish.
        self.expiring = False

    async def run(self) -> None:
        worker = asyncio.create_task(self._guarded_work())
        watch = asyncio.create_task(self._watch_idle())
        shutdown = False
        try:
            await self._read()
        except asyncio.CancelledError:
            shutdown = True
            raise
        finally:
            if not self.server_closing and not shutdown:
                self.record.client_closed = True
            if shutdown or not self.expiring:
                watch.cancel()
            if shutdown or not self.server_closing:
                worker.cancel()
            else:
                # A close the server started: let the worker finish by itself.
                self.queue.put_nowait(None)
            await asyncio.gather(worker, watch, return_exceptions=True)

    # Reading

    async def _read(self) -> None:
        async for message in self.ws:
            self.last_activity = self.loop.time()
            if message.type is WSMsgType.TEXT:
                job = self._classify(message.data)
            elif message.type is WSMsgType.BINARY:
                job = _Job(
                    "error",
                    error=_RequestError("binary messages are not accepted; send JSON"),
                )
            else:  # ERROR: the connection is gone
                break
            self.queue.put_nowait(job)

    def _classify(self, data: str) -> _Job:
        """Parse, validate and record one frame as soon as it arrives."""
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return _Job("error", error=_RequestError("messages must be JSON objects"))
        record = self.record
        record.messages.append(message)
        if _is_keepalive(message):
            record.keepalives += 1
            return _Job("keepalive")
        try:
            request = _parse_request(
                message,
                self.config,
                honour_format=self.config.ws_output_format == "honour",
            )
        except _RequestError as err:
            return _Job("error", error=err)
        if request.text:
            record.text_parts.append(request.text)
        if request.flush:
            record.flushes += 1
        if not request.continue_:
            record.finished = True
        record.voice = request.voice_id
        record.model = request.model
        record.sample_rate = request.sample_rate
        record.speed = request.speed
        record.language = request.language
        return _Job("request", request=request)

    async def _watch_idle(self) -> None:
        """Close the socket once the client has been silent for the idle timeout.

        The clock does not run while the server is still working on what the
        client sent.
        """
        timeout = self.record.idle_timeout
        while True:
            remaining = self.last_activity + timeout - self.loop.time()
            if remaining > 0:
                await asyncio.sleep(remaining)
                continue
            if self.server_closing:
                return
            if self.busy:
                self.last_activity = self.loop.time()
                continue
            self.record.timed_out = True
            self.expiring = True
            await self._fail(
                f"Connection timed out after {timeout:g} seconds of inactivity",
                "timeout",
                close=True,
                with_request_id=False,
            )
            return

    # Speaking

    async def _guarded_work(self) -> None:
        try:
            await self._work()
        except ConnectionError:
            _LOGGER.debug("session %s: client went away", self.record.session_id)
        except Exception:
            _LOGGER.exception("session %s failed", self.record.session_id)
            self.server_closing = True
            await self.ws.close(code=WSCloseCode.INTERNAL_ERROR)

    async def _next_job(self) -> _Job | None:
        """Wait for the next frame; a quiet `max_buffer_flush_ms` flushes the buffer."""
        current = self.current
        if not self.buffer or current is None or current.max_buffer_flush_ms <= 0:
            return await self.queue.get()
        try:
            async with asyncio.timeout(current.max_buffer_flush_ms / 1000):
                return await self.queue.get()
        except TimeoutError:
            return _Job("quiet")

    async def _work(self) -> None:
        while True:
            job = await self._next_job()
            if job is None:
                return
            self.busy = True
            try:
                if not await self._handle(job):
                    return
            finally:
                self.busy = False
                self.last_activity = self.loop.time()

    async def _handle(self, job: _Job) -> bool:
        """Act on one job; False when the session is over."""
        match job.kind:
            case "keepalive":
                return True
            case "quiet":
                return await self._speak_buffer()
            case "error":
                assert job.error is not None
                return await self._refuse(job.error)
            case "request":
                assert job.request is not None
                return await self._handle_request(job.request)

    async def _refuse(self, error: _RequestError) -> bool:
        """Answer a refused frame; its request is dropped with everything buffered."""
        self.buffer = ""
        close = self.config.close_after_error
        await self._fail(error.message, error.code, close=close)
        self._end_request()
        return not close

    async def _handle_request(self, request: _Request) -> bool:
        self.current = request
        self.buffer += request.text
        ending = not request.continue_
        if not (ending or request.flush):
            return True
        spoke = bool(self.buffer)
        closing = ending and self.config.close_after_complete
        if closing:
            # Before the last `complete` goes out: a client that closes as
            # soon as it sees it did not close first.
            self.server_closing = True
        if not await self._speak_buffer():
            return False
        match self.config.completion:
            case "end":
                answer = ending
            case "every_flush":
                answer = True
            case "text_flush":
                answer = spoke
            case "sentence":
                answer = False  # already sent, one per sentence
        if answer:
            await self._complete()
        if closing:
            await self.ws.close(code=WSCloseCode.OK)
            return False
        if ending:
            self._end_request()
        return True

    def _current_request_id(self) -> str:
        if self.request_id is None:
            self.request_id = f"task_{uuid.uuid4()}"
            self.record.request_ids.append(self.request_id)
        return self.request_id

    def _end_request(self) -> None:
        self.request_id = None
        self.request_seconds = 0.0
        self.request_words = 0

    def _envelope(self, status: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "session_id": self.record.session_id,
            "request_id": self._current_request_id(),
        }
        current = self.current
        if current is not None and current.session_id is not None:
            body["external_session_id"] = current.session_id
        if current is not None and current.request_id is not None:
            body["external_request_id"] = current.request_id
        body["status"] = status
        return body

    async def _speak_buffer(self) -> bool:
        """Synthesise the buffer; False when a fault ended the session."""
        segment, self.buffer = self.buffer, ""
        if not segment or self.current is None:
            return True
        if self.config.completion != "sentence":
            return await self._speak(segment, self.current)
        for sentence in synth.sentences(segment):
            if not await self._speak(sentence, self.current):
                return False
            await self._complete()
        return True

    async def _speak(self, segment: str, request: _Request) -> bool:
        self.record.segments.append(segment)
        rate = request.sample_rate
        stamps = (
            request.word_timestamps
            and request.voice_id in self.config.word_timestamp_voices
        )
        # (word, first sample, last sample) on the grid of the audio.
        words = [
            (
                word,
                round(index * synth.SECONDS_PER_CHAR * rate),
                round((index + len(word)) * synth.SECONDS_PER_CHAR * rate),
            )
            for word, index in synth.words_with_offsets(segment)
        ]
        async for piece in _audio_pieces(
            segment,
            sample_rate=rate,
            output_format=request.output_format,
            config=self.config,
            pacer=self.pacer,
        ):
            if not await self._send_chunk(piece.payload):
                return False
            if stamps:
                for word, first, last in words:
                    if piece.first_sample <= first < piece.end_sample:
                        await self._send_word(word, first / rate, last / rate)
        self.request_seconds += synth.sample_count(segment, rate) / rate
        return True

    async def _send_chunk(self, payload: bytes) -> bool:
        config, record = self.config, self.record
        sent = record.chunks_sent
        if (limit := config.error_after_chunks) is not None and sent >= limit:
            await self._fail(INTERNAL_ERROR_MESSAGE, "internal_error", close=True)
            return False
        if (limit := config.drop_after_chunks) is not None and sent >= limit:
            self._drop()
            return False
        if (limit := config.stall_after_chunks) is not None and sent >= limit:
            _LOGGER.debug("session %s stalls", record.session_id)
            return False
        body = self._envelope("chunk")
        body["data"] = {"audio": _b64(payload)}
        await self._send_json(body)
        record.chunks_sent += 1
        record.audio_bytes_sent += len(payload)
        return True

    async def _send_word(self, word: str, start: float, end: float) -> None:
        body = self._envelope("word_timestamp")
        offset = self.request_seconds
        body["data"] = {
            "id": self.request_words,
            "word": word,
            "start": round(offset + start, 3),
            "end": round(offset + end, 3),
        }
        self.request_words += 1
        await self._send_json(body)

    async def _complete(self) -> None:
        current = self.current
        backoff = (
            current.complete_backoff_ms / 1000
            if current is not None and current.complete_backoff_ms is not None
            else self.config.complete_backoff
        )
        if backoff > 0:
            await asyncio.sleep(backoff)
        body = self._envelope("complete")
        body["message"] = COMPLETE_MESSAGE
        body["done"] = True
        await self._send_json(body)
        self.record.completes += 1
        self._end_request()

    # Replies

    async def _send_json(self, body: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(body))

    async def _fail(
        self, message: str, code: str, *, close: bool, with_request_id: bool = True
    ) -> None:
        """Send one error frame in the configured shape; maybe close after it."""
        message = self.config.echoed(message, request_key(self.request))
        record = self.record
        record.error = message
        record.errors.append(message)
        request_id = self._current_request_id() if with_request_id else None
        if close:
            self.server_closing = True
        try:
            await self._send_json(
                error_body(self.config.error_shape, message, code, request_id)
            )
        except ConnectionError:
            return
        if close:
            await self.ws.close(code=self.config.error_close_code)

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, like a crashed server."""
        self.server_closing = True
        transport = self.request.transport
        if transport is not None:
            transport.close()
