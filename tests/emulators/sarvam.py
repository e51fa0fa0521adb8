"""Local emulator of the Sarvam streaming text-to-speech API (Bulbul) and its voice list.

WebSocket sessions at ``/text-to-speech/ws`` (and ``/text-to-speech/ws/v2``, which
some clients use for bulbul:v4-flash) speak the JSON protocol of sarvamai 0.1.39: a
``config`` message first, then ``text``, ``flush`` and ``ping``. The server only ever
answers with ``audio``, ``event`` and ``error`` JSON messages: the SDK fails on any
other type and on binary frames. ``GET /voices`` lists the workspace's cloned voices.

Behaviour the public sources leave open is switchable in `SarvamEmulatorConfig`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
import contextlib
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
import json
import logging
from typing import Any, Final, Literal
import uuid

from aiohttp import WSCloseCode, WSMsgType, web

from . import synth
from .base import EmulatorConfig, EmulatorServer, request_key

_LOGGER = logging.getLogger(__name__)

STREAM_PATH: Final = "/text-to-speech/ws"
STREAM_PATH_V2: Final = "/text-to-speech/ws/v2"
VOICES_PATH: Final = "/voices"
SUBPROTOCOL_PREFIX: Final = "api-subscription-key."

MODELS: Final = ("bulbul:v2", "bulbul:v3", "bulbul:v3-beta", "bulbul:v4-flash")
DEFAULT_MODEL: Final = "bulbul:v3"
# Without a speaker the model's default voice speaks; v4-flash has none.
DEFAULT_SPEAKERS: Final = {
    "bulbul:v2": "anushka",
    "bulbul:v3": "shubh",
    "bulbul:v3-beta": "shubh",
}
# fmt: off
LANGUAGES: Final = frozenset({
    "bn-IN", "en-IN", "gu-IN", "hi-IN", "kn-IN", "ml-IN", "mr-IN", "od-IN", "pa-IN",
    "ta-IN", "te-IN",
})
# fmt: on
SAMPLE_RATES: Final = (8000, 16000, 22050, 24000)
# "pcm" is the documentation's name for linear16.
CODEC_ALIASES: Final = {"pcm": "linear16"}
CODECS: Final = frozenset({"mp3", "linear16", "wav"})
# Real Sarvam codecs this emulator cannot produce; refused with a clear message.
UNSUPPORTED_CODECS: Final = frozenset({"mulaw", "alaw", "opus", "flac", "aac"})
BITRATES_KBPS: Final = {"32k": 32, "64k": 64, "96k": 96, "128k": 128, "192k": 192}
PACE_RANGES: Final = {"bulbul:v2": (0.3, 3.0)}
DEFAULT_PACE_RANGE: Final = (0.5, 2.0)
MAX_TEXT_CHARS: Final = 2500
MAX_VOICES_LIMIT: Final = 200
DEFAULT_VOICES_LIMIT: Final = 50
COMPLETION_VALUES: Final = {"true": True, "True": True, "false": False, "False": False}
# The message Sarvam sends when a request body is not the expected JSON object.
INVALID_INPUT: Final = "Input parameters has to be a valid dictionary"

BadKeyStyle = Literal["handshake", "error_frame"]
ErrorCodeStyle = Literal["in_message", "code_field"]
# When the `final` event is sent (with send_completion_event=true): after
# every flush; after flushes that spoke something; once for flushes that came
# together (when nothing more is queued); after every sentence spoken.
FinalMode = Literal["every_flush", "text_flush", "coalesced", "per_chunk"]

_REST_CODES: Final = {
    400: "invalid_request_error",
    401: "invalid_api_key_error",
    403: "insufficient_quota_error",
    404: "not_found_error",
    422: "unprocessable_entity_error",
    429: "rate_limit_exceeded_error",
}

# fmt: off
_V3_SPEAKERS: Final = (
    "shubh", "aditya", "ritu", "priya", "neha", "rahul", "pooja", "rohan", "simran",
    "kavya", "amit", "dev", "ishita", "shreya", "ratan", "varun", "manan", "sumit",
    "roopa", "kabir", "aayan", "ashutosh", "advait", "anand", "tanya", "tarun",
    "sunny", "mani", "gokul", "vijay", "shruti", "suhani", "mohit", "kavitha",
    "rehan", "soham", "rupali",
)
_V2_SPEAKERS: Final = (
    "anushka", "manisha", "vidya", "arya", "abhilash", "karun", "hitesh",
)
# A slice of the 200+ persona catalogue (ids as listed by sarvamai 0.1.39).
_V4_FLASH_PERSONAS: Final = (
    "shubh_en_narration_gentle", "shubh_en_narration", "shubh_hi_customer",
    "shubh_hi_devotional", "simran_en_customer", "simran_hi_narration",
    "simran_enhi_customer", "ritu_hi_customer", "ritu_en_edtech",
    "ishita_en_customer", "anand_hi_news", "kavitha_te_narration",
    "gokul_ta_narration", "chaitra_kn_narration", "arnab_bn_conversation",
    "amelia_en_conversational",
)
# fmt: on


def _speaker(voice_id: str, models: Sequence[str]) -> dict[str, Any]:
    name = " ".join(word.capitalize() for word in voice_id.split("_"))
    return {"id": voice_id, "name": name, "models": list(models)}


def default_voices() -> list[dict[str, Any]]:
    """Return the built-in speakers with the models each one works with.

    Sarvam has no endpoint that lists them: they are a static catalogue.
    """
    return [
        *(_speaker(s, ("bulbul:v3", "bulbul:v3-beta")) for s in _V3_SPEAKERS),
        *(_speaker(s, ("bulbul:v2",)) for s in _V2_SPEAKERS),
        *(_speaker(s, ("bulbul:v4-flash",)) for s in _V4_FLASH_PERSONAS),
    ]


def default_cloned_voices() -> list[dict[str, Any]]:
    """Return the workspace's cloned voices, as ``GET /voices`` lists them."""
    return [
        {
            "id": "vc_5f2a9c7e41d84b0c",
            "name": "Meera Studio",
            "language": "hi-IN",
            "gender": "female",
            "accent": "north indian",
            "descriptor": "conversational",
            "status": "active",
            "source": "cloned",
            "created_by": "user_7c1e3b",
            "created_at": "2026-02-11T09:30:00Z",
            "has_preview": True,
        },
        {
            "id": "vc_0b9d3e6a27c14f85",
            "name": "Arjun Narrator",
            "language": "en-IN",
            "gender": "male",
            "accent": "south indian",
            "descriptor": "narration",
            "status": "active",
            "source": "cloned",
            "created_by": "user_7c1e3b",
            "created_at": "2026-01-20T16:05:00Z",
            "has_preview": False,
        },
    ]


