"""URL, error-body and status helpers of the shared session layer."""

from __future__ import annotations

import pytest

from custom_components.streaming_tts.speech import (
    SpeechAuthError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
)
from custom_components.streaming_tts.speech.errors import redact
from custom_components.streaming_tts.speech.session import (
    check_base_url,
    error_detail,
    http_status_error,
    websocket_url,
)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://api.lmnt.com", "wss://api.lmnt.com/v1/x"),
        ("https://api.lmnt.com/", "wss://api.lmnt.com/v1/x"),
        ("http://127.0.0.1:8901", "ws://127.0.0.1:8901/v1/x"),
        ("https://proxy.example/lmnt", "wss://proxy.example/lmnt/v1/x"),
    ],
)
def test_websocket_url(base: str, expected: str) -> None:
    assert websocket_url(base, "/v1/x") == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://api.lmnt.com/",
        "http://127.0.0.1:1234",
        "http://localhost",
        "http://[::1]:80",
    ],
)
def test_base_url_accepted(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.lmnt.com",
        "ftp://x",
        "api.lmnt.com",
        "",
        "https://x/?key=1",
        "http://192.168.1.2",
    ],
)
def test_base_url_refused(url: str) -> None:
    with pytest.raises(ValueError, match="API URL"):
        check_base_url(url)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, SpeechAuthError), (403, SpeechAuthError), (402, SpeechQuotaError),
     (429, SpeechRateLimitError), (503, SpeechProviderError), (404, SpeechRequestError)],
)  # fmt: skip
def test_http_status_error(status: int, error: type[Exception]) -> None:
    err = http_status_error("LMNT", status, "detail")
    assert type(err) is error
    assert str(err) == f"LMNT answered HTTP {status}: detail"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"error": {"type": "x", "message": "typed"}}', "typed"),
        ('{"error": "flat"}', "flat"),
        ('{"message": "plain"}', "plain"),
        ('{"detail": "fastapi"}', "fastapi"),
        ("<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        ("x" * 1000, "x" * 300),
    ],
)
def test_error_detail(body: str, detail: str) -> None:
    assert error_detail(body) == detail


def test_redact() -> None:
    assert redact("key abc and abc", ["abc", ""]) == "key **REDACTED** and **REDACTED**"
