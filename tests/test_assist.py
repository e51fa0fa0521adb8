"""The entity where users meet it: tts.speak to a media player, and an Assist pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from http import HTTPStatus
import time
from typing import Any, Literal

from homeassistant.components import conversation, media_source
from homeassistant.components.conversation.const import DATA_COMPONENT
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.streaming_tts.speech.text import clean_text
from tests.conftest import ProviderCase
from tests.emulators import EmulatorServer
from tests.emulators.synth import audio_seconds
from tests.speech.helpers import decoded_seconds

ANSWER = (
    "The **kitchen** lights are now on 💡, and I set them to a warm white. "
    "The front door is locked. Anything else?"
)


async def test_tts_speak_to_a_media_player(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
) -> None:
    """tts.speak hands the player a media source; resolving it streams our audio."""
    assert await async_setup_component(hass, "media_source", {})
    calls = async_mock_service(hass, "media_player", "play_media")
    await hass.services.async_call(
        "tts",
        "speak",
        {
            "entity_id": case.engine,
            "media_player_entity_id": "media_player.kitchen",
            "message": "Dinner is *ready*!",
            "options": {"voice": case.other_voice},
        },
        blocking=True,
    )
    assert len(calls) == 1
    media_id = calls[0].data["media_content_id"]
    resolved = await media_source.async_resolve_media(hass, media_id, None)
    client = await hass_client()
    response = await client.get(resolved.url)
    assert response.status == HTTPStatus.OK
    audio = await response.read()
    assert " ".join(emulator.sessions[-1].text.split()) == "Dinner is ready!"
    assert emulator.sessions[-1].voice == case.other_voice
    assert decoded_seconds(audio) == about(audio_seconds("Dinner is ready!"))


def about(seconds: float) -> Any:
    """Decoded audio length: the text's length within the encoder's padding."""
    return pytest.approx(seconds, abs=0.15)


class StreamingAgent(conversation.ConversationEntity):
    """A conversation agent that writes its answer as LLM-like token deltas."""

    _attr_supports_streaming = True
    _attr_name = "Streaming agent"
    _attr_unique_id = "streaming-agent"

    def __init__(self, answer: str, interval: float) -> None:
        self._answer = answer
        self._interval = interval
        self.finished_at: float | None = None

    @property
    def supported_languages(self) -> Literal["*"]:
        """Speak any language."""
        return MATCH_ALL

    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async def deltas() -> AsyncGenerator[dict[str, str]]:
            yield {"role": "assistant"}
            for start in range(0, len(self._answer), 4):
                await asyncio.sleep(self._interval)
                yield {"content": self._answer[start : start + 4]}

        async for _content in chat_log.async_add_delta_content_stream(
            self.entity_id, deltas()
        ):
            pass
        self.finished_at = time.monotonic()
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


async def start_pipeline_run(
    ws: Any, agent: StreamingAgent, case: ProviderCase, voice: str
) -> dict[str, Any]:
    """Create a pipeline from ``agent`` to the case's engine, run it; return run-start."""
    await ws.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "name": "Streaming",
            "language": "en",
            "conversation_engine": agent.entity_id,
            "conversation_language": "en",
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": case.engine,
            "tts_language": case.language,
            "tts_voice": voice,
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    pipeline = await ws.receive_json()
    assert pipeline["success"], pipeline
    await ws.send_json_auto_id(
        {
            "type": "assist_pipeline/run",
            "start_stage": "intent",
            "end_stage": "tts",
            "input": {"text": "Turn on the kitchen lights"},
            "pipeline": pipeline["result"]["id"],
        }
    )
    assert (await ws.receive_json())["success"]
    run_start: dict[str, Any] = await ws.receive_json()
    return run_start


async def test_assist_pipeline_streams_the_agents_answer(
    hass: HomeAssistant,
    case: ProviderCase,
    loaded_entry: MockConfigEntry,
    emulator: EmulatorServer[Any],
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """An Assist pipeline with a streaming agent: speech starts while it still writes."""
    # Conversation agents read which entities are exposed to them.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    agent = StreamingAgent(ANSWER, interval=0.03)
    await hass.data[DATA_COMPONENT].async_add_entities([agent])
    ws = await hass_ws_client(hass)
    run_start = await start_pipeline_run(ws, agent, case, case.other_voice)
    assert run_start["event"]["type"] == "run-start"
    assert run_start["event"]["data"]["tts_output"]["stream_response"] is True

    # The satellite opens the URL at once, before any text exists.
    client = await hass_client()
    first_audio: list[float] = []

    async def satellite() -> bytes:
        url = run_start["event"]["data"]["tts_output"]["url"]
        response = await client.get(url)
        assert response.status == HTTPStatus.OK
        audio = b""
        async for chunk in response.content.iter_any():
            first_audio.append(time.monotonic())
            audio += chunk
        return audio

    listening = asyncio.create_task(satellite())
    events = []
    while (event := (await ws.receive_json())["event"])["type"] != "run-end":
        events.append(event)
    audio = await listening

    kinds = [event["type"] for event in events]
    assert "error" not in kinds
    assert any(
        event["type"] == "intent-progress" and event["data"].get("tts_start_streaming")
        for event in events
    )
    session = emulator.sessions[-1]
    assert " ".join(session.text.split()) == " ".join(clean_text(ANSWER).split())
    assert session.voice == case.other_voice
    assert agent.finished_at is not None
    assert first_audio[0] < agent.finished_at
    assert decoded_seconds(audio) == about(audio_seconds(clean_text(ANSWER)))
