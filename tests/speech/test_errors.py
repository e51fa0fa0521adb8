"""Error classification and redaction of the speech library."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from custom_components.streaming_tts.speech import (
    SpeechAuthError,
    SpeechError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechTimeoutError,
    SpeechVoiceError,
)
from custom_components.streaming_tts.speech.errors import (
    MAX_ERROR_TEXT,
    http_status_error,
    message_error,
    redact,
)

CASES: list[tuple[str, int | None, str | None, type[SpeechError]]] = [
    # (1) A decisive status wins over code and words.
    ("Voice 'x' not available for this API key", 401, None, SpeechAuthError),
    ("Forbidden", 403, None, SpeechAuthError),
    ("Invalid API key", 402, None, SpeechQuotaError),
    ("Something went wrong", 429, "internal_error", SpeechRateLimitError),
    ("Internal Server Error", 500, None, SpeechProviderError),
    ("Service unavailable", 503, "unavailable", SpeechProviderError),
    # A 5xx is narrowed only by a quota, rate or timeout reason, or a voice code.
    ("Out of credits", 500, None, SpeechQuotaError),
    ("Too many concurrent streams", 503, None, SpeechRateLimitError),
    ("Upstream timed out", 504, None, SpeechTimeoutError),
    ("Voice synthesis failed", 500, None, SpeechProviderError),
    ("Invalid API key", 500, None, SpeechProviderError),
    ("x", 500, "voice_not_found", SpeechVoiceError),
    ("Out of credits", 500, "internal_error", SpeechProviderError),
    # (2) A structured code, before words and a weak status.
    ("Unauthorized", None, "unauthorized", SpeechAuthError),
    ("Request refused", 400, "invalid_api_key", SpeechAuthError),
    ("Invalid API key", None, "invalid_api_key_error", SpeechAuthError),
    ("Your API key has run out of credits", None, "insufficient_credits", SpeechQuotaError),
    ("Slow down", None, "rate_limit_exceeded", SpeechRateLimitError),
    ("Voice 'x' not found for this API key", None, "voice_not_found", SpeechVoiceError),
    ("Request for API key abc failed", None, "internal_error", SpeechProviderError),
    ("Invalid API key", None, "invalid_request", SpeechRequestError),
    ("Blocked", None, "CONTENT_FILTER_BLOCKED", SpeechRequestError),
    ("Took too long", None, "request-timeout", SpeechTimeoutError),
    ("Payment required", None, "payment_required_error", SpeechQuotaError),
    ("Speaker of another model", 400, "voice_mismatch", SpeechVoiceError),
    # An unknown code leaves the decision to the words.
    ("Invalid API key", None, "E1234", SpeechAuthError),
    # (3) Words, one case per kind.
    ("Invalid API key", None, None, SpeechAuthError),
    ("Missing API key", None, None, SpeechAuthError),
    ("No API key", None, None, SpeechAuthError),
    ("Invalid API subscription key", None, None, SpeechAuthError),
    ("Incorrect api_key provided", None, None, SpeechAuthError),
    ("The API key provided is invalid", None, None, SpeechAuthError),
    ("API key has been revoked", None, None, SpeechAuthError),
    ("Subscription key not recognised", None, None, SpeechAuthError),
    ("401 Unauthorized", None, None, SpeechAuthError),
    ("Invalid credentials", None, None, SpeechAuthError),
    ("Authentication failed", None, None, SpeechAuthError),
    ("Invalid token", None, None, SpeechAuthError),
    ("Insufficient credits on this account", None, None, SpeechQuotaError),
    ("Monthly quota exceeded", None, None, SpeechQuotaError),
    ("Rate limit reached", None, None, SpeechRateLimitError),
    ("Too many concurrent connections", None, None, SpeechRateLimitError),
    ("Connection timed out after 60 seconds of inactivity", None, None, SpeechTimeoutError),
    ("Invalid voice_id 'x'", None, None, SpeechVoiceError),
    ("Unknown speaker 'x'", 400, None, SpeechVoiceError),
    ("invalid_voice", None, None, SpeechVoiceError),
    # Precedence among words.
    ("API key quota exceeded", None, None, SpeechQuotaError),
    ("Voice not found for API key", None, None, SpeechVoiceError),
    ("Unauthorized use of voice 'x'", None, None, SpeechVoiceError),
    ("Unpaid invoice", None, None, SpeechProviderError),  # "invoice" is no voice
    # Messages that merely mention an API key are not auth.
    ("Your API key has run out of credits", None, None, SpeechQuotaError),
    ("Voice 'x' not available for this API key", None, None, SpeechVoiceError),
    ("Request for API key abc failed: internal error", None, None, SpeechProviderError),
    ("Rate limit exceeded for this API key", None, None, SpeechRateLimitError),
    ("Request with API key timed out", None, None, SpeechTimeoutError),
    ("Model 'x' is not enabled for your API key", 400, None, SpeechRequestError),
    ("API key abc: text too long", None, None, SpeechProviderError),
    # (4) A non-decisive status, when neither code nor words decide.
    ("Input parameters has to be a valid dictionary", 422, None, SpeechRequestError),
    ("Not Found", 404, None, SpeechRequestError),
    ("Voice 'x' not found", 404, None, SpeechVoiceError),
    ("Bad request", 400, "not_a_known_code", SpeechRequestError),
    ("I'm a teapot", 418, None, SpeechRequestError),
    # (5) Nothing to go by.
    ("Error in audio response", None, None, SpeechProviderError),
    ("", None, "", SpeechProviderError),
]  # fmt: skip


@pytest.mark.parametrize(("message", "status", "code", "kind"), CASES)
def test_message_error(
    message: str, status: int | None, code: str | None, kind: type[SpeechError]
) -> None:
    error = message_error("P", message, status=status, code=code)
    assert type(error) is kind
    assert error.message == str(error) == f"P: {message}"
    assert error.provider == "P"
    assert error.status == status


def test_message_error_text_is_cut() -> None:
    error = message_error("P", "x" * 1000)
    assert error.message == "P: " + "x" * MAX_ERROR_TEXT


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 418, 422, 429, 500, 503])
def test_status_mappings_agree(status: int) -> None:
    """A bare status maps to the same error in both mappers."""
    assert type(message_error("P", "", status=status)) is type(
        http_status_error("P", status, "")
    )


def test_http_status_error_ignores_words() -> None:
    """Its callers quote a body only for the reader, so the status alone decides."""
    error = http_status_error("P", 400, "Invalid API key")
    assert type(error) is SpeechRequestError
    assert error.message == "P answered HTTP 400: Invalid API key"
    assert error.status == 400


KEY = 'sk/a+b c&d=é"\\'  # every character some encoding changes


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        quote(KEY),
        quote(KEY, safe=""),
        quote_plus(KEY),
        quote_plus(KEY, safe=""),
        json.dumps(KEY)[1:-1],
        json.dumps(KEY, ensure_ascii=False)[1:-1],
        json.dumps(KEY)[1:-1].replace("/", "\\/"),
    ],
)
def test_redact_forms(form: str) -> None:
    assert redact(f"key {form} end", [KEY]) == "key **REDACTED** end"


def test_redact_exact_every_occurrence() -> None:
    assert redact("test-key and test-key", ["test-key"]) == (
        "**REDACTED** and **REDACTED**"
    )


def test_redact_json_body() -> None:
    body = json.dumps({"error": "bad key", "echo": {"api_key": KEY}})
    assert KEY not in redact(body, [KEY])
    assert json.loads(redact(body, [KEY]))["echo"]["api_key"] == "**REDACTED**"


def test_redact_url() -> None:
    url = f"wss://api.example/v1?api_key={quote_plus(KEY)}&model=x"
    assert redact(url, [KEY]) == "wss://api.example/v1?api_key=**REDACTED**&model=x"


def test_redact_is_case_sensitive() -> None:
    assert redact("TEST-KEY", ["test-key"]) == "TEST-KEY"


def test_redact_ignores_an_empty_secret() -> None:
    text = "a cab is abc"
    assert redact(text, [""]) == text


def test_redact_removes_even_a_short_secret() -> None:
    """Shredding the message beats leaking a short key."""
    assert redact("a cab is abc", ["abc"]) == "a cab is **REDACTED**"


def test_redact_several_secrets() -> None:
    text = "first-key, second-key, and first-key/second-key"
    assert redact(text, ["first-key", "second-key", ""]) == (
        "**REDACTED**, **REDACTED**, and **REDACTED**/**REDACTED**"
    )


def test_redact_overlapping_secrets() -> None:
    """The longer secret goes whole, not as a redacted prefix and a readable tail."""
    assert redact("key abcd-efgh", ["abcd", "abcd-efgh"]) == "key **REDACTED**"


def test_redact_without_secrets() -> None:
    assert redact("nothing to hide", []) == "nothing to hide"
