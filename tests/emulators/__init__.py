"""Local emulators of the speech providers' APIs, for tests and development."""

from .base import EmulatorConfig, EmulatorServer, RecordedRequest
from .lmnt import LmntEmulator, LmntEmulatorConfig, LmntSessionRecord

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "LmntEmulator",
    "LmntEmulatorConfig",
    "LmntSessionRecord",
    "RecordedRequest",
]
