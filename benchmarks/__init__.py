"""Latency benchmark: Home Assistant's real TTS machinery against the provider emulators.

Run it with scripts/bench (see the README and docs/benchmarks.md).
"""
