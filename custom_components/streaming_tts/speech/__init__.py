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
from .models import (
    AudioEncoding,
    AudioFormat,
    Deadlines,
    OptionValue,
    ProviderOption,
    SynthesisOptions,
    Voice,
)
from .sarvam import SarvamClient
from .session import SAMPLE_RATE, SPEED, StreamingClient, check_base_url
from .smallest import SmallestClient
from .telnyx import TelnyxClient

#: Every provider client, by the id used in configuration.
PROVIDERS: dict[str, type[StreamingClient]] = {
    "lmnt": LmntClient,
    "smallest": SmallestClient,
    "telnyx": TelnyxClient,
    "sarvam": SarvamClient,
}

__all__ = [
    "PROVIDERS",
    "SAMPLE_RATE",
    "SPEED",
    "AudioEncoding",
    "AudioFormat",
    "Deadlines",
    "LmntClient",
    "OptionValue",
    "ProviderOption",
    "SarvamClient",
    "SmallestClient",
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
    "TelnyxClient",
    "Voice",
    "check_base_url",
]
