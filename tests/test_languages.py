"""Home Assistant language tags <-> provider codes."""

from __future__ import annotations

import pytest

from custom_components.streaming_tts.languages import ha_languages, provider_language


def test_base_codes_get_their_regions() -> None:
    tags = ha_languages(["en", "de", "xx"])
    assert {"en", "en-US", "en-GB", "de", "de-DE", "de-AT", "xx"} <= set(tags)
    assert tags == sorted(tags)


def test_regional_codes_get_their_base() -> None:
    assert ha_languages(["hi-IN", "ta-IN"]) == ["hi", "hi-IN", "ta", "ta-IN"]


@pytest.mark.parametrize(
    ("tag", "codes", "expected"),
    [
        ("en", ["en", "de"], "en"),
        ("en-US", ["en", "de"], "en"),
        ("en_gb", ["en"], "en"),
        ("hi-IN", ["hi-IN", "en-IN"], "hi-IN"),
        ("hi", ["hi-IN", "en-IN"], "hi-IN"),
        ("HI-in", ["hi-IN"], "hi-IN"),
        ("fr", ["en", "de"], None),
    ],
)
def test_provider_language(tag: str, codes: list[str], expected: str | None) -> None:
    assert provider_language(tag, codes) == expected
