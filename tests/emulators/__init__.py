"""Local emulators of the speech providers' APIs, for tests and development."""

from .base import EmulatorConfig, EmulatorServer, RecordedRequest
from .lmnt import LmntEmulator, LmntEmulatorConfig, LmntSessionRecord
from .sarvam import SarvamEmulator, SarvamEmulatorConfig, SarvamSessionRecord
from .smallest import (
    SmallestEmulator,
    SmallestEmulatorConfig,
    SmallestSessionRecord,
    SmallestSseRecord,
)
from .telnyx import TelnyxEmulator, TelnyxEmulatorConfig, TelnyxSessionRecord

__all__ = [
    "EmulatorConfig",
    "EmulatorServer",
    "LmntEmulator",
    "LmntEmulatorConfig",
    "LmntSessionRecord",
    "RecordedRequest",
    "SarvamEmulator",
    "SarvamEmulatorConfig",
    "SarvamSessionRecord",
    "SmallestEmulator",
    "SmallestEmulatorConfig",
    "SmallestSessionRecord",
    "SmallestSseRecord",
    "TelnyxEmulator",
    "TelnyxEmulatorConfig",
    "TelnyxSessionRecord",
]
