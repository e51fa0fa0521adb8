"""A new user's first run, in Chromium, against a real Home Assistant and the emulators.

Onboarding, an account for each provider (a wrong key first), the voice step's
dropdowns, a second voice profile, reconfiguring it and the account, speech
from Media → Text-to-speech and from an assistant's Try voice (the audio the
browser receives is decoded), and diagnostics without the key. Every step is
screenshotted (tests/browser/ui.py says where) and fails on raw translation
keys, unfilled placeholders and console errors of this integration; the
Home Assistant log must hold no error of it at the end.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
import os
from pathlib import Path
import re
import shutil
import sys

from playwright.async_api import Locator, Response, async_playwright
import pytest

from tests.conftest import CASES
from tests.real_home_assistant import API_KEY, RealHomeAssistant, real_home_assistant
from tests.speech.helpers import decoded_seconds

from .ui import SCREENSHOTS, Screen, diagnostics_text, integration_log_errors

HA_PYTHON = os.environ.get("STREAMING_TTS_HA_PYTHON", sys.executable)
CHROMIUM = os.environ.get("STREAMING_TTS_CHROMIUM", "/usr/bin/chromium")
OWNER = {"Name*": "Ada", "Username*": "ada", "Password*": "correct-horse-7",
         "Confirm password*": "correct-horse-7"}  # fmt: skip
MESSAGE = "The washing machine has finished; the laundry can be hung up."
FINISH = re.compile(r"^(Finish|Skip and finish|Close|OK)$")


@pytest.fixture
async def running(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[RealHomeAssistant]:
    """Every emulator and Home Assistant with its web UI, not onboarded."""
    async with real_home_assistant(tmp_path, HA_PYTHON, web_ui=True) as ha:
        yield ha


async def onboard(screen: Screen, url: str) -> None:
    """Create the owner the way the onboarding screens ask."""
    page = screen.page
    await page.goto(url)
    await page.get_by_role("button", name="Create my smart home").click()
    for label, value in OWNER.items():
        await page.get_by_role("textbox", name=label, exact=True).fill(value)
    await screen.shot("onboarding")
    await page.get_by_role("button", name="Create account").click()
    for _ in range(3):  # home location, country, analytics
        await page.get_by_role("button", name="Next").click()
    await page.get_by_role("button", name="Finish").click()
    await page.get_by_role("heading", name="Welcome Ada").wait_for()


async def finish_flow(screen: Screen, name: str) -> str:
    """Close the flow's last dialog; return what it said."""
    finish = screen.page.get_by_role("button", name=FINISH).filter(visible=True).first
    await finish.wait_for()
    tree = await screen.shot(name)
    await finish.click()
    await screen.page.get_by_role("dialog").first.wait_for(state="hidden")
    return tree


async def add_account(screen: Screen, ha: RealHomeAssistant, provider: str) -> None:
    """Add one provider: a wrong key first, then the right one, then its first voice."""
    case = CASES[provider]
    page = screen.page
    await page.goto(f"{ha.url}/config/integrations/dashboard/add?domain=streaming_tts")
    await page.get_by_role("button", name="OK", exact=True).click()
    await screen.choose("Provider", case.title)
    await page.get_by_role("textbox", name="API key*").fill("wrong-key")
    await page.get_by_role("button", name="Advanced").click()
    await page.get_by_role("textbox", name="API URL").fill(ha.emulator_urls[provider])
    await screen.shot("add-account" if provider == "lmnt" else f"add-{provider}")
    await screen.submit()
    assert (await screen.alert()).startswith("Invalid API key")
    await screen.shot(f"wrong-key-{provider}")
    await page.get_by_role("textbox", name="API key*").fill(API_KEY)
    await screen.submit()

    await page.get_by_text("Choose the first voice").wait_for()
    voices = await screen.offered("Voice")
    assert any(voice.startswith(case.voice_name) for voice in voices), voices
    languages = await screen.offered("Language")
    assert languages, f"{provider}: the language list is empty"
    for label in ("Model", "Sample rate"):
        if await screen.field(label).count():
            assert await screen.offered(label), f"{provider}: {label} is empty"
    label = next(v for v in voices if v.startswith(case.voice_name))
    await screen.choose("Voice", label, shown=case.voice)
    await screen.shot("first-voice" if provider == "lmnt" else f"voice-{provider}")
    await screen.submit()
    # Home Assistant offers to name the new device: the profile's name.
    created = await finish_flow(screen, f"created-{provider}")
    assert 'textbox "Device name"' in created
    assert f"text: {case.profile_title}" in created


def profile_row(screen: Screen, title: str) -> Locator:
    """The row of a voice profile on the integration page."""
    return screen.page.locator("ha-config-sub-entry-row").filter(has_text=title)


async def add_profile(screen: Screen, ha: RealHomeAssistant) -> None:
    """A second LMNT profile, Bedtime, with another voice."""
    page = screen.page
    await page.goto(f"{ha.url}/config/integrations/integration/streaming_tts")
    entry = page.locator("ha-config-entry-row").filter(has_text="LMNT").first
    await entry.get_by_role("button", name="Menu").first.click()
    await page.get_by_role("menuitem", name="Add voice profile").click()
    await page.get_by_text("Add a voice profile").wait_for()
    await page.get_by_role("textbox", name="Name*").fill("Bedtime")
    await screen.choose("Voice", "Elowen", shown="elowen")
    await screen.shot("voice-profile")
    await screen.submit()
    await finish_flow(screen, "profile-added")
    await profile_row(screen, "Bedtime").first.wait_for()


