"""Tests of the Streaming TTS integration and its speech library."""