def _request_id() -> str:
    # The shape Sarvam uses: the UTC date, an underscore, a UUID.
    return f"{datetime.now(UTC):%Y%m%d}_{uuid.uuid4()}"


@dataclass
class SarvamEmulatorConfig(EmulatorConfig):
    """Behaviour of a `SarvamEmulator` (see `EmulatorConfig` for the shared part).

    MP3 audio messages hold whole frames, so their length is `chunk_seconds`
    rounded to frames. The fault switches count audio messages.
    """

    # Built-in speakers: {"id", "name", "models": [...]}.
    voices: list[dict[str, Any]] = field(default_factory=default_voices)
    # Listed by GET /voices; active ones are accepted as speakers on any model.
    cloned_voices: list[dict[str, Any]] = field(default_factory=default_cloned_voices)
    # Models the server accepts (drop bulbul:v2 to act as if it were retired).
    models: tuple[str, ...] = MODELS
    default_model: str = DEFAULT_MODEL
    # Rate when the config has no speech_sample_rate: the SDK's docs say 22050,
    # the API docs and pipecat 24000.
    default_sample_rate: int = 24000
    # Close a connection after this many seconds without a client message
    # (while nothing is being spoken); the close code is not documented.
    idle_timeout: float = 60.0
    idle_close_code: int = WSCloseCode.OK
    # A bad key: HTTP 401 at the upgrade (what the SDK handles), or an
    # accepted upgrade followed by an error message and a close.
    bad_key_style: BadKeyStyle = "handshake"
    # UNKNOWN beyond "sent when the final audio chunk for the flushed text has
    # been produced": see `FinalMode`.
    final_mode: FinalMode = "every_flush"
    # 400-class errors: "400: <message>" (in_message) or {"message", "code": 400}.
    # Validation (422), auth (403) and internal (500) errors always carry `code`.
    error_code_style: ErrorCodeStyle = "in_message"
    # Whether the server closes after an error caused by a client message.
    # Auth, model and internal errors always end the session.
    close_after_error: bool = True
    error_close_code: int = WSCloseCode.OK
    # content_type of linear16 audio messages.
    pcm_content_type: str = "audio/wav"
    # linear16: start each synthesis with a 44-byte streaming WAV header.
    wav_chunk_header: bool = False
    # wav: a header in every audio message instead of once per synthesis.
    wav_header_per_chunk: bool = False
    # GET /voices is beta; False answers 404 as if it did not exist.
    voices_endpoint: bool = True


