"""What the entity asks each provider for, by request and Home Assistant version."""

from __future__ import annotations

import pytest

from custom_components.streaming_tts.formats import (
    FormatHints,
    choose_format,
    flac_rate,
)
from custom_components.streaming_tts.speech import (
    AudioEncoding,
    AudioFormat,
    StreamingClient,
)
from custom_components.streaming_tts.speech.lmnt import LmntClient
from custom_components.streaming_tts.speech.sarvam import SarvamClient
from custom_components.streaming_tts.speech.smallest import SmallestClient
from custom_components.streaming_tts.speech.telnyx import TelnyxClient

MP3 = AudioEncoding.MP3
PCM = AudioEncoding.PCM_S16LE
RAW = AudioFormat(PCM, 44100, raw=True)
PLAYER = FormatHints()
WAV16 = FormatHints("wav", 16000, 1, 2)
FLAC48 = FormatHints("flac", 48000, 1, 2)
NATURAL = "Telnyx.NaturalHD.astra"
KOKORO = "Telnyx.KokoroTTS.af_heart"


@pytest.mark.parametrize(
    ("client", "voice", "hints", "trusted", "expected"),
    [
        # Players: MP3 as the provider makes it, on every version.
        (LmntClient, "leah", PLAYER, True, AudioFormat(MP3, 24000)),
        (TelnyxClient, NATURAL, PLAYER, False, AudioFormat(MP3, 24000)),
        (SarvamClient, "anushka", PLAYER, True, AudioFormat(MP3, 24000)),
        # Smallest.ai has no MP3: bare samples before 2026.11, streaming WAV after.
        (SmallestClient, "magnus", PLAYER, False, RAW),
        (SmallestClient, "magnus", PLAYER, True, AudioFormat(PCM, 44100)),
        # 2026.11: WAV made at the asked rate, nothing to convert.
        (LmntClient, "leah", WAV16, True, AudioFormat(PCM, 16000)),
        (SmallestClient, "magnus", WAV16, True, AudioFormat(PCM, 16000)),
        (TelnyxClient, NATURAL, WAV16, True, AudioFormat(PCM, 16000)),
        (SarvamClient, "anushka", WAV16, True, AudioFormat(PCM, 16000)),
        # 2026.11: mono FLAC is written by the entity from bare samples at the
        # best rate on offer; other containers (and stereo) are converted from
        # streaming WAV (unwrapped to raw PCM, so ffmpeg starts at once).
        (LmntClient, "leah", FLAC48, True, AudioFormat(PCM, 24000, raw=True)),
        (SmallestClient, "magnus", FLAC48, True, RAW),
        (TelnyxClient, NATURAL, FLAC48, True, AudioFormat(PCM, 48000, raw=True)),
        (SarvamClient, "anushka", FLAC48, True, AudioFormat(PCM, 24000, raw=True)),
        (LmntClient, "leah", FormatHints("flac", 48000, 2), True, AudioFormat(PCM, 24000)),
        (LmntClient, "leah", FormatHints("ogg", 48000), True, AudioFormat(PCM, 24000)),
        (LmntClient, "leah", FormatHints("mp3", 48000, 2), True, AudioFormat(PCM, 24000)),
        (LmntClient, "leah", FormatHints(bitrate=64), True, AudioFormat(PCM, 24000)),
        # 2026.11, WAV the provider cannot make as asked: anything but WAV, so
        # that Home Assistant converts it.
        (LmntClient, "leah", FormatHints("wav", 48000), True, AudioFormat(MP3, 24000)),
        (LmntClient, "leah", FormatHints("wav", 16000, 2), True, AudioFormat(MP3, 24000)),
        (SmallestClient, "magnus", FormatHints("wav", 22050), True, RAW),
        (SmallestClient, "magnus", FormatHints("wav", 16000, 1, 4), True, RAW),
        (TelnyxClient, KOKORO, WAV16, True, AudioFormat(MP3, 24000)),
        (TelnyxClient, KOKORO, FLAC48, True, AudioFormat(MP3, 24000)),
        # Before 2026.11 every hint means ffmpeg with its full probe: bare
        # samples fill it soonest, else MP3.
        (SmallestClient, "magnus", WAV16, False, RAW),
        (TelnyxClient, NATURAL, FLAC48, False, RAW),
        (TelnyxClient, KOKORO, FLAC48, False, AudioFormat(MP3, 24000)),
        (LmntClient, "leah", WAV16, False, AudioFormat(MP3, 24000)),
        (SarvamClient, "anushka", FLAC48, False, AudioFormat(MP3, 24000)),
        # A plain WAV (no rate asked) is made as WAV on every version.
        (LmntClient, "leah", FormatHints("wav"), False, AudioFormat(PCM, 24000)),
        (SmallestClient, "magnus", FormatHints("wav"), True, AudioFormat(PCM, 44100)),
    ],
)  # fmt: skip
def test_choice(
    client: type[StreamingClient],
    voice: str,
    hints: FormatHints,
    trusted: bool,
    expected: AudioFormat,
) -> None:
    assert choose_format(client, voice, hints, None, trusted=trusted) == expected


def test_the_profile_rate_is_kept_where_nothing_is_asked() -> None:
    assert choose_format(
        SmallestClient, "magnus", PLAYER, 24000, trusted=True
    ) == AudioFormat(PCM, 24000)
    assert choose_format(
        SmallestClient, "magnus", FLAC48, 16000, trusted=True
    ) == AudioFormat(PCM, 44100, raw=True)


def test_hints_are_read_leniently() -> None:
    hints = FormatHints.from_options(
        {
            "preferred_format": "flac",
            "preferred_sample_rate": "48000",
            "preferred_sample_channels": 1,
            "preferred_sample_bytes": "two",
            "preferred_bitrate": True,
        }
    )
    assert hints == FormatHints("flac", 48000, 1, None, None)
    assert FormatHints.from_options({}) == PLAYER
    assert not PLAYER.shaped
    assert not FormatHints("flac", bitrate=128).shaped
    assert FormatHints("mp3", bitrate=128).shaped


@pytest.mark.parametrize(
    ("client", "voice", "hints", "trusted", "expected"),
    [
        (LmntClient, "leah", FLAC48, True, 48000),
        (SmallestClient, "magnus", FormatHints("flac"), True, 44100),
        (TelnyxClient, NATURAL, FormatHints("flac", 16000, 1), True, 16000),
        (LmntClient, "leah", FLAC48, False, None),  # HA converts anyway
        (LmntClient, "leah", FormatHints("flac", 48000, 2), True, None),
        (LmntClient, "leah", FormatHints("flac", 48000, 1, 3), True, None),
        (LmntClient, "leah", FormatHints("flac", 11025), True, None),
        (TelnyxClient, KOKORO, FLAC48, True, None),  # MP3 only
        (LmntClient, "leah", WAV16, True, None),
    ],
)  # fmt: skip
def test_who_writes_flac(
    client: type[StreamingClient],
    voice: str,
    hints: FormatHints,
    trusted: bool,
    expected: int | None,
) -> None:
    assert flac_rate(client, voice, hints, None, trusted=trusted) == expected