async def reconfigure_profile(screen: Screen, ha: RealHomeAssistant) -> None:
    """Change the Telnyx profile's speed from its gear icon."""
    page = screen.page
    await page.goto(f"{ha.url}/config/integrations/integration/streaming_tts")
    row = profile_row(screen, CASES["telnyx"].profile_title).first
    await row.get_by_role("button", name="Configure").click()
    await page.get_by_text("Change the voice profile").wait_for()
    speed = page.get_by_role("spinbutton")
    await speed.fill("1.2")
    await screen.shot("profile-reconfigure")
    await screen.submit()
    tree = await finish_flow(screen, "profile-changed")
    assert "The voice profile has been changed." in tree


async def reconfigure_account(screen: Screen, ha: RealHomeAssistant) -> None:
    """Paste the Sarvam key again through the account's menu."""
    page = screen.page
    await page.goto(f"{ha.url}/config/integrations/integration/streaming_tts")
    entry = page.locator("ha-config-entry-row").filter(has_text="Sarvam AI").first
    await entry.get_by_role("button", name="Menu").first.click()
    await page.get_by_role("menuitem", name="Reconfigure").click()
    await page.get_by_text("Change the account").wait_for()
    await page.get_by_role("textbox", name="API key*").fill(API_KEY)
    await screen.shot("account-reconfigure")
    await screen.submit()
    tree = await finish_flow(screen, "account-changed")
    assert "The account has been updated" in tree


def check_audio(response: Response, body: bytes) -> float:
    """The speech the browser received: its status, type and decoded length."""
    assert response.status == 200, response.status
    assert response.headers["content-type"] == "audio/mpeg"
    seconds = decoded_seconds(body, "mp3")
    assert seconds > 1.0, seconds
    return seconds


async def speak_from_media(screen: Screen, ha: RealHomeAssistant) -> None:
    """Media → Text-to-speech → Bedtime: type a message, press Say."""
    page = screen.page
    await page.goto(f"{ha.url}/media-browser/browser/app%2Cmedia-source%3A%2F%2Ftts")
    tiles = [CASES[p].profile_title for p in CASES] + ["Bedtime"]
    for tile in tiles:
        await page.get_by_text(tile, exact=True).filter(visible=True).first.wait_for()
    await screen.shot("media-tiles")
    await page.get_by_text("Bedtime", exact=True).filter(visible=True).first.click()
    # The profile's own voice is offered first.
    await (
        page.get_by_role("button", name="Voice * Elowen")
        .filter(visible=True)
        .wait_for()
    )
    await page.get_by_role("textbox", name="Message").fill(MESSAGE)
    async with page.expect_response(lambda r: "/api/tts_proxy/" in r.url) as answer:
        await page.get_by_role("button", name="Say").click()
    response = await answer.value
    body = await (await page.context.request.get(response.url)).body()
    check_audio(response, body)
    await screen.shot("media-said")


async def try_voice(screen: Screen, ha: RealHomeAssistant) -> None:
    """The default assistant's text-to-speech set to the Telnyx profile, Try voice."""
    page = screen.page
    await page.goto(f"{ha.url}/config/voice-assistants/assistants")
    await page.get_by_role("button", name="Home Assistant English").click()
    await screen.choose("Text-to-speech", CASES["telnyx"].profile_title)
    # The voice picker comes once the engine's voices are read.
    await screen.field("Voice").first.wait_for()
    await page.get_by_role("button", name="Update").filter(visible=True).wait_for()
    await screen.shot("assistant-voice")
    await page.get_by_role("button", name="Try voice").click()
    await page.get_by_text("Try text-to-speech").wait_for()
    await page.get_by_role("textbox", name="Message").filter(visible=True).fill(MESSAGE)
    async with page.expect_response(lambda r: "/api/tts_proxy/" in r.url) as answer:
        await page.get_by_role("button", name="Play").click()
    response = await answer.value
    body = await (await page.context.request.get(response.url)).body()
    check_audio(response, body)
    await screen.shot("try-voice")
    await page.keyboard.press("Escape")
    await page.get_by_text("Try text-to-speech").wait_for(state="hidden")
    await page.get_by_role("button", name="Update").click()
    await page.get_by_role("dialog").first.wait_for(state="hidden")


async def download_diagnostics(screen: Screen, ha: RealHomeAssistant) -> None:
    """The LMNT account's diagnostics: downloaded, the key nowhere in them."""
    page = screen.page
    await page.goto(f"{ha.url}/config/integrations/integration/streaming_tts")
    entry = page.locator("ha-config-entry-row").filter(has_text="LMNT").first
    await entry.get_by_role("button", name="Menu").first.click()
    async with page.expect_download() as downloading:
        await (
            page.get_by_role("menuitem", name="Download diagnostics")
            .filter(visible=True)
            .first.click()
        )
    download = await downloading.value
    text, data = diagnostics_text(Path(await download.path()))
    assert API_KEY not in text
    assert data["data"]["entry"]["data"]["api_key"] == "**REDACTED**"
    await screen.shot("diagnostics")


@pytest.mark.timeout(300)
async def test_a_new_user_sets_up_every_provider_in_the_web_ui(
    running: RealHomeAssistant,
) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox"]
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="en-US",
                accept_downloads=True,
            )  # fmt: skip
            # Generous: in CI other tests share the two cores.
            context.set_default_timeout(30_000)
            shutil.rmtree(SCREENSHOTS, ignore_errors=True)
            screen = Screen(await context.new_page())
            screen.listen()
            await onboard(screen, running.url)
            for provider in CASES:
                await add_account(screen, running, provider)
            await add_profile(screen, running)
            await reconfigure_profile(screen, running)
            await reconfigure_account(screen, running)
            await speak_from_media(screen, running)
            await try_voice(screen, running)
            await download_diagnostics(screen, running)
        finally:
            await browser.close()
    assert not integration_log_errors(running.log)