@dataclass
class SarvamSessionRecord:
    """What happened on one WebSocket connection."""

    path: str = ""
    query: dict[str, str] = field(default_factory=dict)
    # The query string as sent, percent-encoding included.
    raw_query: str = ""
    model: str | None = None
    completion_event: bool = False
    # Where the accepted key came from: "header" or "subprotocol".
    auth_source: str | None = None
    request_id: str = field(default_factory=_request_id)
    # The data of the last config message, and of all of them in order.
    config: dict[str, Any] | None = None
    configs: list[dict[str, Any]] = field(default_factory=list)
    # "language_code" (SDK 0.1.29+) or "target_language_code" (older clients).
    language_field: str | None = None
    # The speaker of the config in effect.
    voice: str | None = None
    # Every client JSON message, in order.
    messages: list[dict[str, Any]] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    # The texts actually spoken, one per synthesis.
    segments: list[str] = field(default_factory=list)
    flushes: int = 0
    keepalives: int = 0
    # Completion events sent (one per flush when enabled).
    events: int = 0
    # The protocol has no end-of-input message, so this stays False.
    finished: bool = False
    # The client closed (or vanished) before the server closed the session.
    client_closed: bool = False
    idle_closed: bool = False
    # The message of the first error sent, and of all of them.
    error: str | None = None
    errors: list[str] = field(default_factory=list)
    audio_bytes_sent: int = 0
    chunks_sent: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        """Return the concatenation of every text message's text, in order."""
        return "".join(self.text_parts)


