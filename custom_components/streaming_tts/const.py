"""Constants of the Streaming TTS integration."""

from typing import Final

from .speech import MODEL

DOMAIN: Final = "streaming_tts"

CONF_PROVIDER: Final = "provider"
CONF_BASE_URL: Final = "base_url"
CONF_VOICE: Final = "voice"
CONF_LANGUAGE: Final = "language"
CONF_ADVANCED: Final = "advanced"
CONF_MODEL: Final = MODEL
CONF_NAME: Final = "name"
# Whether the voice was in the provider's list when it was chosen (a typed
# id may never be listed; a listed one that disappears deserves a repair).
CONF_VOICE_LISTED: Final = "voice_listed"

#: The type of the config subentries that are voice profiles (one TTS entity each).
SUBENTRY_VOICE: Final = "voice"

#: Regional variants offered beside each base language, so that pipelines and
#: satellites that send "en-US" or "de-DE" find this engine as well as "en".
REGIONS: Final = {
    "ar": ("SA", "AE", "EG"),
    "bn": ("IN", "BD"),
    "de": ("DE", "AT", "CH"),
    "en": ("US", "GB", "AU", "CA", "IE", "IN", "NZ", "ZA"),
    "es": ("ES", "MX", "US", "AR", "CO"),
    "fr": ("FR", "BE", "CA", "CH"),
    "hi": ("IN",),
    "it": ("IT", "CH"),
    "ja": ("JP",),
    "ko": ("KR",),
    "nl": ("NL", "BE"),
    "pt": ("BR", "PT"),
    "ru": ("RU",),
    "sv": ("SE",),
    "ta": ("IN",),
    "te": ("IN",),
    "zh": ("CN", "TW", "HK"),
}
