"""The streaming lifecycle every provider shares.

A provider module describes its wire protocol with a :class:`WireProtocol`
(URLs, headers, how text, flush and finish are spelled, how server messages
read); everything else lives here, once:

* connecting, with a deadline, and mapping handshake failures to our errors;
* the text pump: raw text deltas -> cleaner -> word-safe fragments -> provider,
  with a flush at every sentence end and a finish at the end of the text;
* the audio pump: provider messages -> audio bytes, yielded as they arrive;
* deadlines on every network wait, and closing the connection (and ending the
  text pump) on success, error and cancellation alike.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Mapping,
)
import contextlib
import json
import logging
from typing import Any, ClassVar, Final, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from .audio import AudioClock, streaming_wav_header
from .errors import (
    SpeechConnectionError,
    SpeechError,
    SpeechNoTextError,
    SpeechProtocolError,
    SpeechRequestError,
    SpeechTimeoutError,
    error_detail,
    http_status_error,
    redact,
)
from .events import (
    AudioChunk,
    Completion,
    FlushDone,
    JSONMessage,
    ProviderEvent,
    StreamDone,
)
from .http_stream import HttpStreamProtocol, stream_over_http
from .models import (
    AudioEncoding,
    AudioFormat,
    Deadlines,
    FlushPolicy,
    ProviderOption,
    SynthesisOptions,
    Voice,
)
from .text import TextFragment, text_fragments

_LOGGER = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
# Assumed flush -> first audio before the provider has shown its own.
INITIAL_LATENCY: Final = 0.5
# Shortest silence after the last expected answer that ends the stream.
MIN_SETTLE: Final = 0.15
# 1000 is a normal close; 1005 means the close frame carried no code at all.
NORMAL_CLOSE_CODES: Final = frozenset({1000, 1005})
_ENDINGS: Final = frozenset(
    {aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR}
)
#: The key of the speed setting (SynthesisOptions.speed).
SPEED: Final = "speed"
#: The key of the PCM sample rate setting (SynthesisOptions.audio_format).
SAMPLE_RATE: Final = "sample_rate"


class WireProtocol(ABC):
    """How one provider spells a streaming synthesis on its WebSocket."""

    #: The provider's name, used in error messages.
    provider: str
    #: Longest text one message may carry, or None.
    max_text_chars: int | None = None
    #: Whether every flush is answered (FlushDone). Without answers, a flush
    #: only owes its first audio, and the end is what proves completeness.
    acks_flushes: bool = True
    #: Whether each request to speak (a flush, or a finish that speaks the
    #: rest) is answered by one FlushDone or Completion. Then, once the text
    #: has ended, as many answers as requests mean all audio was sent; without
    #: it, only the close or a silence after a Completion tells.
    counts_answers: bool = True
    #: Seconds without sending anything after which keepalive() is sent, for
    #: providers that close a connection that stays quiet while a writer thinks.
    keepalive_interval: float | None = None

    @abstractmethod
    def url(self) -> str:
        """Return the WebSocket URL to connect to."""

    def headers(self) -> Mapping[str, str]:
        """Return the headers of the WebSocket upgrade request."""
        return {}

    @abstractmethod
    def open(self) -> list[JSONMessage]:
        """Return the messages sent right after connecting (init, config...)."""

    @abstractmethod
    def text(self, text: str) -> list[JSONMessage]:
        """Return the messages that append text."""

    @abstractmethod
    def flush(self) -> list[JSONMessage]:
        """Return the messages that make the provider speak what it has now."""

    def text_and_flush(self, text: str) -> list[JSONMessage]:
        """Return the messages that append text and ask for speech at once."""
        return self.text(text) + self.flush()

    @abstractmethod
    def finish(self, *, unflushed: bool) -> list[JSONMessage]:
        """Return the messages that say the text has ended.

        With ``unflushed``, words were sent since the last flush: the messages
        must have them spoken as one more request, answered like a flush.
        Without, nothing is left to speak, so no empty flush may be sent.
        """

    def keepalive(self) -> list[JSONMessage]:
        """Return the messages that keep an idle connection open."""
        return []

    def abandon(self) -> list[JSONMessage]:
        """Return the messages that stop work on a stream nobody listens to any more."""
        return []

    def fallback(self, error: SpeechError) -> HttpStreamProtocol | None:
        """Return how to speak over HTTP when the WebSocket refused with ``error``."""
        return None

    @abstractmethod
    def on_text(self, message: JSONMessage) -> Iterable[ProviderEvent]:
        """Read one JSON message from the provider; raise a SpeechError for errors."""

    def on_binary(self, data: bytes) -> Iterable[ProviderEvent]:
        """Read one binary message from the provider."""
        raise SpeechProtocolError(
            f"{self.provider} sent an unexpected binary message", provider=self.provider
        )

    def on_close(self, *, finished: bool, code: int) -> Iterable[ProviderEvent]:
        """Read the provider closing the connection with a close frame.

        By default a normal close after the end of the text means all audio
        was sent; any other close is a broken stream (unless every request
        had been answered: the engine decides that before asking).
        """
        if finished and code in NORMAL_CLOSE_CODES:
            return (StreamDone(),)
        raise SpeechConnectionError(
            f"{self.provider} closed the connection (code {code}) before the "
            "speech was complete",
            provider=self.provider,
        )

    def handshake_error(self, status: int) -> SpeechError:
        """Map an HTTP status refusing the WebSocket upgrade to an error."""
        return http_status_error(self.provider, status, "")


def bearer(api_key: str) -> dict[str, str]:
    """Return the Authorization header most providers authenticate with."""
    return {"Authorization": f"Bearer {api_key}"}


def websocket_url(base_url: str, path: str) -> str:
    """Derive a ws(s) URL from an http(s) API root."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path + path, "", ""))


