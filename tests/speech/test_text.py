"""The streaming text cleaner and the fragment splitter."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import itertools
import re
import unicodedata

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.streaming_tts.speech.text import (
    CLOSERS,
    CONSTRUCT_LIMIT,
    MAX_REPEAT,
    FragmentSplitter,
    TextCleaner,
    TextFragment,
    clean_text,
    ends_sentence,
    text_fragments,
)


@pytest.mark.parametrize(
    ("raw", "spoken"),
    [
        # emphasis, strike-through, inline code
        ("This is **very** *important* and __bold__ _it_.", "This is very important and bold it."),
        ("~~old~~ new `value`", "old new value"),
        ("snake_case and __init__", "snake case and init"),
        # headings, lists, quotes, rules
        ("# Weather\n- Sunny\n- Warm", "Weather. Sunny. Warm"),
        ("## Plan:\n1. Wake up\n2) Coffee\n* Work", "Plan: Wake up. Coffee. Work"),
        ("> quoted text\n\n---\n\nAfter", "quoted text. After"),
        ("Intro line\n- item", "Intro line. item"),
        ("Line one\nline two", "Line one line two"),
        ("Para one\n\nPara two", "Para one. Para two"),
        ("Done!\n\nNext", "Done! Next"),
        # tables
        ("| Room | Temp |\n|---|---|\n| Kitchen | 21 |", "Room, Temp. Kitchen, 21"),
        # links, images, URLs, tags
        ("See [the docs](https://example.com/x).", "See the docs."),
        ("![a cat](cat.png) sleeps", "a cat sleeps"),
        ("Visit https://www.example.com/a?b=c now", "Visit example.com now"),
        ("(see www.home-assistant.io/docs).", "(see home-assistant.io)."),
        ("Mail <https://example.org/x> today", "Mail example.org today"),
        ("one<br>two <b>three</b>", "one two three"),
        ("a < b and c > d", "a < b and c > d"),
        ("[not a link] here", "not a link here"),
        # code blocks are not read aloud
        ("Run:\n```python\nprint('hi')\n```\nThen stop.", "Run: Then stop."),
        ("~~~\ncode\n~~~\nText", "Text"),
        ("Before\n```\nnever closed", "Before"),
        # emoji, pictographs, flags, keycaps, but not ordinary symbols
        ("Sunny 🌞 and warm 🔥🔥!", "Sunny and warm!"),
        ("Lights on 💡.", "Lights on."),
        ("Flags 🇩🇪🇫🇷 and 👍🏽 done", "Flags and done"),
        ("Press 1️⃣ now", "Press 1 now"),
        ("It is 21 °C, 50 % and 3 € & more ©", "It is 21 °C, 50 % and 3 € & more ©"),
        # scripts other than Latin survive intact
        ("नमस्ते, आप कैसे हैं? ठीक हूँ।", "नमस्ते, आप कैसे हैं? ठीक हूँ।"),
        ("你好。今天很好！", "你好。今天很好！"),
        ("Grüße aus Köln, ça va?", "Grüße aus Köln, ça va?"),
        # two assistant messages glued without a space (Home Assistant 2025.x)
        ("Let me check.The light is on", "Let me check. The light is on"),
        ("Done!Next step", "Done! Next step"),
        ("U.S.A and e.g. 3.5 and v2.1 and example.com and file.txt", "U.S.A and e.g. 3.5 and v2.1 and example.com and file.txt"),
        # dashes, escapes, whitespace
        ("Wait - what?", "Wait, what?"),
        (r"A \*literal\* star", "A literal star"),
        ("  lots   of\tspace \r\n here  ", "lots of space here"),
        ("", ""),
        ("   \n\n  ", ""),
        ("🎉🎉", ""),
    ],
)  # fmt: skip
def test_clean_text(raw: str, spoken: str) -> None:
    assert clean_text(raw) == spoken


# Raw text, and what is heard: the cases of line breaks, control and zero-width
# characters, and text with nothing to say. Each is also streamed in every split.
HARD_CASES = [
    # every line break parts words like "\n", with its line and paragraph rules
    ("Line one\r\nLine two\rLine three.", "Line one Line two Line three."),
    *[(f"one{brk}two", "one two") for brk in "\r\n\x0b\x0c\x85\u2028"],
    *[(f"one{brk}{brk}two", "one. two") for brk in "\r\n\x0b\x0c\x85\u2028"],
    ("one\r\n\r\ntwo", "one. two"),
    ("one\n\rtwo", "one. two"),  # LF then CR: two breaks
    ("one\u2029two", "one. two"),  # a paragraph separator ends a paragraph
    ("Intro\r- item\r\n- more", "Intro. item. more"),
    ("Run:\r\n```\r\ncode\r\n```\r\nDone", "Run: Done"),
    ("# Title\u2028Text", "Title. Text"),
    # control characters vanish without parting words; whitespace still parts them
    ("wo\x00rd", "word"),
    ("a\x00b \x00 c\x7fd\x1be\x9ff", "ab cdef"),
    ("one \x00\x01 two\x00\tthree", "one two three"),
    ("\x00\x01\x7f \t\x9f\r\n", ""),
    # zero-width and other invisible characters
    ("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    ("\ufeffzero\u200bwidth con\u00adtinue \u200e\u2060", "zerowidth continue"),
    ("\ufeff# Title\n- item", "Title. item"),
    ("no\u200dt a\u200c \u200cjoin\u200d", "not a join"),  # ASCII needs no joiner
    ("क्\u200d\u200b\u200dष ञ्\u200d\u200d", "क्\u200d\u200dष ञ्"),
    ("क्\u200dष क्ष\u200cत्र", "क्\u200dष क्ष\u200cत्र"),  # Devanagari joiners stay
    ("می\u200cخواهم بروم", "می\u200cخواهم بروم"),  # so does the Persian ZWNJ
    ("👨\u200d💻\u200d coder", "coder"),
    # nothing speakable: nothing at all
    ("...", ""),
    ("?!", ""),
    ("—", ""),
    ("***", ""),
    ("." * 1000, ""),
    ("... ?! — ***\n\n- …", ""),
    ("🙂 🎉.", ""),
    ("… Hello", "Hello"),
    # letters or digits of any script are speakable
    ("مرحبا بالعالم.", "مرحبا بالعالم."),
    ("你好。今天很好！", "你好。今天很好！"),
    ("வணக்கம் 42", "வணக்கம் 42"),
    ("— 7", "7"),
    # punctuation between words stays, long runs are cut short
    ("Wait — what?", "Wait — what?"),
    ("Wait.................... what", "Wait... what"),
    ("Wait" + "." * 1000, "Wait..."),
    ("Really?!?! No!!!!!! Ok…… ——— ---- done", "Really?!?! No!!! Ok…… ——— done"),
    ("Wait . . . . . what", "Wait... what"),
]


HARD_IDS = [ascii(raw)[:40] for raw, _ in HARD_CASES]


@pytest.mark.parametrize(("raw", "spoken"), HARD_CASES, ids=HARD_IDS)
def test_clean_text_hard_cases(raw: str, spoken: str) -> None:
    assert clean_text(raw) == spoken


@pytest.mark.parametrize(("raw", "spoken"), HARD_CASES, ids=HARD_IDS)
def test_hard_cases_in_every_split(raw: str, spoken: str) -> None:
    """Cut anywhere, or fed a character at a time, the text reads the same."""
    points = range(0, len(raw) + 1, max(1, len(raw) // 100))  # each, if short
    splits = [[raw[:at], raw[at:]] for at in points]
    splits += [[raw[:at], raw[at : at + 1], raw[at + 1 :]] for at in points]
    splits.append(list(raw))
    for pieces in splits:
        cleaner = TextCleaner()
        outputs = [cleaner.feed(piece) for piece in pieces] + [cleaner.close()]
        assert "".join(outputs) == spoken, pieces
        assert not any(out.endswith(" ") for out in outputs)


@pytest.mark.parametrize(("raw", "spoken"), HARD_CASES, ids=HARD_IDS)
async def test_hard_cases_as_fragments(raw: str, spoken: str) -> None:
    async def deltas(pieces: list[str]) -> AsyncGenerator[str]:
        for piece in pieces:
            yield piece

    for at in range(0, len(raw) + 1, max(1, len(raw) // 100)):
        pieces = [raw[:at], raw[at:]]
        fragments = [f async for f in text_fragments(deltas(pieces), max_chars=40)]
        assert "".join(f.text for f in fragments) == spoken
        # an empty result is what makes the engine say "no text to speak"
        assert bool(fragments) == bool(spoken)
        assert all(f.text for f in fragments)


def test_a_line_ends_at_a_carriage_return_without_waiting() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("Line one\r") == "Line one"
    assert cleaner.feed("\n") == ""  # completes the "\r\n": no blank line
    assert cleaner.feed("Line two\r") == " Line two"
    assert cleaner.feed("\x00\u200b") == ""
    assert cleaner.feed("\r") == "."  # this one is: the paragraph ends
    assert cleaner.feed("- item\r") == " item."
    assert cleaner.close() == ""


def test_a_joiner_waits_for_what_follows() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("नमस्ते क्\u200d") == "नमस्ते"
    assert cleaner.feed("ष ") == " क्\u200dष"
    cleaner = TextCleaner()
    assert cleaner.feed("word\u200c") == ""
    assert cleaner.close() == "word"  # a joiner at the end joins nothing


def test_sentences_of_punctuation_alone_join_the_next() -> None:
    fragments = FragmentSplitter().feed("Hi. ... Bye. ?! Ok。。好")
    assert fragments == [
        TextFragment("Hi.", True),
        TextFragment(" ... Bye.", True),
        TextFragment(" ?! Ok。", True),
        TextFragment("。好", False),
    ]


def test_words_come_out_as_soon_as_they_are_complete() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("Hel") == ""
    assert cleaner.feed("lo wo") == "Hello"
    assert cleaner.feed("rld. The") == " world."
    assert cleaner.feed(" end") == " The"
    assert cleaner.close() == " end"


def test_finished_words_go_out_before_the_next_token() -> None:
    """A word ending a sentence is released at once, so the flush comes a token sooner."""
    cleaner = TextCleaner()
    assert cleaner.feed("It is sunny ") == "It is sunny"
    assert cleaner.feed("today.") == " today."
    assert cleaner.feed(" Dr.") == ""  # an abbreviation waits
    assert cleaner.feed(" Who") == " Dr."
    assert cleaner.feed(" www.") == " Who"  # so does the start of an address
    assert cleaner.close() == " www."


@pytest.mark.parametrize(
    ("pieces", "spoken"),
    [
        (["Open config.", "yaml now"], "Open config.yaml now"),
        (["Let me check.", "The light"], "Let me check. The light"),
        (["Wow!", "[x](y) ok"], "Wow!x ok"),
        (["Really?", "!"], "Really?!"),
        (["Done.", "**"], "Done."),
        (["See example.", "com/page"], "See example.com/page"),
    ],
)
def test_a_word_released_early_may_go_on(pieces: list[str], spoken: str) -> None:
    cleaner = TextCleaner()
    out = "".join(cleaner.feed(piece) for piece in pieces) + cleaner.close()
    assert out == spoken == clean_text("".join(pieces))


def test_open_constructs_are_held_until_they_close() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("See [the ") == "See"
    assert cleaner.feed("docs](https://x") == ""
    assert cleaner.feed(".y/z) now ") == " the docs now"


def test_line_start_waits_for_the_first_word() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("Intro\n-") == "Intro"
    assert cleaner.feed(" item ") == ". item"
    assert cleaner.feed("\n```") == "."
    assert cleaner.feed("py\nx = 1\n") == ""
    assert cleaner.feed("```\nAfter ") == " After"


def test_unclosed_constructs_are_released_within_the_limit() -> None:
    cleaner = TextCleaner()
    assert cleaner.feed("An [open bracket ") == "An"
    out = cleaner.feed("x " * CONSTRUCT_LIMIT)
    assert out.startswith(" open bracket x x")


def test_huge_single_chunk() -> None:
    text = "Word **bold** [link](https://x.y/z) and more text. " * 2000
    spoken = clean_text(text)
    assert spoken.count("Word bold link and more text.") == 2000


def test_pathological_input_finishes() -> None:
    assert clean_text("[" * 50_000) == ""
    assert clean_text("<a" * 20_000) == "<a" * 20_000
    assert clean_text("a " + "`" * 10_001 + " x") == "a x"


MESSAGES = st.lists(
    st.sampled_from(
        [*"ab XY.!?,:;-*_#`[]()<>|~\n\t\r🌞你。12é",
         *"\u2028\u2029\x0b\x0c\x85\x00\x1b\x7f\x9f\u200b\u200c\u200d\u2060\ufeff\u00ad",
         *"क्षم—…", "....", "\r\n", "\r\n- ", "\r```\r",
         "https://www.ex.com/a ", "**", "```", "\n- ", "\n# ", "[l](u)", "<br>",
         "e.g. ", "Dr. ", "| x |", "\n\n", "👍🏽", "1. "]
    ),
    max_size=40,
).map("".join)  # fmt: skip


def split(text: str, cuts: list[int]) -> list[str]:
    """Split text at the given positions."""
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400, deadline=None)
@given(MESSAGES, st.lists(st.integers(min_value=0), max_size=10))
# A run of one combining mark (a virama), whole and cut between outputs.
@example("a\u094d\u094d\u094d\u094d", [])
@example("a\u094d\u094d\u094d\u094d\u094d", [2, 4])
def test_any_split_gives_the_same_speech(text: str, cuts: list[int]) -> None:
    """Nothing dropped, duplicated or reordered, however the text arrives."""
    cleaner = TextCleaner()
    outputs = [cleaner.feed(piece) for piece in split(text, cuts)] + [cleaner.close()]
    spoken = clean_text(text)
    assert "".join(outputs) == spoken
    assert spoken == spoken.strip()
    assert "  " not in spoken
    assert "\n" not in spoken
    assert "\t" not in spoken
    assert not any(unicodedata.category(char) == "Cc" for char in spoken)
    assert not set(spoken) & set("\u2028\u2029\u200b\u2060\ufeff\u00ad")
    for joiners in re.finditer("[\u200c\u200d]+", spoken):  # only between letters
        for char in spoken[joiners.start() - 1], spoken[joiners.end()]:
            assert not char.isascii()
            assert unicodedata.category(char)[0] in "LM"
    assert not spoken or any(char.isalnum() for char in spoken)
    assert not any(
        len(set(spoken[i : i + MAX_REPEAT + 1])) == 1 and not spoken[i].isalnum()
        for i in range(len(spoken) - MAX_REPEAT)
    )
    for out in outputs:
        assert not out.endswith(" ")


@settings(max_examples=300, deadline=None)
@given(MESSAGES, st.lists(st.integers(min_value=0), max_size=10), st.integers(1, 12))
def test_fragments_cover_the_text(text: str, cuts: list[int], max_chars: int) -> None:
    cleaner = TextCleaner()
    splitter = FragmentSplitter(max_chars)
    fragments: list[TextFragment] = []
    for piece in split(text, cuts):
        fragments += splitter.feed(cleaner.feed(piece))
    fragments += splitter.feed(cleaner.close())
    assert "".join(f.text for f in fragments) == clean_text(text)
    spoken = ""
    for fragment in fragments:
        assert fragment.text
        assert len(fragment.text) <= max_chars
        spoken += fragment.text
        if fragment.sentence_end:
            assert spoken.rstrip(CLOSERS)[-1] in ".!?…。！？।"


@pytest.mark.parametrize(
    ("word", "end"),
    [("done.", True), ("really?", True), ("wow!", True), ("so…", True), ('"yes."', True),
     ("(ok.)", True), ("U.S.", True), ("Dr.", False), ("e.g.", False), ("Mr.", False),
     ("J.", False), ("3.5", False), ("word", False), ("好。", True), ("है।", True)],
)  # fmt: skip
def test_ends_sentence(word: str, end: bool) -> None:
    assert ends_sentence(word) is end


def test_fragments_end_at_sentences() -> None:
    splitter = FragmentSplitter()
    cleaned = "Hi there. Dr. Smith is in. J. R. R. Tolkien wrote it! Really? 你好。今天"
    fragments = splitter.feed(cleaned)
    assert fragments == [
        TextFragment("Hi there.", True),
        TextFragment(" Dr. Smith is in.", True),
        TextFragment(" J. R. R. Tolkien wrote it!", True),
        TextFragment(" Really?", True),
        TextFragment(" 你好。", True),
        TextFragment("今天", False),
    ]


def test_max_chars_splits_at_spaces() -> None:
    splitter = FragmentSplitter(max_chars=10)
    fragments = splitter.feed("one two three four. supercalifragilistic")
    assert [f.text for f in fragments] == [
        "one two",
        " three",
        " four.",
        " supercali",
        "fragilisti",
        "c",
    ]
    assert [f.sentence_end for f in fragments] == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="positive"):
        FragmentSplitter(0)


async def test_text_fragments_stream() -> None:
    async def deltas() -> AsyncGenerator[str]:
        for token in ["Hel", "lo **wor", "ld**! How", " are", " you?", " 🙂"]:
            yield token

    fragments = [fragment async for fragment in text_fragments(deltas())]
    assert fragments == [
        TextFragment("Hello", False),
        TextFragment(" world!", True),
        TextFragment(" How", False),
        # " you?" looks finished: it goes out the moment it arrives.
        TextFragment(" are you?", True),
    ]
