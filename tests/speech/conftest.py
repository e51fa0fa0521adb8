"""The client and options the provider-neutral speech tests share."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from custom_components.streaming_tts.speech import (
    AudioEncoding,
    StreamingClient,
    SynthesisOptions,
)
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer

from .helpers import make_client


@pytest.fixture
def client(
    case: ProviderCase, http: aiohttp.ClientSession, emulator: EmulatorServer[Any]
) -> StreamingClient:
    """A client pointed at the case's emulator, with short deadlines."""
    return make_client(case, http, emulator.base_url)


@pytest.fixture
def options(case: ProviderCase, client: StreamingClient) -> SynthesisOptions:
    """The case's voice and language, in MP3 where the provider streams it, else PCM."""
    return SynthesisOptions(
        voice=case.voice,
        audio_format=client.audio_format(AudioEncoding.MP3, voice=case.voice),
        language=case.language,
    )
