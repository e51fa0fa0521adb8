"""Constants of the Streaming TTS integration."""

from typing import Final

DOMAIN: Final = "streaming_tts"

CONF_PROVIDER: Final = "provider"
CONF_BASE_URL: Final = "base_url"
CONF_VOICE: Final = "voice"
CONF_LANGUAGE: Final = "language"
CONF_ADVANCED: Final = "advanced"
CONF_MODEL: Final = "model"
CONF_NAME: Final = "name"
# Whether the voice was in the provider's list when it was chosen (a typed
# id may never be listed; a listed one that disappears deserves a repair).
CONF_VOICE_LISTED: Final = "voice_listed"

#: The type of the config subentries that are voice profiles (one TTS entity each).
SUBENTRY_VOICE: Final = "voice"

#: Display names of the providers, by configuration id.
PROVIDER_NAMES: Final = {
    "lmnt": "LMNT",
    "smallest": "Smallest.ai Waves",
    "telnyx": "Telnyx",
    "sarvam": "Sarvam AI",
}

#: How the providers' model names are shown (they are product names, not prose).
MODEL_LABELS: Final = {
    "lightning_v3.1": "Lightning v3.1",
    "lightning_v3.1_pro": "Lightning v3.1 Pro",
    "bulbul:v3": "Bulbul v3",
    "bulbul:v4-flash": "Bulbul v4 Flash",
    "bulbul:v2": "Bulbul v2",
}

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
