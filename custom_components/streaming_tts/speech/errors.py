"""The one exception tree the speech library raises.

Messages never contain API keys: providers echo requests back in error texts, so
every message that came from the wire goes through :func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Iterable
import json
import re
from typing import Any, Final
from urllib.parse import quote, quote_plus

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


class SpeechSettingError(SpeechRequestError):
    """A setting (speed, model...) the provider does not have, or a value it does not allow."""

    def __init__(self, provider: str, key: str, value: object, reason: str) -> None:
        """Name the setting, the value and why it is refused."""
        super().__init__(f"{provider}: {reason}", provider=provider)
        self.key = key
        self.value = value
        self.reason = reason


class SpeechNoTextError(SpeechRequestError):
    """Nothing is left to speak once markup, emoji and whitespace are removed."""


class SpeechProviderError(SpeechError):
    """The provider reported a failure of its own while synthesising."""


class SpeechProtocolError(SpeechError):
    """The provider sent something this client does not understand."""


#: Shortest secret :func:`redact` replaces: every non-empty one. A short key
#: shreds the message it is removed from, which is better than leaking it.
_MIN_SECRET: Final = 1


def _secret_forms(secret: str) -> set[str]:
    """Return the ways a secret shows up in text: as is, URL-quoted, JSON-escaped."""
    escaped = json.dumps(secret)[1:-1]
    return {
        secret,
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        quote_plus(secret, safe=""),
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escaped.replace("/", "\\/"),  # some encoders escape "/" too
    }


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret in ``text`` with ``**REDACTED**``.

    Also replaced: the secret URL-quoted or JSON-escaped, as providers echo
    requests back. Keys are case-sensitive, so no other forms are tried.
    """
    forms = {
        form
        for secret in secrets
        if len(secret) >= _MIN_SECRET
        for form in _secret_forms(secret)
    }
    if not forms:
        return text
    # Longest first, so that a form containing another is replaced whole.
    pattern = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    return re.sub(pattern, "**REDACTED**", text)


def redact_error(err: SpeechError, secrets: Iterable[str]) -> SpeechError:
    """Remove the secrets from ``err``'s message in place; return it."""
    message = redact(err.message, secrets)
    if message != err.message:
        err.message = message
        err.args = (message,)
    return err


# HTTP statuses that name the failure whatever the body says.
_DECISIVE_STATUS: Final[dict[int, type[SpeechError]]] = {
    401: SpeechAuthError,
    403: SpeechAuthError,
    402: SpeechQuotaError,
    429: SpeechRateLimitError,
}


def _status_type(status: int) -> type[SpeechError]:
    """Map an HTTP error status to an error type: the one table of both mappers."""
    if status in _DECISIVE_STATUS:
        return _DECISIVE_STATUS[status]
    if status >= 500:
        return SpeechProviderError
    return SpeechRequestError


def http_status_error(provider: str, status: int, detail: str) -> SpeechError:
    """Map an HTTP error status (and the provider's message) to a SpeechError."""
    text = f"{provider} answered HTTP {status}"
    if detail:
        text = f"{text}: {detail}"
    return _status_type(status)(text, provider=provider, status=status)


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


# Structured error codes (e.g. "invalid_api_key", "insufficient_credits"), by
# families of slugs; the first family with a slug in the code wins. Auth comes
# first so that "insufficient_permissions" is not read as a quota.
_CODES: Final[tuple[tuple[type[SpeechError], tuple[str, ...]], ...]] = (
    (
        SpeechAuthError,
        ("auth", "forbidden", "invalid_api_key", "invalid_key", "permission",
         "credential", "invalid_token"),
    ),
    (SpeechQuotaError, ("credit", "quota", "payment", "insufficient", "balance")),
    (SpeechRateLimitError, ("rate_limit", "ratelimit", "too_many", "concurren", "throttl")),
    (SpeechVoiceError, ("voice", "speaker")),
    (SpeechTimeoutError, ("timeout", "timed_out", "deadline")),
    (SpeechProviderError, ("internal", "server", "unavailable", "overload")),
    (
        SpeechRequestError,
        ("invalid_request", "bad_request", "validation", "invalid_input",
         "unprocessable", "content_filter", "not_found"),
    ),
)  # fmt: skip