class SarvamEmulator(EmulatorServer[SarvamEmulatorConfig, SarvamSessionRecord]):
    """Sarvam on loopback: the TTS WebSocket (both paths) and the voice list."""

    config_type = SarvamEmulatorConfig

    # The sub-protocol can carry the key, so the header is never logged.
    SECRET_HEADERS = EmulatorServer.SECRET_HEADERS | {"sec-websocket-protocol"}

    def setup_routes(self, app: web.Application) -> None:
        """Add the Sarvam routes."""
        app.router.add_get(STREAM_PATH, self._stream)
        app.router.add_get(STREAM_PATH_V2, self._stream)
        app.router.add_get(VOICES_PATH, self._voices)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        config = copy.copy(self.config)
        header_keys = request.headers.getall("api-subscription-key", [])
        protocol = _key_subprotocol(request)
        protocol_key = protocol.removeprefix(SUBPROTOCOL_PREFIX) if protocol else None
        auth_source: str | None = None
        if any(config.key_ok(key) for key in header_keys):
            auth_source = "header"
        elif config.key_ok(protocol_key):
            auth_source = "subprotocol"
        if auth_source is None and config.bad_key_style == "handshake":
            return _auth_refusal(bool(header_keys or protocol_key))
        # A client that offers a sub-protocol fails the handshake unless it is echoed.
        protocols = (protocol,) if protocol else ()
        async with self.websocket(request, protocols=protocols) as ws:
            record = SarvamSessionRecord(
                path=request.path,
                query=dict(request.query),
                raw_query=request.raw_path.partition("?")[2],
                auth_source=auth_source,
            )
            async with self.recording(record):
                await _SarvamSession(request, ws, record, config).run()
        return ws

    # REST

    def _rest_error(self, status: int, message: str) -> web.Response:
        code = _REST_CODES.get(
            status,
            "internal_server_error" if status >= 500 else "invalid_request_error",
        )
        return web.json_response(
            {"error": {"message": message, "code": code}}, status=status
        )

    async def _voices(self, request: web.Request) -> web.Response:
        config = self.config
        if (status := config.rest_status_override) is not None:
            return self._rest_error(status, f"emulated HTTP {status}")
        if not config.voices_endpoint:
            # What the API gateway answers for a route it does not know.
            return web.json_response({"detail": "Not Found"}, status=404)
        keys = request.headers.getall("api-subscription-key", [])
        if not any(config.key_ok(key) for key in keys):
            return _auth_refusal(bool(keys))
        query = request.query
        try:
            limit = int(query.get("limit", DEFAULT_VOICES_LIMIT))
            offset = int(query.get("offset", 0))
        except ValueError:
            return self._rest_error(422, "limit and offset must be integers")
        if not 1 <= limit <= MAX_VOICES_LIMIT or offset < 0:
            return self._rest_error(
                422, f"limit must be 1-{MAX_VOICES_LIMIT} and offset at least 0"
            )
        search = query.get("search", "").casefold()
        gender = query.get("gender", "").casefold()
        accent = query.get("accent", "").casefold()
        voices = [
            voice
            for voice in config.cloned_voices
            if voice.get("status") != "deleted"
            and search in str(voice.get("name", "")).casefold()
            and (not gender or str(voice.get("gender", "")).casefold() == gender)
            and (not accent or str(voice.get("accent", "")).casefold() == accent)
        ]
        # Newest first, as the API documents.
        voices.sort(key=lambda voice: str(voice.get("created_at", "")), reverse=True)
        page = voices[offset : offset + limit]
        # `total` counts the voices of this page (the SDK documents it so).
        return web.json_response(
            {"status": "success", "data": {"voices": page, "total": len(page)}}
        )


def _auth_refusal(key_given: bool) -> web.Response:
    message = "Invalid API key" if key_given else "Missing API key"
    return web.json_response(
        {"error": {"message": message, "code": "invalid_api_key_error"}}, status=401
    )


def _key_subprotocol(request: web.Request) -> str | None:
    """Return the offered ``api-subscription-key.<key>`` sub-protocol, if any."""
    for header in request.headers.getall("Sec-WebSocket-Protocol", []):
        for offered in header.split(","):
            protocol = offered.strip()
            if protocol.startswith(SUBPROTOCOL_PREFIX):
                return protocol
    return None


