"""Streaming text-to-speech clients for cloud providers, on one aiohttp session layer.

Text goes to the provider while it is still being written; audio comes back
while the provider is still producing it. No Home Assistant imports: this
package stands on its own. CONTRIBUTING.md (at the repository's root) maps
its files.
"""

from .client import StreamingClient
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
    SpeechSettingError,
    SpeechTimeoutError,
    SpeechVoiceError,
)
from .lmnt import LmntClient
from .models import (
    SENTENCE_FLUSHES,
    AudioEncoding,
    AudioFormat,
    Deadlines,
    FlushPolicy,
    SynthesisOptions,
    Voice,
)
from .registry import PROVIDERS
from .sarvam import SarvamClient
from .settings import (
    MODEL,
    SAMPLE_RATE,
    SPEED,
    OptionValue,
    ProviderOption,
    Settings,
)
from .smallest import SmallestClient
from .telnyx import TelnyxClient
from .urls import check_base_url
from .warm import WarmConnection

__all__ = [
    "MODEL",
    "PROVIDERS",
    "SAMPLE_RATE",
    "SENTENCE_FLUSHES",
    "SPEED",
    "AudioEncoding",
    "AudioFormat",
    "Deadlines",
    "FlushPolicy",
    "LmntClient",
    "OptionValue",
    "ProviderOption",
    "SarvamClient",
    "Settings",
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
    "SpeechSettingError",
    "SpeechTimeoutError",
    "SpeechVoiceError",
    "StreamingClient",
    "SynthesisOptions",
    "TelnyxClient",
    "Voice",
    "WarmConnection",
    "check_base_url",
]
