"""The one exception tree the speech library raises.

Messages never contain API keys: providers echo requests back in error texts, so
every message that came from the wire goes through :func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
from typing import Any, Final

#: Longest provider message quoted in an error.
MAX_ERROR_TEXT: Final = 300


class SpeechError(Exception):
    """Base class of every error raised by the speech library."""

    def __init__(
        self, message: str, *, provider: str | None = None, status: int | None = None
    ) -> None:
        """Store the message, the provider it came from and any HTTP status."""
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status


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


def http_status_error(provider: str, status: int, detail: str) -> SpeechError:
    """Map an HTTP error status (and the provider's message) to a SpeechError."""
    text = f"{provider} answered HTTP {status}"
    if detail:
        text = f"{text}: {detail}"
    error_type: type[SpeechError] = SpeechRequestError
    if status in (401, 403):
        error_type = SpeechAuthError
    elif status == 402:
        error_type = SpeechQuotaError
    elif status == 429:
        error_type = SpeechRateLimitError
    elif status >= 500:
        error_type = SpeechProviderError
    return error_type(text, provider=provider, status=status)


def error_detail(body: str) -> str:
    """Pull a human-readable message out of an error body of unknown shape."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.strip()[:MAX_ERROR_TEXT]
    if (
        isinstance(data, dict)
        and isinstance(data.get("errors"), list)
        and data["errors"]
    ):
        data = data["errors"][0]  # JSON:API style, e.g. {"errors": [{"detail": ...}]}
    for key in ("error", "message", "detail", "title"):
        if isinstance(data, dict) and key in data:
            data = data[key]
            if isinstance(data, dict):
                data = data.get("message", data)
            break
    return str(data)[:MAX_ERROR_TEXT]


# Providers that report errors as free text: words that tell what went wrong,
# most specific first. A status, when given, decides only if no word does.
_KEYWORDS: tuple[tuple[type[SpeechError], tuple[str, ...]], ...] = (
    (SpeechQuotaError, ("credit", "quota", "insufficient", "payment", "balance")),
    (SpeechRateLimitError, ("rate limit", "too many", "concurren")),
    (
        SpeechAuthError,
        ("api key", "subscription key", "unauthori", "credential", "authenticat"),
    ),
    (SpeechTimeoutError, ("timed out", "timeout", "inactivity")),
    (SpeechVoiceError, ("voice", "speaker")),
)


def message_error(
    provider: str, message: str, *, status: int | None = None
) -> SpeechError:
    """Map an error a provider sent as a message (and maybe a status) to an error."""
    folded = message.casefold()
    text = f"{provider}: {message[:MAX_ERROR_TEXT]}"
    for error_type, words in _KEYWORDS:
        if any(word in folded for word in words):
            return error_type(text, provider=provider, status=status)
    if status is not None and status >= 400:
        error = http_status_error(provider, status, "")
        return type(error)(text, provider=provider, status=status)
    return SpeechProviderError(text, provider=provider, status=status)