# Names of a key, e.g. "API key", "api_key", "API subscription key".
_KEY = r"(?:api[ _-]?(?:subscription[ _-]?|access[ _-]?)?|subscription[ _-]?)key"

# Free text: words that tell what went wrong, most telling first. Auth is last
# and needs a phrase saying the key itself is wrong: it starts Home Assistant's
# reauthentication, and providers mention "API key" in unrelated messages
# ("Your API key has run out of credits"). A voice or timeout explains a
# message that also complains about the key better than the key does.
_WORDS: Final[tuple[tuple[type[SpeechError], re.Pattern[str]], ...]] = (
    (SpeechQuotaError, re.compile(r"credit|quota|insufficient|payment|balance")),
    (SpeechRateLimitError, re.compile(r"rate[ _-]?limit|too many|concurren")),
    (SpeechTimeoutError, re.compile(r"timed out|timeout|inactivity")),
    # Not after a letter: "invoice" is no voice, "invalid_voice" is.
    (SpeechVoiceError, re.compile(r"(?<![a-z])(?:voice|speaker)")),
    (
        SpeechAuthError,
        re.compile(
            rf"\b(?:invalid|incorrect|wrong|missing|expired|revoked|unknown|bad|no)"
            rf" (?:or expired )?{_KEY}"
            rf"|{_KEY}(?: (?:provided|supplied|given|used))?(?: (?:is|was|has been))?"
            r" (?:invalid|incorrect|wrong|missing|expired|revoked|disabled|not valid"
            r"|not recogni[sz]ed|not found|required)"
            r"|unauthori[sz]ed|invalid credentials|authentication failed"
            r"|invalid authentication|not authenticated"
            r"|invalid (?:(?:access|auth|bearer) )?token"
        ),
    ),
)

# A 5xx says the provider failed; only these reasons narrow it. Words about a
# voice do not ("Voice synthesis failed"), a structured voice code does.
_SERVER_WORD_REASONS: Final[frozenset[type[SpeechError]]] = frozenset(
    {SpeechQuotaError, SpeechRateLimitError, SpeechTimeoutError}
)
_SERVER_CODE_REASONS: Final = _SERVER_WORD_REASONS | {SpeechVoiceError}


def _code_type(code: str) -> type[SpeechError] | None:
    """Map a structured error code to an error type, if it is a known slug."""
    slug = re.sub(r"[\s-]+", "_", code.strip().casefold())
    for error_type, slugs in _CODES:
        if any(part in slug for part in slugs):
            return error_type
    return None


def _word_type(message: str) -> type[SpeechError] | None:
    """Map a free-text message to an error type, if its words say what failed."""
    folded = message.casefold()
    for error_type, pattern in _WORDS:
        if pattern.search(folded):
            return error_type
    return None


def _message_type(
    message: str, status: int | None, code: str | None
) -> type[SpeechError]:
    """Decide by status, then structured code, then words, then a weak status."""
    if status in _DECISIVE_STATUS:
        return _DECISIVE_STATUS[status]
    by_code = _code_type(code) if code else None
    by_words = _word_type(message) if by_code is None else None
    if status is not None and status >= 500:
        if by_code in _SERVER_CODE_REASONS:
            return by_code
        return by_words if by_words in _SERVER_WORD_REASONS else SpeechProviderError
    reason = by_code or by_words
    if reason is None and status is not None and status >= 400:
        reason = _status_type(status)  # 400, 404, 422...: the request was refused
    return reason or SpeechProviderError


def message_error(
    provider: str, message: str, *, status: int | None = None, code: str | None = None
) -> SpeechError:
    """Map an error a provider sent as a message to a SpeechError.

    ``status`` is the HTTP (or HTTP-like) status the provider gave, ``code`` the
    structured error type or code it sent (e.g. ``"insufficient_credits"``).
    """
    text = f"{provider}: {message[:MAX_ERROR_TEXT]}"
    error_type = _message_type(message, status, code)
    return error_type(text, provider=provider, status=status)