def check_base_url(base_url: str) -> str:
    """Return the API root without a trailing slash, or raise for an unsafe one.

    Keys travel to this URL, so only TLS is allowed, except on this machine
    (local emulators and development proxies).
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the API URL must start with https://")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError("the API URL must use https:// unless the host is loopback")
    if parts.query or parts.fragment:
        raise ValueError("the API URL must not have a query or fragment")
    return base_url.strip().rstrip("/")


class _Timeline:
    """What the provider owes, what the player has queued, and the deadlines.

    A deadline runs only while audio is owed (a flush or the finish was sent and
    not yet answered): waiting for the writer's next sentence is not a fault.
    The audio received so far tells until when a player that started at the
    first byte stays busy, which the flush policy uses to avoid silences.

    The end of an answer: a provider's own end message (StreamDone) or a
    normal close after the finish end it at once. A Completion or FlushDone
    after the finish may be the last answer or not (providers differ in how
    many they send), so it ends the answer only once a short silence follows
    it; the silence waited for is short when every request has been answered
    and longer when fewer answers than requests came. Audio cancels it.
    """

    def __init__(
        self,
        deadlines: Deadlines,
        audio_format: AudioFormat,
        *,
        acks_flushes: bool,
        counts_answers: bool = True,
    ) -> None:
        self._deadlines = deadlines
        self._acks_flushes = acks_flushes
        self._counts_answers = counts_answers
        self._loop = asyncio.get_running_loop()
        self.pending_flushes = 0
        # A flush that is never answered owes at least its first audio.
        self.awaiting_audio = False
        self.finished = False
        self.requests = 0  # flushes, and a finish that speaks the rest
        self.answers = 0  # FlushDone and Completion events
        self.deadline: float | None = None
        # When a silence after a possibly last answer ends the stream.
        self.quiet_end: float | None = None
        self.timeout: asyncio.Timeout | None = None
        self.clock = AudioClock(audio_format)
        self.first_audio_at: float | None = None
        self.observed_latency: float | None = None  # flush -> first audio
        self._flush_sent_at: float | None = None
        self.changed = asyncio.Event()  # a flush was answered

    @property
    def owed(self) -> bool:
        return self.pending_flushes > 0 or self.finished or self.awaiting_audio

    def asked(self, *, finish: bool = False, speaks: bool = True) -> None:
        """Note that a flush or the finish (speaking the rest or not) was sent."""
        now = self._loop.time()
        if not self.owed and speaks:
            self._flush_sent_at = now  # an idle provider: its answer shows its latency
        if speaks:
            self.requests += 1
            if self._acks_flushes:
                self.pending_flushes += 1
            else:
                self.awaiting_audio = True
        if finish:
            self.finished = True
            if self.all_answered:
                # Everything was answered before the end: nothing more will come.
                self.quiet_end = now + self._settle()
        if self.deadline is None:
            self._set(now + self._deadlines.first_audio)
        else:
            self._set(self.deadline)

    def heard(self, event: ProviderEvent) -> None:
        """Note that the provider sent something."""
        now = self._loop.time()
        if isinstance(event, AudioChunk) and event.data:
            self.clock.feed(event.data)
            self.quiet_end = None
            if self.first_audio_at is None:
                self.first_audio_at = now
            if self._flush_sent_at is not None:
                latency = now - self._flush_sent_at
                self.observed_latency = max(self.observed_latency or 0.0, latency)
                self._flush_sent_at = None
            if self.awaiting_audio:
                self.awaiting_audio = False
                self.changed.set()
        elif isinstance(event, (FlushDone, Completion)):
            self.answers += 1
            if isinstance(event, FlushDone) and self._acks_flushes:
                self.pending_flushes = max(0, self.pending_flushes - 1)
                self.changed.set()
            if self.finished:
                self.quiet_end = now + self._settle()
        self._set(now + self._deadlines.chunk_gap if self.owed else None)

    @property
    def all_answered(self) -> bool:
        """Return whether the text has ended and every request was answered."""
        return (
            self._counts_answers
            and self.finished
            and self.requests > 0
            and self.answers >= self.requests
        )

    def _settle(self) -> float:
        """Return how long a silence after an answer proves it was the last.

        Twice the provider's latency covers a next sentence that was already
        queued; the longer wait covers answers that come once per sentence or
        once at the end, whichever the provider does.
        """
        latency = self.latency
        if self.all_answered:
            settle = max(MIN_SETTLE, 2 * latency)
        else:
            settle = max(self._deadlines.settle, 3 * latency)
        return min(settle, self._deadlines.chunk_gap)

    @property
    def latency(self) -> float:
        """Return how long the provider takes from a flush to its first audio."""
        return (
            INITIAL_LATENCY if self.observed_latency is None else self.observed_latency
        )

    def playing_until(self) -> float | None:
        """Return when a player that started at the first byte runs out, if known."""
        if self.first_audio_at is None or self.pending_flushes or self.awaiting_audio:
            return None  # nothing playing yet, or more audio is on its way
        return self.first_audio_at + self.clock.seconds

    @property
    def wake_at(self) -> float | None:
        """Return the next moment the audio side must act: a deadline or the end."""
        moments = [m for m in (self.deadline, self.quiet_end) if m is not None]
        return min(moments) if moments else None

    def _set(self, deadline: float | None) -> None:
        self.deadline = deadline
        if self.timeout is not None:
            self.timeout.reschedule(self.wake_at)


class _TextPump:
    """Sends the text as it is written, in whole words, and asks for speech.

    A flush goes at every sentence end, and as the client's flush policy says:
    the first few words at once, and more words whenever the player would
    otherwise run out of audio. The pump wakes for new text, for a flush or a
    keep-alive that falls due, and when the provider has answered a flush.
    """

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        timeline: _Timeline,
        policy: FlushPolicy,
        send_deadline: float,
    ) -> None:
        self._ws = ws
        self._protocol = protocol
        self._timeline = timeline
        self._policy = policy
        self._send_deadline = send_deadline
        self._loop = asyncio.get_running_loop()
        self._sent = 0  # characters sent
        self._unflushed = 0  # characters sent since the last flush
        self._first_text_at: float | None = None
        self._last_sent_at = self._loop.time()  # the connection was just set up

    async def run(self, text: AsyncIterable[str]) -> None:
        """Pump until the text ends, then send the finish."""
        fragments = text_fragments(text, max_chars=self._protocol.max_text_chars)
        upcoming: asyncio.Future[TextFragment | None] | None = None
        answered: asyncio.Future[Literal[True]] | None = None
        try:
            while True:
                if upcoming is None:
                    upcoming = asyncio.ensure_future(anext(fragments, None))
                if answered is None:
                    self._timeline.changed.clear()
                    answered = asyncio.ensure_future(self._timeline.changed.wait())
                await asyncio.wait(
                    (upcoming, answered),
                    timeout=self._wait(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if answered.done():
                    answered = None
                if not upcoming.done():
                    await self._flush_if_due()
                    await self._keepalive_if_due()
                    continue
                fragment, upcoming = upcoming.result(), None
                if fragment is None:
                    break
                await self._send_fragment(fragment)
            await self._finish()
        finally:
            for waiting in (upcoming, answered):
                if waiting is not None and not waiting.done():
                    waiting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiting
            await fragments.aclose()

    def _due(self) -> float | None:
        """Return when the words sent but not flushed must be flushed, if ever.

        A refill waits for a few words (a one-word segment sounds choppy)
        unless waiting longer would leave the player silent.
        """
        if not self._unflushed or self._first_text_at is None:
            return None
        if self._sent == self._unflushed:  # nothing flushed yet
            return self._first_text_at + self._policy.first_wait
        margin = self._policy.refill_margin
        if margin is None or (until := self._timeline.playing_until()) is None:
            return None
        last_moment = until - self._timeline.latency
        enough = self._unflushed >= (self._policy.first_chars or 0)
        return last_moment - margin if enough else last_moment

    def _keepalive_due(self) -> float | None:
        interval = self._protocol.keepalive_interval
        return None if interval is None else self._last_sent_at + interval

    def _wait(self) -> float | None:
        dues = [due for due in (self._due(), self._keepalive_due()) if due is not None]
        return max(0.0, min(dues) - self._loop.time()) if dues else None

    async def _send_fragment(self, fragment: TextFragment) -> None:
        if self._first_text_at is None:
            self._first_text_at = self._loop.time()
        first_chars = self._policy.first_chars
        sent = self._sent + len(fragment.text)
        first_words_ready = (
            first_chars is not None
            and self._sent == self._unflushed
            and sent >= first_chars
        )
        self._sent = sent
        self._unflushed += len(fragment.text)
        if fragment.sentence_end or first_words_ready:
            self._asked()
            await self._send(self._protocol.text_and_flush(fragment.text))
        else:
            await self._send(self._protocol.text(fragment.text))
            await self._flush_if_due()

    async def _send(self, messages: list[JSONMessage]) -> None:
        if not messages:
            return
        async with asyncio.timeout(self._send_deadline):
            for message in messages:
                await self._ws.send_str(json.dumps(message))
        self._last_sent_at = self._loop.time()

    async def _keepalive_if_due(self) -> None:
        due = self._keepalive_due()
        if due is not None and self._loop.time() >= due:
            await self._send(self._protocol.keepalive())

    async def _flush_if_due(self) -> None:
        due = self._due()
        if due is not None and self._loop.time() >= due:
            await self._flush()

    def _asked(self) -> None:
        # Marked before sending: a fast provider may answer first.
        self._timeline.asked()
        self._unflushed = 0

    async def _flush(self) -> None:
        self._asked()
        await self._send(self._protocol.flush())

    async def _finish(self) -> None:
        if not self._sent:
            raise SpeechNoTextError(
                "there is no text to speak (empty, or only markup and emoji)",
                provider=self._protocol.provider,
            )
        # Marked before sending: the provider may close before send returns.
        unflushed = self._unflushed > 0
        self._timeline.asked(finish=True, speaks=unflushed)
        self._unflushed = 0
        await self._send(self._protocol.finish(unflushed=unflushed))


class StreamingClient(ABC):
    """Shared plumbing of every provider client: REST calls and streaming synthesis.

    Subclasses declare what their provider can do in the class attributes.
    """

    provider: ClassVar[str]
    default_base_url: ClassVar[str]
    #: The provider's own language codes.
    languages: ClassVar[tuple[str, ...]]
    #: Rates raw PCM can be streamed at, the preferred one first.
    pcm_sample_rates: ClassVar[tuple[int, ...]]
    mp3_sample_rate: ClassVar[int]
    #: The encodings the provider streams reliably.
    encodings: ClassVar[frozenset[AudioEncoding]] = frozenset(AudioEncoding)
    #: The settings users may choose: SPEED is SynthesisOptions.speed,
    #: SAMPLE_RATE the rate of PCM audio_format, the others travel in
    #: SynthesisOptions.extra.
    options: ClassVar[tuple[ProviderOption, ...]] = ()

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str | None = None,
        deadlines: Deadlines | None = None,
        flush_policy: FlushPolicy | None = None,
    ) -> None:
        """Use ``session`` (never closed here) to reach the API at ``base_url``."""
        self._session = session
        self._api_key = api_key
        self.base_url = check_base_url(base_url or self.default_base_url)
        self.deadlines = deadlines or Deadlines()
        self.flush_policy = flush_policy or FlushPolicy()

    @classmethod
    def voice_encodings(cls, voice: str) -> frozenset[AudioEncoding]:
        """Return the encodings ``voice`` streams in (some providers vary by voice)."""
        return cls.encodings

    @classmethod
    def audio_format(
        cls,
        encoding: AudioEncoding,
        sample_rate: int | None = None,
        *,
        voice: str | None = None,
    ) -> AudioFormat:
        """Return the format to ask for, given an encoding and a wished-for rate.

        A provider (or ``voice``) that cannot stream the encoding gets its other
        one. PCM comes at the wished rate when the provider has it, else at the
        next higher one (resampling down loses nothing), else at its highest.
        """
        encodings = cls.encodings if voice is None else cls.voice_encodings(voice)
        if encoding not in encodings:
            encoding = next(iter(encodings))
        if encoding is AudioEncoding.MP3:
            return AudioFormat(AudioEncoding.MP3, cls.mp3_sample_rate)
        if sample_rate is None:
            return AudioFormat(encoding, cls.pcm_sample_rates[0])
        higher = [rate for rate in cls.pcm_sample_rates if rate >= sample_rate]
        return AudioFormat(
            encoding, min(higher) if higher else max(cls.pcm_sample_rates)
        )

    @abstractmethod
    async def list_voices(self) -> list[Voice]:
        """Return the voices this account can use; this also checks the key."""

    @abstractmethod
    def _protocol(self, options: SynthesisOptions) -> WireProtocol:
        """Describe one streaming synthesis in the provider's protocol."""

    def check_options(self, options: SynthesisOptions) -> None:
        """Raise SpeechRequestError if the provider cannot do what ``options`` ask."""
        audio = options.audio_format
        if audio.channels != 1 or not audio.same_audio(
            self.audio_format(audio.encoding, audio.sample_rate, voice=options.voice)
        ):
            raise SpeechRequestError(
                f"{self.provider} cannot stream {audio.encoding} at "
                f"{audio.sample_rate} Hz with {audio.channels} channels",
                provider=self.provider,
            )
        if options.language is not None and options.language not in self.languages:
            raise SpeechRequestError(
                f"{self.provider} does not speak language {options.language!r}",
                provider=self.provider,
            )
        specs = {option.key: option for option in self.options}
        chosen: dict[str, object] = dict(options.extra)
        if options.speed is not None and (options.speed != 1.0 or "speed" in specs):
            chosen[SPEED] = options.speed
        for key, value in chosen.items():
            if key not in specs:
                raise SpeechRequestError(
                    f"{self.provider} has no setting {key!r}", provider=self.provider
                )
            try:
                specs[key].parse(value)
            except ValueError as err:
                raise SpeechRequestError(
                    f"{self.provider}: {err}", provider=self.provider
                ) from None

    @classmethod
    def option(cls, key: str) -> ProviderOption | None:
        """Return the setting called ``key``, if the provider has it."""
        return next((option for option in cls.options if option.key == key), None)

    def stream(
        self, text: AsyncIterable[str], options: SynthesisOptions
    ) -> AsyncGenerator[bytes]:
        """Speak ``text`` as it arrives; yield audio in ``options.audio_format``.

        The options are checked before anything is sent, so a request the
        provider cannot serve fails at once. PCM comes inside a streaming WAV
        header (see :attr:`AudioFormat.container`).
        """
        self.check_options(options)
        return self._stream(self._protocol(options), options.audio_format, text)

    async def synthesize(self, text: str, options: SynthesisOptions) -> bytes:
        """Speak a whole text at once and return all of its audio."""

        async def single() -> AsyncIterator[str]:
            yield text

        return b"".join([chunk async for chunk in self.stream(single(), options)])

    def _redact(self, text: str) -> str:
        return redact(text, (self._api_key,))

    def _redacted(self, err: SpeechError) -> SpeechError:
        """Return ``err`` with the key removed from its message."""
        message = self._redact(err.message)
        if message != err.message:
            err.message = message
            err.args = (message,)
        return err

    def _unreachable(self, err: Exception) -> SpeechConnectionError:
        detail = self._redact(str(err)) or type(err).__name__
        return SpeechConnectionError(
            f"cannot reach {self.provider}: {detail}", provider=self.provider
        )

    def _rest_headers(self) -> Mapping[str, str]:
        """Return the headers that authenticate REST calls."""
        return bearer(self._api_key)

    async def _voice_items(
        self,
        path: str,
        *keys: str,
        id_key: str,
        params: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """GET a voice list; return its entries, those that have an ``id_key``.

        ``keys`` lead from the JSON body to the list (none for a bare array).
        """
        data = await self._get_json(path, params=params)
        for key in keys:
            data = data.get(key) if isinstance(data, dict) else None
        if not isinstance(data, list):
            raise SpeechProtocolError(
                f"{self.provider} sent a voice list without voices",
                provider=self.provider,
            )
        return [item for item in data if isinstance(item, dict) and id_key in item]

    async def _get_json(
        self, path: str, *, params: Mapping[str, str] | None = None
    ) -> Any:
        """GET ``path`` below the API root and return its JSON body."""
        url = f"{self.base_url}{path}"
        headers = self._rest_headers()
        try:
            async with (
                asyncio.timeout(self.deadlines.connect),
                self._session.get(url, headers=headers, params=params) as response,
            ):
                body = await response.text()
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{self.provider} did not answer within {self.deadlines.connect:g} s",
                provider=self.provider,
            ) from None
        except aiohttp.ClientError as err:
            raise self._unreachable(err) from None
        if response.status >= 400:
            raise http_status_error(
                self.provider, response.status, self._redact(error_detail(body))
            )
        try:
            return json.loads(body)
        except ValueError:
            raise SpeechProtocolError(
                f"{self.provider} sent a response that is not JSON",
                provider=self.provider,
            ) from None

    async def _stream(
        self,
        protocol: WireProtocol,
        audio_format: AudioFormat,
        text: AsyncIterable[str],
    ) -> AsyncGenerator[bytes]:
        """Synthesise ``text`` as it arrives; yield audio (in its container) as it arrives."""
        header = (
            streaming_wav_header(audio_format.sample_rate, audio_format.channels)
            if audio_format.container == "wav"
            else b""
        )
        async with contextlib.aclosing(
            self._audio(protocol, audio_format, text)
        ) as audio:
            async for chunk in audio:
                if header:
                    # Held back until real audio exists, so that an error before it
                    # still reaches the caller before the first byte.
                    yield header + chunk
                    header = b""
                else:
                    yield chunk

    async def _audio(
        self,
        protocol: WireProtocol,
        audio_format: AudioFormat,
        text: AsyncIterable[str],
    ) -> AsyncGenerator[bytes]:
        """Yield the provider's audio bytes, over its WebSocket or its fallback.

        The connection opens at once, before the first text, so the handshake
        overlaps with the writer's thinking time and a refused key or voice is
        reported before any audio has been yielded.
        """
        try:
            ws = await self._open(protocol)
        except SpeechError as err:
            if (fallback := protocol.fallback(err)) is None:
                raise
            _LOGGER.warning(
                "%s refused the WebSocket (%s); streaming over HTTP instead",
                protocol.provider,
                err,
            )
            async with contextlib.aclosing(
                stream_over_http(
                    self._session,
                    fallback,
                    text,
                    deadlines=self.deadlines,
                    redact=self._redact,
                )
            ) as audio:
                async for chunk in audio:
                    yield chunk
            return
        timeline = _Timeline(
            self.deadlines,
            audio_format,
            acks_flushes=protocol.acks_flushes,
            counts_answers=protocol.counts_answers,
        )
        pump = asyncio.create_task(
            self._pump_text(ws, protocol, text, timeline),
            name=f"{protocol.provider} text pump",
        )
        complete = False
        try:
            async for chunk in self._pump_audio(ws, protocol, timeline, pump):
                yield chunk
            await pump
            complete = True
        finally:
            if not pump.done():
                pump.cancel()
            # Its failure, if any, was already reported by the audio side.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            if not complete:
                await self._abandon(ws, protocol)
            await self._close(ws)

    async def _connect(self, protocol: WireProtocol) -> aiohttp.ClientWebSocketResponse:
        ws: aiohttp.ClientWebSocketResponse | None = None
        try:
            async with asyncio.timeout(self.deadlines.connect):
                ws = await self._session.ws_connect(
                    protocol.url(),
                    headers=protocol.headers(),
                    # No aiohttp heartbeat: aiohttp 3.14 re-arms its timer while
                    # closing, leaving it scheduled after close(). Every wait for
                    # audio has its own deadline, so a dead network is still
                    # noticed as soon as anything is owed.
                    max_msg_size=MAX_MESSAGE_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self.deadlines.close),
                )
                for message in protocol.open():
                    await ws.send_str(json.dumps(message))
        except BaseException:
            # Opened but not set up (the init failed, or we were cancelled).
            if ws is not None:
                await self._close(ws)
            raise
        return ws

    async def _open(self, protocol: WireProtocol) -> aiohttp.ClientWebSocketResponse:
        """Connect, mapping every failure to a SpeechError."""
        try:
            return await self._connect(protocol)
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{protocol.provider} did not accept the connection within "
                f"{self.deadlines.connect:g} s",
                provider=protocol.provider,
            ) from None
        except aiohttp.WSServerHandshakeError as err:
            error = protocol.handshake_error(err.status)
            error.status = err.status
            raise error from None
        except (aiohttp.ClientError, ConnectionError) as err:
            raise self._unreachable(err) from None

    async def _pump_text(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        text: AsyncIterable[str],
        timeline: _Timeline,
    ) -> None:
        """Send the text as it is written; see :class:`_TextPump`."""
        try:
            pump = _TextPump(
                ws, protocol, timeline, self.flush_policy, self.deadlines.chunk_gap
            )
            await pump.run(text)
        except TimeoutError:
            raise SpeechTimeoutError(
                f"{protocol.provider} did not take the text within "
                f"{self.deadlines.chunk_gap:g} s",
                provider=protocol.provider,
            ) from None
        except (aiohttp.ClientError, ConnectionError) as err:
            # The connection went away; the audio side will read why (an error
            # message or the close) and report that instead.
            _LOGGER.debug(
                "sending to %s failed: %s", protocol.provider, type(err).__name__
            )

    async def _pump_audio(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        timeline: _Timeline,
        pump: asyncio.Task[None],
    ) -> AsyncIterator[bytes]:
        """Yield audio until the provider is done; raise on errors and stalls."""
        while True:
            for event in await self._next_events(ws, protocol, timeline, pump):
                timeline.heard(event)
                if isinstance(event, AudioChunk):
                    if event.data:
                        yield event.data
                elif isinstance(event, StreamDone):
                    return

    async def _next_events(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        protocol: WireProtocol,
        timeline: _Timeline,
        pump: asyncio.Task[None],
    ) -> Iterable[ProviderEvent]:
        try:
            async with asyncio.timeout_at(timeline.wake_at) as timeline.timeout:
                message = await self._receive(ws, pump)
        except TimeoutError:
            quiet_end, deadline = timeline.quiet_end, timeline.deadline
            if quiet_end is not None and (deadline is None or quiet_end <= deadline):
                return (StreamDone(),)  # the last answer was followed by silence
            raise SpeechTimeoutError(
                f"{protocol.provider} owed audio and sent nothing for "
                f"{max(self.deadlines.first_audio, self.deadlines.chunk_gap):g} s",
                provider=protocol.provider,
            ) from None
        finally:
            timeline.timeout = None
        try:
            return self._read(message, protocol, timeline)
        except SpeechError as err:
            # Providers echo requests, keys included, in their error texts.
            raise self._redacted(err) from None

    @staticmethod
    def _read(
        message: aiohttp.WSMessage, protocol: WireProtocol, timeline: _Timeline
    ) -> Iterable[ProviderEvent]:
        """Turn one WebSocket message into the provider's events."""
        if message.type is aiohttp.WSMsgType.TEXT:
            try:
                data = json.loads(message.data)
            except ValueError:
                raise SpeechProtocolError(
                    f"{protocol.provider} sent a message that is not JSON",
                    provider=protocol.provider,
                ) from None
            if not isinstance(data, dict):
                raise SpeechProtocolError(
                    f"{protocol.provider} sent an unexpected message",
                    provider=protocol.provider,
                )
            return protocol.on_text(data)
        if message.type is aiohttp.WSMsgType.BINARY:
            return protocol.on_binary(message.data)
        if timeline.all_answered and message.type in _ENDINGS:
            # Every request was answered: however it closes, nothing is missing.
            return (StreamDone(),)
        if message.type is aiohttp.WSMsgType.CLOSE:
            return protocol.on_close(finished=timeline.finished, code=int(message.data))
        # CLOSED without a close frame, or ERROR: the transport broke. Audio may
        # be missing.
        raise SpeechConnectionError(
            f"the connection to {protocol.provider} broke", provider=protocol.provider
        )

    @staticmethod
    async def _receive(
        ws: aiohttp.ClientWebSocketResponse, pump: asyncio.Task[None]
    ) -> aiohttp.WSMessage:
        """Read the next message, or raise the text pump's failure first.

        While text is still being sent, the pump is watched too: if it fails
        (the writer raised, a send broke) no audio will ever be asked for.
        """
        if pump.done():
            return await ws.receive()
        receive = asyncio.ensure_future(ws.receive())
        try:
            await asyncio.wait((receive, pump), return_when=asyncio.FIRST_COMPLETED)
            if pump.done() and (failure := pump.exception()) is not None:
                raise failure
            return await receive
        finally:
            if not receive.done():
                receive.cancel()

    async def _abandon(
        self, ws: aiohttp.ClientWebSocketResponse, protocol: WireProtocol
    ) -> None:
        """Tell the provider to stop, if it has a way; the socket closes anyway."""
        messages = protocol.abandon()
        if not messages or ws.closed:
            return
        try:
            async with asyncio.timeout(self.deadlines.close):
                for message in messages:
                    await ws.send_str(json.dumps(message))
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as err:
            _LOGGER.debug(
                "stopping %s failed: %s", protocol.provider, type(err).__name__
            )

    async def _close(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Close the socket; aiohttp bounds the wait for the server's close frame."""
        try:
            await ws.close()
        except (aiohttp.ClientError, OSError) as err:  # nothing left to save
            _LOGGER.debug("closing the %s connection failed: %s", self.provider, err)
