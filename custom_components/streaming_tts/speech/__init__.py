"""Streaming text-to-speech clients for cloud providers, on one aiohttp session layer.

Text goes to the provider while it is still being written; audio comes back
while the provider is still producing it. No Home Assistant imports: this
package stands on its own.
"""

from .errors import (
    SpeechAuthError,
    SpeechConnectionError,
    SpeechError,
    SpeechNoTextError,
    SpeechProtocolError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechTimeoutError,
    SpeechVoiceError,
)
from .lmnt import LmntClient
from .models import AudioEncoding, AudioFormat, Deadlines, SynthesisOptions, Voice
from .session import StreamingClient, check_base_url

#: Every provider client, by the id used in configuration.
PROVIDERS: dict[str, type[StreamingClient]] = {"lmnt": LmntClient}

__all__ = [
    "PROVIDERS",
    "AudioEncoding",
    "AudioFormat",
    "Deadlines",
    "LmntClient",
    "SpeechAuthError",
    "SpeechConnectionError",
    "SpeechError",
    "SpeechNoTextError",
    "SpeechProtocolError",
    "SpeechProviderError",
    "SpeechQuotaError",
    "SpeechRateLimitError",
    "SpeechRequestError",
    "SpeechTimeoutError",
    "SpeechVoiceError",
    "StreamingClient",
    "SynthesisOptions",
    "Voice",
    "check_base_url",
]
