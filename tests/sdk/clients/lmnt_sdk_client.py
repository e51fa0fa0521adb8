"""Drive the official LMNT SDK against an emulator; print one JSON summary line.

Runs under the SDK interpreter (requirements_sdk.txt), not Home Assistant's:

    python lmnt_sdk_client.py BASE_URL API_KEY SCENARIO [--audio-out FILE]

Scenarios:
    session     voices, account, then a streamed session with a flush and finish
    reset       a session that resets buffered text before speaking
    bad_key     REST and a session with a key the server refuses
    rest_error  REST calls while the server answers every call with an error
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import sys
from typing import Any

import lmnt
from lmnt import AsyncLmnt
from sdk_script import describe_error, emit, parser, plain, scenarios, write_audio

# Split mid-word on purpose: the server must join the pieces in order.
FIRST_PARTS = ["Hello the", "re, this is a te", "st of the emer"]
SECOND_PARTS = ["gency broad", "cast system."]
RESET_DROPPED = "This sentence is dropped by the reset."
RESET_KEPT = "Only this is spoken."


async def drain(session: Any, audio_out: str | None) -> dict[str, Any]:
    """Iterate the session until the server closes it; summarise what came."""
    summary: dict[str, Any] = {
        "types": [],
        "classes": [],
        "audio_bytes": 0,
        "audio_messages": 0,
        "flush_complete": [],
        "reset_complete": [],
        "timestamps": [],
        "errors": [],
    }
    audio = bytearray()
    async for message in session:
        kind = message.type
        summary["types"].append(kind)
        if type(message).__name__ not in summary["classes"]:
            summary["classes"].append(type(message).__name__)
        if kind == "audio":
            audio += message.audio
            summary["audio_messages"] += 1
        elif kind == "ready":
            summary["ready_request_id"] = message.request_id
        elif kind == "flush_complete":
            summary["flush_complete"].append(message.nonce)
        elif kind == "reset_complete":
            summary["reset_complete"].append(message.nonce)
        elif kind == "timestamps":
            summary["timestamps"].append(plain(message.timestamps))
        elif kind == "error":
            summary["errors"].append(
                {"error": plain(message.error), "request_id": message.request_id}
            )
    summary["audio_bytes"] = len(audio)
    summary["request_id"] = session.request_id
    await asyncio.to_thread(write_audio, audio_out, bytes(audio))
    return summary


async def scenario_session(client: AsyncLmnt, audio_out: str | None) -> dict[str, Any]:
    """List voices, read the account, then stream text with a flush and finish."""
    voices = await client.voices.list()
    starred = await client.voices.list(owner="all", starred="false")
    voice = await client.voices.retrieve("leah")
    account = await client.accounts.retrieve()
    session = await client.speech.sessions.create(
        voice="leah",
        format="mp3",
        language="en",
        return_timestamps=True,
        sample_rate=24000,
    )
    for part in FIRST_PARTS:
        await session.send_text(part)
    flush_nonce = await session.send_flush()
    for part in SECOND_PARTS:
        await session.send_text(part)
    await session.send_finish()
    result = await drain(session, audio_out)
    await session.close()
    return {
        "voices": [plain(v) for v in voices],
        "voice_classes": sorted({type(v).__name__ for v in voices}),
        "starred_false_count": len(starred),
        "voice": plain(voice),
        "account": plain(account),
        "account_class": type(account).__name__,
        "sent_first": "".join(FIRST_PARTS),
        "sent_second": "".join(SECOND_PARTS),
        "flush_nonces_sent": [flush_nonce],
        **result,
    }


async def scenario_reset(client: AsyncLmnt, audio_out: str | None) -> dict[str, Any]:
    """Reset buffered text, then speak something else."""
    session = await client.speech.sessions.create(voice="elowen")
    await session.send_text(RESET_DROPPED)
    reset_nonce = await session.send_reset()
    await session.send_text(RESET_KEPT)
    flush_nonce = await session.send_flush()
    await session.send_finish()
    result = await drain(session, audio_out)
    return {"reset_nonce": reset_nonce, "flush_nonce": flush_nonce, **result}


async def scenario_bad_key(client: AsyncLmnt, audio_out: str | None) -> dict[str, Any]:
    """Call REST and open a session with a key the server refuses."""
    summary: dict[str, Any] = {}
    try:
        await client.voices.list()
    except lmnt.APIStatusError as err:
        summary["rest_error"] = describe_error(err)
    session = await client.speech.sessions.create(voice="leah")
    await session.send_text("This is never spoken.")
    await session.send_finish()
    summary.update(await drain(session, audio_out))
    return summary


async def scenario_rest_error(
    client: AsyncLmnt, audio_out: str | None
) -> dict[str, Any]:
    """Call REST while the server answers with an error status."""
    summary: dict[str, Any] = {}
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "voices": client.voices.list,
        "account": client.accounts.retrieve,
    }
    for name, call in calls.items():
        try:
            await call()
        except lmnt.APIStatusError as err:
            summary[name] = describe_error(err)
        else:
            summary[name] = None
    return summary


SCENARIOS = scenarios(globals())


async def main() -> int:
    """Run one scenario and print its summary as one JSON line."""
    args = parser(SCENARIOS).parse_args()
    # No retries: every error the emulator sends must reach the summary once.
    client = AsyncLmnt(api_key=args.api_key, base_url=args.base_url, max_retries=0)
    try:
        async with asyncio.timeout(20):
            summary = await SCENARIOS[args.scenario](client, args.audio_out)
    finally:
        await client.close()
    return emit(summary, lmnt.__version__)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
