"""The browser test's own checks catch what they are there to catch."""

from __future__ import annotations

from pathlib import Path

from .ui import OFFLINE_NOISE, OURS, PLACEHOLDER, RAW_KEY, integration_log_errors

LOG = """\
2026-12-03 17:33:54.019+00:00 ERROR (MainThread) [homeassistant.config_entries] Error setting up entry Google Translate
Traceback (most recent call last):
ModuleNotFoundError: No module named 'gtts'
2026-12-03 17:34:01.100+00:00 WARNING (MainThread) [custom_components.streaming_tts.config_flow] Telnyx refused the voice list
2026-12-03 17:34:02.200+00:00 ERROR (MainThread) [homeassistant.components.tts] Error during stream
Traceback (most recent call last):
  File "/config/custom_components/streaming_tts/tts.py", line 1, in stream
RuntimeError: boom
2026-12-03 17:34:03.300+00:00 ERROR (MainThread) [custom_components.streaming_tts] Unexpected error
"""


def test_log_errors_of_this_integration_only(tmp_path: Path) -> None:
    log = tmp_path / "ha.log"
    log.write_text(LOG)
    errors = integration_log_errors(log)
    assert len(errors) == 2
    assert "RuntimeError: boom" in errors[0]
    assert "Unexpected error" in errors[1]


def test_screen_checks() -> None:
    assert RAW_KEY.search("- text: component.streaming_tts.config.step.voice.title")
    assert not RAW_KEY.search("- text: Choose the first voice")
    assert PLACEHOLDER.search("Voices offered by your {provider} account")
    assert PLACEHOLDER.search("Models that take it: {pitch_models}.")
    assert not PLACEHOLDER.search("Voices offered by your LMNT account")
    assert OURS.search("GET /api/tts_proxy/abc.mp3 500")
    assert OFFLINE_NOISE.search(
        "Failed to load resource: the server responded with 404"
    )
