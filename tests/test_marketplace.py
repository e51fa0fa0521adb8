"""The repository as Home Assistant's Marketplace (2026.11+, HACS in core) reads it.

scripts/check_marketplace.py runs on the newest Home Assistant release (.venv-ha,
named by STREAMING_TTS_HA_PYTHON), using the Marketplace's own code and schemas.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import subprocess
import sys
from typing import Any

from awesomeversion import AwesomeVersion

ROOT = Path(__file__).parent.parent
HA_PYTHON = os.environ.get("STREAMING_TTS_HA_PYTHON", sys.executable)


def check(root: Path = ROOT) -> dict[str, Any]:
    result = subprocess.run(
        [HA_PYTHON, str(ROOT / "scripts" / "check_marketplace.py"), str(root)],
        capture_output=True, check=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    return dict(json.loads(result.stdout))


def test_the_marketplace_takes_the_repository() -> None:
    result = check()
    # The Marketplace ships from 2026.11; older releases have none to ask.
    assert result["marketplace"] is (
        AwesomeVersion(result["version"]) >= AwesomeVersion("2026.11.0")
    )
    assert result["problems"] == []


def test_the_check_finds_what_the_marketplace_would_refuse(tmp_path: Path) -> None:
    if not (result := check())["marketplace"]:
        assert AwesomeVersion(result["version"]) < AwesomeVersion("2026.11.0")
        return
    shutil.copytree(ROOT / "custom_components", tmp_path / "custom_components")
    (tmp_path / "hacs.json").write_text(
        json.dumps({"name": 7, "homeassistant": "2099.1.0", "zip_release": True,
                    "country": "NL"})
    )  # fmt: skip
    manifest = tmp_path / "custom_components" / "streaming_tts" / "manifest.json"
    data = json.loads(manifest.read_text())
    data.pop("version")
    data["categories"] = ["no_such_category"]
    manifest.write_text(json.dumps(data))
    problems = "\n".join(check(tmp_path)["problems"])
    for expected in ("name", "2099.1.0", "'country'", "unzipped",
                     "installed_manifest_without_version", "no_such_category"):  # fmt: skip
        assert expected in problems, problems
