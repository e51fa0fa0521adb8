"""Check this repository as the Marketplace of Home Assistant 2026.11+ reads it.

Run with the interpreter of a Home Assistant that has the Marketplace
(``homeassistant/components/marketplace``, HACS in core); prints JSON: every
problem found (an empty list when there is none), with the version checked.
On a Home Assistant without a Marketplace it says so and checks nothing.
"""

import json
import logging
from pathlib import Path
import sys

from awesomeversion import AwesomeVersion
from homeassistant import components
from homeassistant.const import __version__ as ha_version

try:  # only Home Assistant 2026.11 and later have a Marketplace
    from homeassistant.components.marketplace.exceptions import MarketplaceError
    from homeassistant.components.marketplace.repositories import base, integration
    from homeassistant.components.marketplace.utils import validate
except ImportError:
    validate = None

# The repository to check: this one, or the one named on the command line.
ROOT = Path(
    sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent
).resolve()
COMPONENT = ROOT / "custom_components" / "streaming_tts"
# Keys HACS reads that the Marketplace has no use for.
HACS_ONLY_KEYS = {"render_readme"}


def core_manifest_values(key: str) -> set[str]:
    """Every value core integrations use for a list key of manifest.json."""
    found: set[str] = set()
    for manifest in Path(components.__file__).parent.glob("*/manifest.json"):
        found.update(json.loads(manifest.read_text()).get(key, []))
    return found


class Collected(logging.Handler):
    """Keep the messages logged, e.g. the Marketplace's "Ignoring ... in hacs.json"."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def problems() -> list[str]:
    """Return what the Marketplace would ignore or refuse."""
    found: list[str] = []
    hacs = json.loads((ROOT / "hacs.json").read_text())
    ignored = Collected()
    base.LOGGER.addHandler(ignored)
    parsed = base.RepositoryManifest.from_dict(hacs)
    found += [f"hacs.json: {message}" for message in ignored.messages]
    for key in set(hacs) - set(validate.REPOSITORY_MANIFEST_VALUES) - HACS_ONLY_KEYS:
        found.append(f"hacs.json: the Marketplace does not know {key!r}")
    if parsed.name != hacs.get("name"):
        found.append("hacs.json: name not taken")
    if parsed.homeassistant is None:
        found.append("hacs.json: no minimum Home Assistant version")
    elif AwesomeVersion(ha_version) < AwesomeVersion(parsed.homeassistant):
        found.append(f"hacs.json: {ha_version} is below {parsed.homeassistant}")
    if parsed.content_in_root or parsed.zip_release:
        found.append("hacs.json: the integration is in custom_components/, unzipped")

    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    # The Marketplace's own checks of an integration's manifest are module
    # private; calling them is the point (a copy could drift from it).
    try:
        domain = integration._validated_domain(manifest.get("domain"))  # noqa: SLF001
        integration._check_loadable_manifest(COMPONENT, domain)  # noqa: SLF001
    except MarketplaceError as err:
        found.append(f"manifest.json: {err.translation_key}")
    for key, schema in validate.INTEGRATION_MANIFEST_VALUES.items():
        try:
            schema(manifest[key])
        except (KeyError, validate.probatio.Invalid) as err:
            found.append(f"manifest.json: {key}: {err!r}")
    for key in ("categories", "connectivity"):
        unknown = set(manifest.get(key, [None])) - core_manifest_values(key)
        if unknown:
            found.append(
                f"manifest.json: {key} {sorted(map(str, unknown))} unknown to core"
            )
    return found


if __name__ == "__main__":
    has_marketplace = validate is not None
    print(
        json.dumps(
            {
                "version": ha_version,
                "marketplace": has_marketplace,
                "problems": problems() if has_marketplace else [],
            }
        )
    )
