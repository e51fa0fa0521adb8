"""URL, error-body and status helpers of the shared session layer."""

from __future__ import annotations

import pytest

from custom_components.streaming_tts.speech import (
    ProviderOption,
    SpeechAuthError,
    SpeechProviderError,
    SpeechQuotaError,
    SpeechRateLimitError,
    SpeechRequestError,
    SpeechTimeoutError,
    SpeechVoiceError,
)
from custom_components.streaming_tts.speech.audio import (
    streaming_wav_header,
    strip_wav_header,
)
from custom_components.streaming_tts.speech.errors import (
    error_detail,
    http_status_error,
    message_error,
    redact,
)
from custom_components.streaming_tts.speech.urls import check_base_url, websocket_url


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


@pytest.mark.parametrize(
    ("message", "status", "kind"),
    [
        ("Invalid API key", None, SpeechAuthError),
        ("Insufficient credits on this account", None, SpeechQuotaError),
        ("Too many concurrent connections", None, SpeechRateLimitError),
        ("400: Speaker 'x' is not compatible with model bulbul:v3", 400, SpeechVoiceError),
        ("Invalid voice_id 'x'", None, SpeechVoiceError),
        ("Connection timed out after 60 seconds of inactivity", None, SpeechTimeoutError),
        ("Input parameters has to be a valid dictionary", 422, SpeechRequestError),
        ("Internal Server Error", 500, SpeechProviderError),
        ("Error in audio response", None, SpeechProviderError),
    ],
)  # fmt: skip
def test_message_error(message: str, status: int | None, kind: type) -> None:
    error = message_error("P", message, status=status)
    assert type(error) is kind
    assert error.message == f"P: {message}"
    assert error.status == status


def test_error_detail_shapes() -> None:
    assert error_detail('{"errors": [{"code": "1", "detail": "bad key"}]}') == "bad key"
    assert error_detail('{"error": {"message": "nope"}}') == "nope"
    assert error_detail('{"detail": "Not Found"}') == "Not Found"
    assert error_detail("plain text ") == "plain text"


def test_option_parse() -> None:
    speed = ProviderOption("speed", 1.0, minimum=0.5, maximum=2.0)
    assert speed.parse("1.5") == 1.5
    assert speed.parse(2) == 2.0
    for bad in (2.5, "fast", None, True, "nan"):
        with pytest.raises(ValueError, match="speed"):
            speed.parse(bad)
    rate = ProviderOption("sample_rate", 24000, choices=(24000, 16000))
    assert rate.parse("16000") == 16000
    with pytest.raises(ValueError, match="one of 24000, 16000"):
        rate.parse(8000)


def test_strip_wav_header() -> None:
    header = streaming_wav_header(16000, 1)
    pcm = b"\x01\x02" * 10
    assert strip_wav_header(header + pcm) == pcm
    assert strip_wav_header(pcm) == pcm
    assert strip_wav_header(header) == b""
    # A header with an extra chunk before the data.
    fact = b"RIFF\x00\x00\x00\x00WAVEfmt \x02\x00\x00\x00ab" + b"data\x04\x00\x00\x00"
    assert strip_wav_header(fact + pcm) == pcm
