"""The designs users have today, as TTS entities on the same provider client.

* :class:`SentenceFlushes` is this integration's own streaming with the flush
  policy that waits for whole sentences, to measure what the default policy's
  early first words buy.

* :class:`SentenceBatched` is the design of Home Assistant's core ElevenLabs and
  Cloud engines (2025.12): sentences from ``sentence_stream``, the first one
  synthesised alone, then up to three, then all that are ready, each batch a
  new request whose audio is streamed out.
* :class:`FullText` is what most custom TTS integrations do: wait for the whole
  answer, then make one request.

Both use this repository's provider client for each request, so the provider,
its emulator and the audio path are the same as for the integration itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import contextlib

from homeassistant.components.tts import (
    TextToSpeechEntity,
    TTSAudioRequest,
    TTSAudioResponse,
)
from sentence_stream import SentenceBoundaryDetector

from custom_components.streaming_tts.speech import StreamingClient, SynthesisOptions


async def _one(text: str) -> AsyncGenerator[str]:
    yield text


class _Baseline(TextToSpeechEntity):
    """A streaming TTS entity speaking through a provider client."""

    _attr_default_language = "en"

    def __init__(
        self, name: str, client: StreamingClient, options: SynthesisOptions
    ) -> None:
        self._attr_supported_languages = ["en"]
        self._attr_name = name
        self._attr_unique_id = name
        self._client = client
        self._options = options

    async def _request(self, text: str) -> AsyncGenerator[bytes]:
        """One provider request for one batch of text, its audio streamed."""
        async for chunk in self._client.stream(_one(text), self._options):
            yield chunk


class SentenceFlushes(_Baseline):
    """Our streaming with its most natural policy: flushes at sentence ends only."""

    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream text in and audio out over one session."""
        return TTSAudioResponse(
            "mp3", self._client.stream(request.message_gen, self._options)
        )


class SentenceBatched(_Baseline):
    """Core ElevenLabs / Cloud: sentence batches of 1, then 3, then all; a request each."""

    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream audio batch by batch."""
        return TTSAudioResponse("mp3", self._batches(request.message_gen))

    async def _batches(self, text_stream: AsyncGenerator[str]) -> AsyncGenerator[bytes]:
        detector = SentenceBoundaryDetector()
        sentences: list[str] = []
        ready = asyncio.Event()
        complete = False

        async def add_sentences() -> None:
            nonlocal complete
            try:
                async for chunk in text_stream:
                    sentences.extend(s for s in detector.add_chunk(chunk) if s.strip())
                    if sentences:
                        ready.set()
                if text := detector.finish():
                    sentences.append(text)
            finally:
                complete = True
                ready.set()

        task = asyncio.create_task(add_sentences())
        schedule = [1, 3]
        try:
            while True:
                await ready.wait()
                if not complete:
                    ready.clear()
                if not sentences:
                    if complete:
                        break
                    continue
                new, sentences[:] = sentences[:], []
                while new:
                    size = schedule.pop(0) if schedule else len(new)
                    batch, new = new[:size], new[size:]
                    async for chunk in self._request(" ".join(batch).strip()):
                        yield chunk
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class FullText(_Baseline):
    """Most custom integrations: the whole answer first, then one request."""

    async def async_stream_tts_audio(
        self, request: TTSAudioRequest
    ) -> TTSAudioResponse:
        """Stream the audio of the whole text."""
        return TTSAudioResponse("mp3", self._whole(request.message_gen))

    async def _whole(self, text_stream: AsyncGenerator[str]) -> AsyncGenerator[bytes]:
        text = "".join([chunk async for chunk in text_stream])
        async for chunk in self._request(text):
            yield chunk
