"""The client every provider shares: what it can do, its REST calls, streaming synthesis.

A provider module subclasses :class:`StreamingClient` and declares, once,
everything about its provider in class attributes (id, name, languages,
rates, settings, its :class:`~.contract.WireProtocol`) and how its voice list
reads. Everything that leaves the client passes through here: every
SpeechError has the key removed from its message, on every path (WebSocket,
SSE, REST), whatever the provider module wrote into it; the answer engines
also remove it as soon as a provider's message is read, before anything
(a close, a log line) can quote the error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterator,
    Mapping,
)
import contextlib
import json
import logging
from typing import Any, ClassVar

import aiohttp

from .audio import streaming_wav_header
from .contract import WireProtocol, bearer
from .errors import (
    SpeechError,
    SpeechProtocolError,
    SpeechRequestError,
    SpeechSettingError,
    SpeechTimeoutError,
    error_detail,
    http_status_error,
    redact,
    redact_error,
)
from .http_stream import stream_over_http
from .models import (
    AudioEncoding,
    AudioFormat,
    Deadlines,
    FlushPolicy,
    SynthesisOptions,
    Voice,
)
from .settings import MODEL, ProviderOption, Settings, parse_settings
from .urls import check_base_url
from .warm import WarmConnection
from .websocket_answer import WebSocketAnswer, unreachable

_LOGGER = logging.getLogger(__name__)

#: How long a warm connection waits for its answer. An Assist run asks for
#: speech within seconds of the satellite listening; 30 s covers a slow agent.
WARM_KEEP_SECONDS = 30.0


class StreamingClient(ABC):
    """Shared plumbing of every provider client: REST calls and streaming synthesis.

    Subclasses declare what their provider can do in the class attributes.
    """

    #: The provider's id, stored in config entries (never changes).
    provider_id: ClassVar[str]
    #: The provider's name, shown to users and used in error messages.
    provider: ClassVar[str]
    default_base_url: ClassVar[str]
    #: The provider's own language codes.
    languages: ClassVar[tuple[str, ...]]
    #: Rates raw PCM can be streamed at, the preferred one first.
    pcm_sample_rates: ClassVar[tuple[int, ...]]
    mp3_sample_rate: ClassVar[int]
    #: The encodings the provider streams reliably.
    encodings: ClassVar[frozenset[AudioEncoding]] = frozenset(AudioEncoding)
    #: The settings users may choose (see settings.SPEED, SAMPLE_RATE, MODEL).
    options: ClassVar[tuple[ProviderOption, ...]] = ()
    #: How one streaming synthesis is spelled on the provider's WebSocket.
    wire_protocol: ClassVar[type[WireProtocol]]

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

    # What the provider can do

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

    @classmethod
    def option(cls, key: str) -> ProviderOption | None:
        """Return the setting called ``key``, if the provider has it."""
        return next((option for option in cls.options if option.key == key), None)

    @classmethod
    def model_label(cls, model: str) -> str:
        """Return how one of the provider's models is shown."""
        option = cls.option(MODEL)
        return model if option is None else option.label(model)

    @classmethod
    def parse_settings(cls, values: Mapping[str, object]) -> Settings:
        """Return this provider's settings found in ``values``, each in its type.

        Raises SpeechSettingError naming the first value not allowed.
        """
        return parse_settings(cls.provider, cls.options, values)

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
        for key, value in options.settings.chosen.items():
            if self.option(key) is None:
                raise SpeechSettingError(
                    self.provider, key, value, f"{self.provider} has no setting {key!r}"
                )

    # Voices

    async def list_voices(self) -> list[Voice]:
        """Return the voices this account can use; this also checks the key."""
        with self._hiding_key():
            return await self._fetch_voices()

    @abstractmethod
    async def _fetch_voices(self) -> list[Voice]:
        """Fetch and read the provider's voice list."""

    # Streaming synthesis

    def stream(
        self,
        text: AsyncIterable[str],
        options: SynthesisOptions,
        *,
        warm: WarmConnection | None = None,
    ) -> AsyncGenerator[bytes]:
        """Speak ``text`` as it arrives; yield audio in ``options.audio_format``.

        The options are checked before anything is sent, so a request the
        provider cannot serve fails at once. PCM comes inside a streaming WAV
        header (see :attr:`AudioFormat.container`). A ``warm`` connection made
        for the same options is used instead of a new one when it is still
        open; otherwise it is closed and a new one opened.
        """
        self.check_options(options)
        return self._stream(self._protocol(options), text, warm)

    def warm(
        self, options: SynthesisOptions, *, keep: float = WARM_KEEP_SECONDS
    ) -> WarmConnection:
        """Open the connection for an answer expected soon (see :mod:`.warm`).

        Opening starts at once, in the background; the connection closes by
        itself if no answer takes it within ``keep`` seconds.
        """
        self.check_options(options)
        return WarmConnection(
            options,
            self._open(self._protocol(options)),
            provider=self.provider,
            keep=keep,
        )

    async def synthesize(self, text: str, options: SynthesisOptions) -> bytes:
        """Speak a whole text at once and return all of its audio."""

        async def single() -> AsyncIterator[str]:
            yield text

        return b"".join([chunk async for chunk in self.stream(single(), options)])

    async def check_connection(self, options: SynthesisOptions) -> None:
        """Open a stream for ``options`` and close it: the server checks the key."""
        self.check_options(options)
        with self._hiding_key():
            answer = await self._open(self._protocol(options))
            await answer.close()

    def _protocol(self, options: SynthesisOptions) -> WireProtocol:
        """Describe one streaming synthesis in the provider's protocol."""
        return self.wire_protocol(self.base_url, self._api_key, options)

    @staticmethod
    async def _take(
        warm: WarmConnection | None, options: SynthesisOptions
    ) -> WebSocketAnswer | None:
        """Return the warm connection's answer when it was made for ``options``."""
        if warm is None:
            return None
        if warm.options != options:
            await warm.close()
            return None
        return await warm.take()

    async def _open(self, protocol: WireProtocol) -> WebSocketAnswer:
        return await WebSocketAnswer.open(
            self._session,
            protocol,
            deadlines=self.deadlines,
            flush_policy=self.flush_policy,
        )

    async def _stream(
        self,
        protocol: WireProtocol,
        text: AsyncIterable[str],
        warm: WarmConnection | None = None,
    ) -> AsyncGenerator[bytes]:
        """Synthesise ``text`` as it arrives; yield audio (in its container) as it arrives."""
        audio_format = protocol.options.audio_format
        header = (
            streaming_wav_header(audio_format.sample_rate, audio_format.channels)
            if audio_format.container == "wav"
            else b""
        )
        with self._hiding_key():
            audio_stream = self._audio(protocol, text, warm)
            async with contextlib.aclosing(audio_stream) as audio:
                async for chunk in audio:
                    if header:
                        # Held back until real audio exists, so that an error
                        # before it still reaches the caller before the first byte.
                        yield header + chunk
                        header = b""
                    else:
                        yield chunk

    async def _audio(
        self,
        protocol: WireProtocol,
        text: AsyncIterable[str],
        warm: WarmConnection | None = None,
    ) -> AsyncGenerator[bytes]:
        """Yield the provider's audio bytes, over its WebSocket or its fallback.

        The connection opens at once, before the first text, so the handshake
        overlaps with the writer's thinking time and a refused key or voice is
        reported before any audio has been yielded.
        """
        audio_format = protocol.options.audio_format
        _LOGGER.debug(
            "%s: speaking with voice %s, %s at %d Hz",
            self.provider,
            protocol.options.voice,
            audio_format.encoding,
            audio_format.sample_rate,
        )
        try:
            answer = await self._take(warm, protocol.options)
            if answer is None:
                answer = await self._open(protocol)
        except SpeechError as err:
            if (fallback := protocol.fallback(err)) is None:
                raise
            _LOGGER.warning(
                "%s refused the WebSocket (%s); streaming over HTTP instead",
                protocol.provider,
                self._redact(str(err)),
            )
            audio = stream_over_http(
                self._session,
                fallback,
                text,
                deadlines=self.deadlines,
                redact=self._redact,
            )
        else:
            audio = answer.stream(text)
        async with contextlib.aclosing(audio):
            async for chunk in audio:
                yield chunk

    # The key stays out of every message

    def _redact(self, text: str) -> str:
        return redact(text, (self._api_key,))

    @contextlib.contextmanager
    def _hiding_key(self) -> Iterator[None]:
        """Remove the key from the message of any SpeechError that passes."""
        try:
            yield
        except SpeechError as err:
            redact_error(err, (self._api_key,))
            raise

    # REST

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
            raise unreachable(self.provider, err) from None
        if response.status >= 400:
            raise http_status_error(self.provider, response.status, error_detail(body))
        try:
            return json.loads(body)
        except ValueError:
            raise SpeechProtocolError(
                f"{self.provider} sent a response that is not JSON",
                provider=self.provider,
            ) from None
