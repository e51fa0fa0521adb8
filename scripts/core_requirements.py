"""Print the requirements of Home Assistant core integrations, with their dependencies.

The installed Home Assistant's own manifests decide, so every Home Assistant
version gets the pins it ships with: python scripts/core_requirements.py tts
"""

import importlib.util
import json
from pathlib import Path
import sys

# Found, not imported: before its own requirements are installed, importing
# Home Assistant fails.
_HA = importlib.util.find_spec("homeassistant")
if _HA is None or not _HA.submodule_search_locations:
    sys.exit("Home Assistant is not installed in this interpreter")
COMPONENTS = Path(_HA.submodule_search_locations[0]) / "components"


def requirements(domains: list[str]) -> list[str]:
    """Return the requirements of ``domains`` and everything they depend on."""
    seen: set[str] = set()
    found: list[str] = []
    pending = list(domains)
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        path = COMPONENTS / domain / "manifest.json"
        if not path.is_file():
            continue  # not in this Home Assistant version
        manifest = json.loads(path.read_text())
        found.extend(r for r in manifest.get("requirements", []) if r not in found)
        pending.extend(manifest.get("dependencies", []))
    return sorted(found)


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
