"""What the browser test checks on every screen, and how it reaches Home Assistant's widgets.

Home Assistant's frontend is web components in shadow roots: Playwright's
role locators pierce them, and ``aria_snapshot`` reads the whole tree, which
is what a screen reader (and this test) sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
from typing import Any

from playwright.async_api import ConsoleMessage, Error, Locator, Page, Response

from tests.real_home_assistant import ROOT

#: Where each step's screenshot goes; CI keeps the folder when the run fails.
SCREENSHOTS = Path(
    os.environ.get("STREAMING_TTS_SCREENSHOTS", ROOT / "artifacts" / "browser")
)
#: Set to docs/screenshots to refresh the README's pictures from this run.
README_SCREENSHOTS = os.environ.get("STREAMING_TTS_README_SCREENSHOTS")
#: Steps whose screenshots the README shows, by the name the walk gives them.
README_SHOTS = ("add-account", "first-voice", "voice-profile")

RAW_KEY = re.compile(r"component\.streaming_tts\.[\w.]+")
PLACEHOLDER = re.compile(r"\{(provider|default_urls|\w+_models|\w+_voices)\}")
# Console noise of a machine without internet, not of this integration:
# map tiles, brand images and the cloud's resources fail to load.
OFFLINE_NOISE = re.compile(
    r"Failed to load resource|ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|"
    r"brands\.home-assistant\.io|tile\.openstreetmap|cartocdn|GPU stall"
)
OURS = re.compile(
    r"streaming_tts|tts_proxy|Streaming TTS|tts\.(lmnt|telnyx|sarvam|smallest)"
)


@dataclass
class Screen:
    """One browser page and the evidence of the walk: screenshots, console lines."""

    page: Page
    step: int = 0
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def listen(self) -> None:
        """Record the console's errors and uncaught exceptions."""

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console.append(message.text)
                if not OFFLINE_NOISE.search(message.text) and OURS.search(message.text):
                    self.errors.append(f"console: {message.text}")

        def on_page_error(error: Error) -> None:
            text = f"uncaught: {error.name}: {error.message}\n{error.stack}"
            self.console.append(text)
            if OURS.search(text):
                self.errors.append(text)

        def on_response(response: Response) -> None:
            if response.status >= 400:
                text = f"HTTP {response.status}: {response.url}"
                self.console.append(text)
                if OURS.search(response.url) and response.status != 401:
                    self.errors.append(text)

        self.page.on("console", on_console)
        self.page.on("response", on_response)
        self.page.on("pageerror", on_page_error)

    async def snapshot(self) -> str:
        """Return the accessibility tree of the whole page, shadow roots included."""
        return await self.page.locator("body").aria_snapshot()

    async def shot(self, name: str) -> str:
        """Screenshot this step; fail on anything a user should never see."""
        self.step += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.step:02d}-{name}.png"
        await self.page.screenshot(path=path)
        if README_SCREENSHOTS and name in README_SHOTS:
            target = Path(README_SCREENSHOTS)
            target.mkdir(parents=True, exist_ok=True)
            (target / f"{name}.png").write_bytes(path.read_bytes())
        tree = await self.snapshot()
        (SCREENSHOTS / f"{self.step:02d}-{name}.txt").write_text(tree)
        (SCREENSHOTS / "console.txt").write_text("\n".join(self.console))
        assert not RAW_KEY.search(tree), (
            f"{name}: raw translation key {RAW_KEY.search(tree)}"
        )
        assert not PLACEHOLDER.search(tree), (
            f"{name}: unfilled {PLACEHOLDER.search(tree)}"
        )
        assert not self.errors, f"{name}: {self.errors}"
        return tree

    def field(self, label: str) -> Locator:
        """A select or picker field, by its label (anchored: "Voice" is not "Add voice").

        The whole page is searched: a dialog's controls are slotted into it,
        so they are not its descendants in the DOM.
        """
        return self.page.get_by_role(
            "button", name=re.compile(rf"^{re.escape(label)}\b")
        ).filter(visible=True)

    async def choose(self, label: str, option: str, shown: str | None = None) -> None:
        """Open a select field, pick an option (a list or a menu, by widget), and
        wait until the closed field shows it (``shown``: what it shows instead,
        such as a voice's id)."""
        await self.field(label).click()
        choice = self.page.get_by_role("option", name=option, exact=True).or_(
            self.page.get_by_role("menuitem", name=option, exact=True)
        )
        await choice.filter(visible=True).first.click()
        await choice.filter(visible=True).first.wait_for(state="hidden")
        value = re.escape(shown or option)
        await (
            self.page.get_by_role(
                "button",
                name=re.compile(rf"^{re.escape(label)}\b.*\b{value}$", re.IGNORECASE),
            )
            .filter(visible=True)
            .first.wait_for()
        )

    async def offered(self, label: str) -> list[str]:
        """Open a select field, return what it offers, and close it again."""
        await self.field(label).click()
        items = self.page.get_by_role("option").or_(self.page.get_by_role("menuitem"))
        await items.filter(visible=True).first.wait_for()
        names = [
            (await item.get_attribute("aria-label"))
            or (await item.text_content() or "")
            for item in await items.filter(visible=True).all()
        ]
        await self.page.keyboard.press("Escape")
        return [name.strip() for name in names]

    async def submit(self) -> None:
        """Press the open dialog's Submit."""
        await (
            self.page.get_by_role("button", name="Submit").filter(visible=True).click()
        )

    async def alert(self) -> str:
        """Return the error the open form shows."""
        alert = self.page.get_by_role("alert").filter(visible=True).first
        await alert.wait_for()
        # Its text is rendered in its shadow root: read what assistive tech reads.
        tree = await alert.aria_snapshot()
        return tree.partition(":")[2].strip().strip('"')


def integration_log_errors(log: Path) -> list[str]:
    """Return the Home Assistant log's errors that come from this integration."""
    errors: list[str] = []
    record: list[str] = []
    for line in [*log.read_text(errors="replace").splitlines(), ""]:
        if re.match(r"\d{4}-\d\d-\d\d ", line) or not line:
            text = "\n".join(record)
            if record and " ERROR " in record[0] and "streaming_tts" in text:
                errors.append(text)
            record = [line] if line else []
        else:
            record.append(line)
    return errors


def diagnostics_text(download: Path) -> tuple[str, dict[str, Any]]:
    """Return a downloaded diagnostics file as text and as data."""
    text = download.read_text()
    return text, json.loads(text)
