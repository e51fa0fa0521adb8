"""The one exception tree the speech library raises.

Messages never contain API keys: providers echo requests back in error texts, so
every message that came from the wire goes through :func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Iterable


class SpeechError(Exception):
    """Base class of every error raised by the speech library."""

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        """Store the message and the provider it came from."""
        super().__init__(message)
        self.message = message
        self.provider = provider


class SpeechConnectionError(SpeechError):
    """The provider could not be reached, or the connection broke."""


class SpeechTimeoutError(SpeechConnectionError):
    """A deadline passed: connecting, waiting for audio, or between two chunks."""


class SpeechAuthError(SpeechError):
    """The provider rejected the API key."""


class SpeechQuotaError(SpeechError):
    """The account is out of credits or characters, or the plan forbids this."""


class SpeechRateLimitError(SpeechError):
    """Too many requests or concurrent sessions for this account."""


class SpeechVoiceError(SpeechError):
    """The voice does not exist, or cannot be used for streaming."""


class SpeechRequestError(SpeechError):
    """The provider refused the request's parameters (language, format...)."""


class SpeechNoTextError(SpeechRequestError):
    """Nothing is left to speak once markup, emoji and whitespace are removed."""


class SpeechProviderError(SpeechError):
    """The provider reported a failure of its own while synthesising."""


class SpeechProtocolError(SpeechError):
    """The provider sent something this client does not understand."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with ``**REDACTED**``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "**REDACTED**")
    return text
