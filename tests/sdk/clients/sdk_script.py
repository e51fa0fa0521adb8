"""What every SDK client script shares: its command line, JSON values, its summary line.

The scripts run by path under the SDK interpreter (see tests/sdk/helpers.py),
which puts this folder first on sys.path, so they import this module by name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
import json
from pathlib import Path
from typing import Any


def plain(value: Any, **dump: Any) -> Any:
    """Turn SDK models (validated or merely constructed) into JSON values.

    `dump` are the options of the models' model_dump(), which differ by SDK.
    """
    if hasattr(value, "model_dump"):
        return plain(value.model_dump(**dump), **dump)
    if isinstance(value, dict):
        return {str(k): plain(v, **dump) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, **dump) for v in value]
    return value


def describe_error(err: BaseException, **dump: Any) -> dict[str, Any]:
    """Summarise an SDK exception: its class, HTTP status and body (see `plain`)."""
    return {
        "exception": type(err).__name__,
        "status_code": getattr(err, "status_code", None),
        "body": plain(getattr(err, "body", None), **dump),
    }


def scenarios(namespace: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """Return a script's scenarios: its functions named scenario_<name>, by name."""
    return {
        name.removeprefix("scenario_"): value
        for name, value in namespace.items()
        if name.startswith("scenario_") and callable(value)
    }


def parser(scenarios: Iterable[str]) -> argparse.ArgumentParser:
    """Return the arguments every script takes: BASE_URL API_KEY SCENARIO [--audio-out FILE]."""
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("api_key")
    parser.add_argument("scenario", choices=sorted(scenarios))
    parser.add_argument("--audio-out")
    return parser


def write_audio(path: str | None, audio: bytes) -> None:
    """Store the audio the SDK handed over, for the test to decode."""
    if path:
        Path(path).write_bytes(audio)


def emit(summary: dict[str, Any], sdk_version: str) -> int:
    """Print `summary` with the SDK's version as one JSON line, the one the test reads."""
    summary["sdk_version"] = sdk_version
    print(json.dumps(summary), flush=True)
    return 0