class _SessionError(Exception):
    """An error message for the client.

    `code_field` None follows the configured `error_code_style`.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code_field: bool | None = None,
        with_request_id: bool = True,
        closes: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code_field = code_field
        self.with_request_id = with_request_id
        # Ends the session whatever close_after_error says.
        self.closes = closes


def _invalid(message: str) -> _SessionError:
    return _SessionError(422, message, code_field=True)


@dataclass(frozen=True, slots=True)
class _Settings:
    """A validated config message."""

    model: str
    language: str
    speaker: str
    pace: float
    sample_rate: int
    codec: str
    kbps: int
    min_buffer_size: int
    max_chunk_length: int


@dataclass(frozen=True, slots=True)
class _Command:
    kind: Literal["config", "text", "flush", "error"]
    text: str = ""
    settings: _Settings | None = None
    error: _SessionError | None = None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive_int(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _invalid(f"{name} must be a positive integer, got {value!r}")
    return value


class _SarvamSession:
    """One WebSocket session: a reader (this task), a speaking worker, an idle watch."""

    def __init__(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        record: SarvamSessionRecord,
        config: SarvamEmulatorConfig,
    ) -> None:
        self.request = request
        self.ws = ws
        self.record = record
        self.config = config
        # The model of the latest valid config, as the reader sees it.
        self.model = config.default_model
        self.completion_event = False
        # Spoke since the last final ("coalesced" mode).
        self.unanswered = False
        self.queue: asyncio.Queue[_Command] = asyncio.Queue()
        # Whether a valid config has been read (text and flush need one).
        self.configured = False
        # The config in effect for the worker.
        self.settings: _Settings | None = None
        self.buffer = ""
        self.encoder: synth.Mp3StreamEncoder | None = None
        self.pacer = synth.Pacer(config.speed)
        self.loop = asyncio.get_running_loop()
        self.last_activity = self.loop.time()
        # The worker is handling a command; the idle timer waits meanwhile.
        self.busy = False
        self.server_closing = False
        # The task that closes the socket must be allowed to finish the close.
        self.closer: asyncio.Task[Any] | None = None

    async def run(self) -> None:
        try:
            self._start()
        except _SessionError as err:
            await self._fail(err)
            return
        tasks = [
            asyncio.create_task(self._guarded_work()),
            asyncio.create_task(self._watch_idle()),
        ]
        shutdown = False
        try:
            await self._read()
        except asyncio.CancelledError:
            shutdown = True
            raise
        finally:
            if not self.server_closing and not shutdown:
                self.record.client_closed = True
            for task in tasks:
                if shutdown or task is not self.closer:
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _start(self) -> None:
        """Check the key and the query string of the upgrade."""
        record = self.record
        if record.auth_source is None:
            # Only reached with bad_key_style "error_frame".
            raise _SessionError(
                403,
                "Invalid API subscription key",
                code_field=True,
                with_request_id=False,
                closes=True,
            )
        model = record.query.get("model", self.config.default_model)
        record.model = model
        if model not in self.config.models:
            raise _SessionError(
                400,
                f"Invalid model '{model}'. Supported models: {', '.join(self.config.models)}",
                closes=True,
            )
        self.model = model
        completion = record.query.get("send_completion_event", "false")
        if completion not in COMPLETION_VALUES:
            raise _SessionError(
                422,
                f"send_completion_event must be true or false, got {completion!r}",
                code_field=True,
                closes=True,
            )
        self.completion_event = record.completion_event = COMPLETION_VALUES[completion]

    # Reading

    async def _read(self) -> None:
        async for message in self.ws:
            self.last_activity = self.loop.time()
            if message.type is WSMsgType.TEXT:
                command = self._parse(message.data)
            elif message.type is WSMsgType.BINARY:
                command = _Command(
                    "error", error=_invalid("binary messages are not accepted")
                )
            else:  # ERROR: the connection is gone
                break
            if command is not None:
                self.queue.put_nowait(command)

    def _parse(self, data: str) -> _Command | None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return _Command("error", error=_invalid(INVALID_INPUT))
        self.record.messages.append(message)
        kind = message.get("type")
        try:
            match kind:
                case "config":
                    return self._config(message.get("data"))
                case "text":
                    return self._text(message.get("data"))
                case "flush":
                    self.record.flushes += 1
                    self._require_config("flush")
                    return _Command("flush")
                case "ping":
                    # Only keeps the connection alive: any reply would break
                    # the SDK, which parses every message as audio/event/error.
                    self.record.keepalives += 1
                    return None
                case _:
                    raise _invalid(f"Unknown message type {kind!r}")
        except _SessionError as err:
            return _Command("error", error=err)

    def _require_config(self, kind: str) -> None:
        if not self.configured:
            raise _SessionError(
                400, f"Send a config message before the first {kind} message"
            )

    def _config(self, data: object) -> _Command:
        if not isinstance(data, dict):
            raise _invalid(INVALID_INPUT)
        self.record.config = data
        self.record.configs.append(data)
        settings = self._validate(data)
        self.configured = True
        # Later configs without a model keep this one.
        self.model = settings.model
        if "language_code" in data:
            self.record.language_field = "language_code"
        else:
            self.record.language_field = "target_language_code"
        return _Command("config", settings=settings)

    def _text(self, data: object) -> _Command:
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise _invalid(INVALID_INPUT)
        self._require_config("text")
        text: str = data["text"]
        if len(text) > MAX_TEXT_CHARS:
            raise _invalid(
                f"Text must be at most {MAX_TEXT_CHARS} characters, got {len(text)}"
            )
        if text:
            self.record.text_parts.append(text)
        return _Command("text", text=text)

    def _validate(self, data: dict[str, Any]) -> _Settings:
        """Check a config message against its model; return what it asks for."""
        model = data.get("model") or self.model
        if model not in self.config.models:
            raise _SessionError(400, f"Invalid model '{model}'")
        language = data.get("language_code", data.get("target_language_code"))
        if language is None:
            raise _invalid("language_code is required")
        if language not in LANGUAGES:
            raise _invalid(
                f"language_code must be one of {', '.join(sorted(LANGUAGES))}, got {language!r}"
            )
        speaker = data.get("speaker")
        if speaker is None:
            speaker = DEFAULT_SPEAKERS.get(model)
            if speaker is None:
                raise _SessionError(400, f"A speaker is required for model {model}")
        if not isinstance(speaker, str) or not self._speaker_ok(speaker, model):
            raise _SessionError(
                400, f"Speaker '{speaker}' is not compatible with model {model}"
            )
        pace = data.get("pace")
        low, high = PACE_RANGES.get(model, DEFAULT_PACE_RANGE)
        if pace is None:
            pace = 1.0
        elif not _is_number(pace) or not low <= pace <= high:
            raise _invalid(f"pace must be between {low} and {high} for {model}")
        # Accepted on every model and ignored where unsupported (pitch and
        # loudness on v3, temperature on v2); the docs' own example uses
        # pitch 0.8, outside the documented range, so ranges are not checked.
        for name in ("pitch", "loudness", "temperature"):
            if data.get(name) is not None and not _is_number(data[name]):
                raise _invalid(f"{name} must be a number")
        preprocessing = data.get("enable_preprocessing")
        if preprocessing is not None and not isinstance(preprocessing, bool):
            raise _invalid("enable_preprocessing must be a boolean")
        if data.get("dict_id") is not None and not isinstance(data["dict_id"], str):
            raise _invalid("dict_id must be a string or null")
        return _Settings(
            model=model,
            language=language,
            speaker=speaker,
            pace=float(pace),
            sample_rate=self._sample_rate(data.get("speech_sample_rate")),
            codec=self._codec(data.get("output_audio_codec")),
            kbps=self._bitrate(data.get("output_audio_bitrate")),
            min_buffer_size=_positive_int(data, "min_buffer_size", 50),
            max_chunk_length=_positive_int(data, "max_chunk_length", 150),
        )

    def _speaker_ok(self, speaker: str, model: str) -> bool:
        if any(
            voice.get("id") == speaker and voice.get("status") != "deleted"
            for voice in self.config.cloned_voices
        ):
            return True
        return any(
            voice.get("id") == speaker and model in voice.get("models", ())
            for voice in self.config.voices
        )

    def _sample_rate(self, value: object) -> int:
        if value is None:
            return self.config.default_sample_rate
        rate = 0
        # pipecat sends the rate as a string.
        if isinstance(value, int | str) and not isinstance(value, bool):
            with contextlib.suppress(ValueError):
                rate = int(value)
        if rate not in SAMPLE_RATES:
            raise _invalid(
                f"speech_sample_rate must be one of {list(SAMPLE_RATES)}, got {value!r}"
            )
        return rate

    @staticmethod
    def _codec(value: object) -> str:
        if value is None:
            return "mp3"
        codec = CODEC_ALIASES.get(str(value), str(value))
        if codec in UNSUPPORTED_CODECS:
            raise _SessionError(
                400, f"output_audio_codec '{codec}' is not supported by this emulator"
            )
        if codec not in CODECS:
            raise _invalid(f"Invalid output_audio_codec {value!r}")
        return codec

    @staticmethod
    def _bitrate(value: object) -> int:
        if value is None:
            return BITRATES_KBPS["128k"]
        if not isinstance(value, str) or value not in BITRATES_KBPS:
            raise _invalid(
                f"output_audio_bitrate must be one of {', '.join(BITRATES_KBPS)}, got {value!r}"
            )
        return BITRATES_KBPS[value]

    # Idle timeout

    async def _watch_idle(self) -> None:
        timeout = self.config.idle_timeout
        while True:
            delay = self.last_activity + timeout - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif self.busy:
                # The worker marks activity when it is done.
                await asyncio.sleep(timeout)
            else:
                break
        _LOGGER.debug("session %s: idle timeout", self.record.request_id)
        self.record.idle_closed = True
        await self._close(self.config.idle_close_code, b"idle timeout")

    # Speaking

    async def _guarded_work(self) -> None:
        try:
            await self._work()
        except ConnectionError:
            _LOGGER.debug("session %s: client went away", self.record.request_id)
        except Exception:
            _LOGGER.exception("session %s failed", self.record.request_id)
            await self._close(WSCloseCode.INTERNAL_ERROR)

    async def _work(self) -> None:
        while True:
            command = await self.queue.get()
            self.busy = True
            try:
                if not await self._handle(command):
                    return
            finally:
                self.busy = False
                self.last_activity = self.loop.time()

    async def _handle(self, command: _Command) -> bool:
        """Carry out one command; False when the session is over for the worker."""
        match command.kind:
            case "config":
                assert command.settings is not None
                # A new config speaks what the old one buffered first.
                if self.settings is not None and not await self._speak_buffer():
                    return False
                self._apply(command.settings)
            case "text":
                self.buffer += command.text
                return await self._auto_speak()
            case "flush":
                spoke = bool(self.buffer)
                if not await self._speak_buffer():
                    return False
                self.unanswered = self.unanswered or spoke
                if self.completion_event and self._final_due(spoke=spoke):
                    await self._send_event()
            case "error":
                assert command.error is not None
                return await self._fail(command.error)
        return True

    def _final_due(self, *, spoke: bool) -> bool:
        match self.config.final_mode:
            case "every_flush":
                return True
            case "text_flush":
                return spoke
            case "coalesced":
                due = self.unanswered and self.queue.empty()
                self.unanswered = self.unanswered and not due
                return due
            case "per_chunk":
                return False  # sent while speaking, one per sentence

    def _apply(self, settings: _Settings) -> None:
        self.settings = settings
        self.record.model = settings.model
        self.record.voice = settings.speaker
        self.encoder = (
            synth.Mp3StreamEncoder(settings.sample_rate, settings.kbps)
            if settings.codec == "mp3"
            else None
        )

    async def _auto_speak(self) -> bool:
        assert self.settings is not None
        if len(self.buffer) < self.settings.min_buffer_size:
            return True
        boundary = max(
            (i for i, char in enumerate(self.buffer) if char.isspace()), default=-1
        )
        if boundary <= 0:
            return True
        segment, self.buffer = self.buffer[: boundary + 1], self.buffer[boundary + 1 :]
        return await self._speak(segment)

    async def _speak_buffer(self) -> bool:
        segment, self.buffer = self.buffer, ""
        if not (self.completion_event and self.config.final_mode == "per_chunk"):
            return await self._speak(segment)
        for sentence in synth.sentences(segment):
            if not await self._speak(sentence):
                return False
            await self._send_event()
        return True

    async def _speak(self, segment: str) -> bool:
        """Send the audio of `segment`; False when a fault ended the session."""
        settings = self.settings
        assert settings is not None
        if not segment:
            return True
        if self.config.first_audio_latency > 0:
            await asyncio.sleep(self.config.first_audio_latency)
        self.record.segments.append(segment)
        rate = settings.sample_rate
        pcm = synth.synthesize_pcm(segment, rate)
        self.pacer.restart()
        pieces = synth.chunk_pcm(pcm, rate, self.config.chunk_seconds)
        header = self._wav_header(settings)
        unsent = 0.0  # seconds of audio encoded but not yet sent
        for index, piece in enumerate(pieces):
            unsent += len(piece) / 2 / rate
            payload = piece
            if self.encoder is not None:
                payload = self.encoder.encode(piece)
                if index == len(pieces) - 1:
                    payload += self.encoder.flush()
                if not payload:
                    # The MP3 encoder is still filling a frame: no time passes on
                    # the wire, so the first audio comes right after the latency.
                    continue
            payload = header + payload
            if not (settings.codec == "wav" and self.config.wav_header_per_chunk):
                header = b""
            await self.pacer.wait(unsent)
            unsent = 0.0
            if not await self._send_audio(payload, settings):
                return False
        return True

    def _wav_header(self, settings: _Settings) -> bytes:
        if settings.codec == "wav" or (
            settings.codec == "linear16" and self.config.wav_chunk_header
        ):
            return synth.wav_header(settings.sample_rate)
        return b""

    def _content_type(self, settings: _Settings) -> str:
        match settings.codec:
            case "mp3":
                return "audio/mp3"
            case "linear16":
                return self.config.pcm_content_type
            case _:
                return "audio/wav"

    async def _send_audio(self, payload: bytes, settings: _Settings) -> bool:
        config, record = self.config, self.record
        sent = record.chunks_sent
        if config.error_after_chunks is not None and sent >= config.error_after_chunks:
            await self._fail(
                _SessionError(
                    500, "Internal Server Error", code_field=True, closes=True
                ),
                close_code=WSCloseCode.INTERNAL_ERROR,
            )
            return False
        if config.drop_after_chunks is not None and sent >= config.drop_after_chunks:
            self._drop()
            return False
        if config.stall_after_chunks is not None and sent >= config.stall_after_chunks:
            _LOGGER.debug("session %s stalls", record.request_id)
            return False
        await self._send_json(
            {
                "type": "audio",
                "data": {
                    "content_type": self._content_type(settings),
                    "audio": base64.b64encode(payload).decode("ascii"),
                    "request_id": record.request_id,
                },
            }
        )
        record.chunks_sent += 1
        record.audio_bytes_sent += len(payload)
        self.last_activity = self.loop.time()
        return True

    # Replies

    async def _send_json(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def _send_event(self) -> None:
        await self._send_json(
            {
                "type": "event",
                "data": {
                    "event_type": "final",
                    "message": "Audio generation completed for the flushed text",
                    "timestamp": datetime.now(UTC).isoformat(),
                },
            }
        )
        self.record.events += 1

    async def _fail(self, err: _SessionError, *, close_code: int | None = None) -> bool:
        """Send one error message; close unless the session carries on.

        Return whether the session carries on.
        """
        record = self.record
        code_field = err.code_field
        if code_field is None:
            code_field = self.config.error_code_style == "code_field"
        message = self.config.echoed(err.message, request_key(self.request))
        data: dict[str, Any] = {
            "message": message if code_field else f"{err.status}: {message}"
        }
        if code_field:
            data["code"] = err.status
        if err.with_request_id:
            data["request_id"] = record.request_id
        if record.error is None:
            record.error = data["message"]
        record.errors.append(data["message"])
        try:
            await self._send_json({"type": "error", "data": data})
        except ConnectionError:
            return False
        if not err.closes and not self.config.close_after_error:
            return True
        await self._close(
            self.config.error_close_code if close_code is None else close_code
        )
        return False

    async def _close(self, code: int, message: bytes = b"") -> None:
        if self.server_closing:
            return
        self.server_closing = True
        self.closer = asyncio.current_task()
        await self.ws.close(code=code, message=message)

    def _drop(self) -> None:
        """Close the TCP connection without a close frame, like a crashed server."""
        self.server_closing = True
        transport = self.request.transport
        if transport is not None:
            transport.close()
