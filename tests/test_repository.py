"""What hassfest and the HACS action check, repeated locally (they need GitHub to run).

Manifest keys and order, hacs.json keys, the brand icon, translations complete
for every key the code uses, allowed imports, and the quality scale.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPONENT = ROOT / "custom_components" / "streaming_tts"
SOURCES = sorted(COMPONENT.glob("*.py"))
TRANSLATIONS = json.loads((COMPONENT / "translations" / "en.json").read_text())

# hacs/integration's HACS_MANIFEST_JSON_SCHEMA (extra keys are rejected).
HACS_KEYS = {
    "name", "homeassistant", "hacs", "render_readme", "zip_release", "filename",
    "content_in_root", "hide_default_branch", "country", "persistent_directory",
}  # fmt: skip
# The 54 rules of the Integration Quality Scale (hassfest's ALL_RULES).
RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
    "config-flow-test-coverage", "dependency-transparency", "docs-actions",
    "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup",
    "entity-unique-id", "has-entity-name", "runtime-data", "test-before-configure",
    "test-before-setup", "unique-config-entry", "action-exceptions",
    "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage", "devices", "diagnostics", "discovery", "discovery-update-info",
    "docs-data-update", "docs-examples", "docs-known-limitations",
    "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
    "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations",
    "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def source() -> str:
    """Return the integration's Python code (the speech library excluded)."""
    return "\n".join(path.read_text() for path in SOURCES)


def test_one_integration_with_readme_and_licence() -> None:
    assert [p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir()
            and p.name != "__pycache__"] == ["streaming_tts"]  # fmt: skip
    assert (ROOT / "README.md").is_file()
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_manifest() -> None:
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:]), "hassfest: keys after domain and name sorted"
    assert manifest["domain"] == COMPONENT.name
    for key in ("version", "codeowners", "documentation", "issue_tracker", "iot_class"):
        assert manifest[key], key
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] in {"cloud_push", "cloud_polling"}
    assert manifest["config_flow"] is (COMPONENT / "config_flow.py").is_file()
    assert all(
        re.fullmatch(r"[\w.\[\],-]+==[\w.]+", r) for r in manifest["requirements"]
    )
    assert all(c.startswith("@") for c in manifest["codeowners"])


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"]
    assert AwesomeVersion(hacs["homeassistant"]) >= AwesomeVersion("2025.12.0")


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_icon(name: str, size: int) -> None:
    data = (COMPONENT / "brand" / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)


def walk(tree: Any, path: str = "") -> list[tuple[str, Any]]:
    """Return every (dotted path, value) leaf of a JSON tree."""
    if not isinstance(tree, dict):
        return [(path, tree)]
    return [leaf for key, value in tree.items()
            for leaf in walk(value, f"{path}.{key}" if path else key)]  # fmt: skip


def test_translations_are_plain_text() -> None:
    for path, value in walk(TRANSLATIONS):
        assert isinstance(value, str), path
        assert value.strip(), path
        assert "[%key:" not in value, f"{path}: references work only in core"
        assert not re.search(r"<[a-z/][^>]*>", value), f"{path}: no HTML"


def test_every_key_the_code_uses_is_translated() -> None:
    code = source()
    exceptions = set(TRANSLATIONS["exceptions"])
    issues = set(TRANSLATIONS["issues"])
    for key in re.findall(r'translation_key="([a-z_]+)"', code):
        assert key in exceptions | issues, key
    # tts.py's table of library errors -> exception keys.
    for key in re.findall(r'\(Speech\w+, "([a-z_]+)"\)', code):
        assert key in exceptions, key
    flow_errors = set(TRANSLATIONS["config"]["error"])
    profile_errors = set(TRANSLATIONS["config_subentries"]["voice"]["error"])
    for key in re.findall(r'(?:"base"|CONF_\w+|err\.key): "([a-z_]+)"', code):
        assert key in flow_errors | profile_errors, key
    aborts = set(TRANSLATIONS["config"]["abort"]) | set(
        TRANSLATIONS["config_subentries"]["voice"]["abort"]
    )
    for key in re.findall(r'reason="([a-z_]+)"', code):
        assert key in aborts, key
    assert {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    } <= aborts
    for step in re.findall(r'step_id="([a-z_]+)"', code):
        assert step in TRANSLATIONS["config"]["step"], step
    for step in ("user", "reconfigure"):
        assert step in TRANSLATIONS["config_subentries"]["voice"]["step"]
    # The entity is named by its voice profile (the user's words), not translated.
    assert "entity" not in TRANSLATIONS
    assert "_attr_has_entity_name = False" in code


def test_icons() -> None:
    icons = json.loads((COMPONENT / "icons.json").read_text())
    assert icons["entity"]["tts"]["speech"]["default"].startswith("mdi:")


def test_only_allowed_home_assistant_imports() -> None:
    """hassfest: a component import must be a platform we implement, or a dependency."""
    manifest = json.loads((COMPONENT / "manifest.json").read_text())
    platforms = {path.stem for path in SOURCES}
    allowed = {"tts"} | (platforms & {"diagnostics"}) | set(manifest["dependencies"])
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "homeassistant.components"
            ):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[:2] == ["homeassistant", "components"]:
                    assert parts[2] in allowed, f"{path.name} imports {name}"


def test_the_speech_library_has_no_home_assistant_imports() -> None:
    for path in (COMPONENT / "speech").glob("*.py"):
        assert "homeassistant" not in path.read_text(), path.name
    assert (COMPONENT / "speech" / "py.typed").is_file()


def test_quality_scale_accounts_for_every_rule() -> None:
    scale = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    assert set(scale) == RULES
    assert len(RULES) == 54
    for rule, value in scale.items():
        status = value if isinstance(value, str) else value["status"]
        assert status in {"done", "exempt"}, rule
        if status == "exempt":
            assert value["comment"], f"{rule}: an exemption needs its reason"


def test_the_development_configuration_has_no_http_yaml() -> None:
    """Home Assistant 2026.11 keeps its http settings in the UI and raises a
    repair on every start for any left in YAML.
    """
    config = yaml.safe_load(
        (ROOT / "scripts" / "homeassistant_configuration.yaml").read_text()
    )
    assert "http" not in config
    assert "repairs" in config


def test_readme_screenshots_come_from_the_browser_test() -> None:
    """Each picture the README shows is one the browser test writes (README_SHOTS)."""
    shown = re.findall(
        r"\(docs/screenshots/([\w-]+)\.png\)", (ROOT / "README.md").read_text()
    )
    assert shown
    walk = (ROOT / "tests" / "browser" / "ui.py").read_text()
    taken = re.search(r"README_SHOTS = \(([^)]*)\)", walk)
    assert taken is not None
    assert sorted(shown) == sorted(re.findall(r'"([\w-]+)"', taken.group(1)))
    for name in shown:
        picture = ROOT / "docs" / "screenshots" / f"{name}.png"
        assert picture.read_bytes().startswith(b"\x89PNG"), name
