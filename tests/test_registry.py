"""Every provider is complete: its module, its registry line, translations, emulator, tests.

CONTRIBUTING.md lists the steps of adding a provider; each test here fails,
naming the missing piece, when one of them was skipped.
"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
import pkgutil

import pytest

from custom_components.streaming_tts import config_flow, speech
from custom_components.streaming_tts.speech import (
    MODEL,
    PROVIDERS,
    StreamingClient,
)
from custom_components.streaming_tts.speech.contract import WireProtocol
from tests.conftest import CASES
from tests.emulators.__main__ import PROVIDERS as EMULATORS
from tests.emulators.variants import END_VARIANTS

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "custom_components" / "streaming_tts"
TRANSLATIONS = json.loads((COMPONENT / "translations" / "en.json").read_text())


def defined_clients() -> dict[str, type[StreamingClient]]:
    """Return every concrete client class the speech modules define, by module."""
    found: dict[str, type[StreamingClient]] = {}
    for module_info in pkgutil.iter_modules(speech.__path__):
        module = importlib.import_module(f"{speech.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, StreamingClient)
                and not inspect.isabstract(value)
                and value.__module__ == module.__name__
            ):
                found[module_info.name] = value
    return found


def test_every_provider_module_is_registered() -> None:
    for module, client in defined_clients().items():
        assert client in PROVIDERS.values(), (
            f"speech/{module}.py defines {client.__name__}, which "
            "speech/registry.py does not list: add it there"
        )


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_module_declares_its_provider(provider: str) -> None:
    client = PROVIDERS[provider]
    where = f"{client.__module__}.{client.__name__}"
    assert client.provider_id == provider, f"{where}.provider_id is not {provider!r}"
    assert client.provider, f"{where} has no display name (provider)"
    assert client.default_base_url.startswith("https://"), (
        f"{where}.default_base_url must be the provider's https:// API root"
    )
    assert client.languages, f"{where} lists no languages"
    assert client.pcm_sample_rates, f"{where} lists no PCM sample rates"
    assert client.encodings, f"{where} streams no encoding"
    assert issubclass(client.wire_protocol, WireProtocol), (
        f"{where}.wire_protocol is not a WireProtocol"
    )
    assert client.wire_protocol.provider == client.provider, (
        f"{where} and its wire protocol name the provider differently"
    )
    keys = [option.key for option in client.options]
    assert len(keys) == len(set(keys)), f"{where} declares a setting twice"
    model = client.option(MODEL)
    for option in client.options:
        for choice in option.choices:
            if option.key == MODEL:
                assert option.label(choice) != str(choice), (
                    f"{where}: model {choice!r} has no label"
                )
        for taker in option.models:
            assert model is not None, f"{where}: {option.key} names models; it has none"
            assert taker in model.choices, (
                f"{where}: {option.key} names {taker!r}, which is not a model"
            )


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_every_form_field_is_labelled(provider: str) -> None:
    """The voice step and the profile steps label every setting of every provider."""
    fields = {"voice", "language", *(o.key for o in PROVIDERS[provider].options)}
    steps = {
        "config.step.voice": TRANSLATIONS["config"]["step"]["voice"],
        **{
            f"config_subentries.voice.step.{name}": step
            for name, step in TRANSLATIONS["config_subentries"]["voice"]["step"].items()
        },
    }
    for name, step in steps.items():
        assert fields <= set(step["data"]), (
            f"en.json {name}.data lacks {sorted(fields - set(step['data']))}"
        )
        assert fields <= set(step["data_description"]), (
            f"en.json {name}.data_description lacks "
            f"{sorted(fields - set(step['data_description']))}"
        )


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_provider_is_offered_by_its_name(provider: str) -> None:
    selector = config_flow.USER_SCHEMA.schema
    field = next(key for key in selector if key == "provider")
    offered = {
        option["value"]: option["label"] for option in selector[field].config["options"]
    }
    assert offered.get(provider) == PROVIDERS[provider].provider


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_provider_has_an_emulator(provider: str) -> None:
    assert (ROOT / "tests" / "emulators" / f"{provider}.py").is_file(), (
        f"tests/emulators/{provider}.py is missing: every provider has an emulator"
    )
    assert provider in EMULATORS, (
        f"tests/emulators/__main__.py does not offer {provider!r} (scripts/develop)"
    )
    assert provider in END_VARIANTS, (
        f"tests/emulators/variants.py has no END_VARIANTS for {provider!r}: how its "
        "server may end an answer is not tested"
    )


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_provider_has_its_tests(provider: str) -> None:
    assert provider in CASES, (
        f"tests/conftest.py CASES has no ProviderCase for {provider!r}: the shared "
        "suites (library, Home Assistant, faults) would not run for it"
    )
    assert CASES[provider].title == PROVIDERS[provider].provider, (
        f"the {provider!r} ProviderCase's title is not the provider's name"
    )
    for path in (
        f"tests/sdk/test_{provider}_sdk.py",
        f"tests/sdk/clients/{provider}_sdk_client.py",
        f"tests/sdk/providers/{provider}.py",
    ):
        assert (ROOT / path).is_file(), (
            f"{path} is missing: the emulator is checked against the official SDK"
        )
