"""Turn what an LLM writes into what a listener should hear, as it is written.

Language models answer in token-sized deltas ("Hel", "lo wo", "rld."), in
markdown, with emoji and links. :class:`TextCleaner` turns such a stream into
clean spoken text, releasing each word as soon as it is complete (whitespace
seen after it) and holding back only what may still change: the current word,
a line's first word (a list marker? a code fence?), and an inline construct
that has not closed yet (``[link](url)``, ```code```, ``<tag>``; never longer
than :data:`CONSTRUCT_LIMIT` characters). Words come out with a single leading
space as separator, so the output never ends in a space.

Before any of that, :class:`_Normaliser` makes every kind of line break a
newline and drops what cannot be heard: control and format characters (NUL,
zero-width spaces, soft hyphens, bidi marks). Text with nothing to say (only
punctuation, emoji or markup) comes out empty.

The result does not depend on how the input was split: feeding a message in
any pieces gives exactly :func:`clean_text` of the whole message.

:class:`FragmentSplitter` then cuts the cleaned text into the fragments sent to
a provider, marking where sentences end (where a provider is asked to flush).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass
from enum import Enum
import re
from typing import Final
import unicodedata
from urllib.parse import urlsplit

#: How far ahead an opening ``[``, backtick or ``<`` may look for its closer.
#: Beyond this the character is taken literally, so nothing is held for long.
CONSTRUCT_LIMIT: Final = 300

SENTENCE_END: Final = frozenset(".!?…。！？।")
# Terminators of scripts written without spaces: a cut is safe right after them.
UNSPACED_END: Final = frozenset("。！？，、；：")
PHRASE_END: Final = SENTENCE_END | frozenset(",:;，、；：")
CLOSERS: Final = "\"')]}»”’"
OPENERS: Final = "\"'([{«“‘"
ABBREVIATIONS: Final = frozenset(
    {
        "mr.", "mrs.", "ms.", "dr.", "st.", "sr.", "jr.", "prof.", "vs.", "e.g.",
        "i.e.", "approx.", "no.", "nr.", "fig.", "inc.", "ltd.", "co.", "mt.",
        "ft.", "dept.", "est.", "cf.", "al.", "ca.", "z.b.", "bzw.", "usw.", "d.h.",
    }
)  # fmt: skip

_FENCES: Final = ("```", "~~~")
_HEADING: Final = re.compile(r"#{1,6}")
_LIST_MARKER: Final = re.compile(r"(?:[-*+•]|\d{1,3}[.)])")
_MARKERS_ONLY: Final = re.compile(r"[*_~#=+|`-]+")
_URL: Final = re.compile(
    r"(?P<pre>[\"'(\[]*)(?P<url>(?:https?://|www\.)[^\s]+?)(?P<post>[)\]\"'.,;:!?]*)"
)
_GLUED: Final = re.compile(r"(?<=[a-z0-9][.!?])(?=[A-Z][a-z])")
_INNER_UNDERSCORE: Final = re.compile(r"(?<=\w)_+(?=\w)")
_ESCAPED: Final = re.compile(r"\\([!-/:-@\[-`{-~])")
_BREAK_TAGS: Final = frozenset({"br", "p", "div", "li", "tr", "hr"})
_WHITESPACE: Final = re.compile(r"\s+")
_UNSPACED_CUT: Final = re.compile(r"(?<=[。！？，、；：])")
_UNSPACED_SENTENCE: Final = re.compile(r"[。！？][”’」』）)]*(?=\S)")
_WORD: Final = re.compile(r"\S+")
# A word that looks finished before the next character is seen: letters, then
# one sentence terminator ("today.", "don't!"). Releasing it at once lets the
# provider start speaking a token earlier; should the word go on after all
# ("config." + "yaml"), the rest is joined on without a space.
_FINISHED_WORD: Final = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*[^\W\d_][.!?]")
_GLUED_JOIN: Final = re.compile(r"[a-z0-9][.!?]")
_CAPITALISED: Final = re.compile(r"[A-Z][a-z]")
_ATTACHING: Final = frozenset(".,;:!?…)]}»”’")
# Every line break Unicode knows; "\r\n" is one break, even split across chunks.
_LINE_BREAKS: Final = frozenset("\r\n\x0b\x0c\x85\u2028\u2029")
# Joiners shape Indic and Persian words ("क्\u200dष"; Persian "mi\u200cxaham"):
# kept between letters (or marks: a virama precedes most), dropped elsewhere:
# in emoji sequences, at word edges, and between ASCII letters, which never
# need them.
_JOINERS: Final = frozenset("\u200c\u200d")
# At most this many of one punctuation mark or symbol in a row ("Wait......").
MAX_REPEAT: Final = 3
_REPEATED: Final = re.compile(rf"([^\w\s])\1{{{MAX_REPEAT},}}")


def _is_emoji(char: str) -> bool:
    """Tell pictographs and their modifiers from letters and ordinary symbols."""
    code = ord(char)
    return (
        0x1F000 <= code <= 0x1FAFF  # emoticons, pictographs, flags, skin tones
        or 0x2600 <= code <= 0x27BF  # miscellaneous symbols, dingbats
        or 0x2B00 <= code <= 0x2BFF  # arrows and stars
        or 0x2190 <= code <= 0x21FF  # arrows
        or 0x2300 <= code <= 0x23FF  # watches, hourglasses, media keys
        or code in (0x20E3, 0xFE0E, 0xFE0F)  # keycap, selectors
        or 0xE0020 <= code <= 0xE007F  # tag sequences of subdivision flags
    )


def _speakable(text: str) -> bool:
    """Tell whether text has a letter or digit (of any script) to read out."""
    return any(char.isalnum() for char in text)


def _joinable(char: str) -> bool:
    return not char.isascii() and unicodedata.category(char)[0] in "LM"


def _collapse(run: re.Match[str]) -> str:
    """Shorten a run of one mark (punctuation, symbol or combining) to MAX_REPEAT.

    Never shorter: the run may have been cut between two outputs, and MAX_REPEAT
    is what both halves together keep.
    """
    return run[1] * MAX_REPEAT


class _Normaliser:
    r"""Turn raw deltas into text of plain characters with "\n" as the only break.

    Control and format characters are dropped as if they were not there: they
    separate nothing ("a\x00b" is "ab"), so only real whitespace parts words
    and no removal can glue two words apart. A paragraph separator (U+2029)
    ends a paragraph like a blank line; every other break is one "\n".
    """

    def __init__(self) -> None:
        self._after_cr = False  # a "\n" now would complete a "\r\n"
        self._prev = "\n"  # the last character passed on
        self._joiners = ""  # joiners after a letter: kept if a letter follows

    def feed(self, chunk: str) -> str:
        if chunk.isprintable() and not self._joiners:  # the common case
            if chunk:
                self._after_cr, self._prev = False, chunk[-1]
            return chunk
        out: list[str] = []
        for char in chunk:
            if char == "\n" and self._after_cr:
                self._after_cr = False
            elif char in _LINE_BREAKS:
                out.append("\n\n" if char == "\u2029" else "\n")
                self._after_cr, self._prev, self._joiners = char == "\r", "\n", ""
            elif char in _JOINERS:
                if _joinable(self._prev):
                    self._joiners += char
            elif char == "\t" or unicodedata.category(char) not in ("Cc", "Cf"):
                if self._joiners and _joinable(char):
                    out.append(self._joiners)
                out.append(char)
                self._after_cr, self._prev, self._joiners = False, char, ""
        return "".join(out)

    def close(self) -> None:
        """End the text: a joiner at its very end joins nothing."""
        self._joiners = ""


def _host(url: str) -> str:
    """Read a URL as its host name: "https://www.example.com/a" -> "example.com"."""
    host = urlsplit(url if "://" in url else f"http://{url}").hostname or ""
    return host.removeprefix("www.")


def _finished_prefix(token: str) -> int:
    """Return the length of a finished word that starts ``token``, else 0."""
    match = _FINISHED_WORD.match(token)
    if match is None or match.group().casefold() in ABBREVIATIONS | {"www."}:
        return 0
    return match.end()


def _split_finished(token: str) -> list[str]:
    """Split a token after each finished word it starts with ("check.The")."""
    pieces = []
    while 0 < (length := _finished_prefix(token)) < len(token):
        pieces.append(token[:length])
        token = token[length:]
    pieces.append(token)
    return pieces


def _clean_token(token: str) -> list[str]:
    """Clean one whitespace-free token; it may become several words, or none."""
    if match := _URL.fullmatch(token):
        host = _host(match["url"])
        return [f"{match['pre']}{host}{match['post']}"] if host else []
    token = _ESCAPED.sub(r"\1", token)
    token = "".join(char for char in token if not _is_emoji(char))
    if _MARKERS_ONLY.fullmatch(token):
        return []
    token = token.replace("*", "").replace("~~", "").replace("`", "")
    token = _INNER_UNDERSCORE.sub(" ", token).replace("_", "")
    token = token.replace("[", "").replace("]", "").lstrip("#")
    return _GLUED.sub(" ", token).split()


@dataclass(slots=True)
class _Construct:
    """An inline construct found by the scanner."""

    end: int  # index just past it
    spoken: str  # what it reads as


class _Verdict(Enum):
    LITERAL = "literal"  # no closer within reach: the character is plain text
    UNDECIDED = "undecided"  # more text is needed to decide


def _closer(text: str, mark: str, start: int, final: bool) -> int | _Verdict:
    """Find ``mark`` within CONSTRUCT_LIMIT of ``start``."""
    stop = start + CONSTRUCT_LIMIT
    found = text.find(mark, start, stop)
    if found >= 0:
        return found
    return _Verdict.LITERAL if final or len(text) >= stop else _Verdict.UNDECIDED


def _construct(
    text: str, at: int, final: bool, *, token_start: bool
) -> _Construct | _Verdict:
    """Read the construct opening at ``at``: code, link, image, tag or autolink.

    An image's "!" counts only at the start of a word ("Wow![x](y)" is a
    terminator and a link). Decisions depend only on the text, never on how
    it arrived.
    """
    char = text[at]
    if char == "`":
        end = _closer(text, "`", at + 1, final)
        if isinstance(end, _Verdict):
            return end
        return _Construct(end + 1, text[at + 1 : end])
    if char == "[":
        return _link(text, at + 1, final)
    if char == "!" and token_start and text.startswith("[", at + 1):
        image = _link(text, at + 2, final)
        return _Verdict.LITERAL if image is _Verdict.LITERAL else image
    if char == "<":
        return _tag(text, at, final)
    return _Verdict.LITERAL


def _link(text: str, label_at: int, final: bool) -> _Construct | _Verdict:
    """Read "[label](url)" (or a bare "[label]") as its label."""
    end = _closer(text, "]", label_at, final)
    if isinstance(end, _Verdict):
        return end
    if end + 1 >= len(text) and not final:
        return _Verdict.UNDECIDED  # is a "(url)" coming?
    label = text[label_at:end]
    if text.startswith("(", end + 1):
        paren = _closer(text, ")", end + 2, final)
        if paren is _Verdict.UNDECIDED:
            return paren
        if not isinstance(paren, _Verdict):
            return _Construct(paren + 1, label)
    return _Construct(end + 1, label)


def _tag(text: str, at: int, final: bool) -> _Construct | _Verdict:
    """Read "<tag>" as nothing (or a space for line breaks), "<https://x>" as its host."""
    if at + 1 >= len(text):
        return _Verdict.LITERAL if final else _Verdict.UNDECIDED
    if not (text[at + 1].isalpha() or text[at + 1] == "/"):
        return _Verdict.LITERAL  # "a < b"
    end = _closer(text, ">", at + 1, final)
    if isinstance(end, _Verdict):
        return end
    inner = text[at + 1 : end]
    if inner.startswith(("http://", "https://")):
        return _Construct(end + 1, _host(inner))
    name = inner.lstrip("/").split(" ", 1)[0].rstrip("/").casefold()
    return _Construct(end + 1, " " if name in _BREAK_TAGS else "")


def _scan(text: str, final: bool, *, continued: bool) -> tuple[int, str]:
    """Find how much of a line may be released, and what it reads as.

    Returns ``(cut, spoken)``: ``text[:cut]`` is final and reads as ``spoken``.
    The cut lies at whitespace or after a terminator of an unspaced script,
    never inside a construct that may still change. ``continued``: the text
    goes on a word already released.
    """
    spoken: list[str] = []
    plain_from = 0
    cut, cut_spoken_len = 0, 0
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace() or (index and text[index - 1] in UNSPACED_END):
            spoken.append(text[plain_from:index])
            plain_from = index
            cut, cut_spoken_len = index, len(spoken)
        if char in "`[!<":
            token_start = text[index - 1].isspace() if index else not continued
            found = _construct(text, index, final, token_start=token_start)
            if found is _Verdict.UNDECIDED:
                break
            if isinstance(found, _Construct):
                spoken.extend((text[plain_from:index], found.spoken))
                index = plain_from = found.end
                continue
        index += 1
    else:
        if final:
            spoken.append(text[plain_from:])
            return len(text), "".join(spoken)
    return cut, "".join(spoken[:cut_spoken_len])


class TextCleaner:
    """Clean a stream of text deltas; see the module's description."""

    def __init__(self) -> None:
        """Start at the beginning of a message."""
        self._line = ""  # the current line's raw text not yet released
        self._line_start = True  # the line's first word is still undecided
        self._fence: str | None = None  # the marker of the open code block
        self._skip_line = False  # the rest of the line is dropped (a fence line)
        self._continued = False  # the line goes on a word released early
        self._block = False  # the line is a heading, list item or table row
        self._table = False
        self._line_output = False  # the line has released words
        self._after_plain_line = False  # one newline after a plain line
        self._pause = False  # a dash or table pipe: a comma before the next word
        self._tail = ""  # the last MAX_REPEAT characters released
        self._output: list[str] = []
        self._normaliser = _Normaliser()

    def feed(self, chunk: str) -> str:
        """Take more text; return the cleaned text that is now final."""
        text = self._normaliser.feed(chunk)
        while (newline := text.find("\n")) >= 0:
            self._line += text[:newline]
            text = text[newline + 1 :]
            self._consume(final=True)
            self._end_line()
        self._line += text
        self._consume(final=False)
        return self._take()

    def close(self) -> str:
        """End the stream; return the rest of the cleaned text."""
        self._normaliser.close()
        self._consume(final=True)
        self._line = ""
        return self._take()

    def _take(self) -> str:
        out = "".join(self._output)
        self._output.clear()
        return out

    def _consume(self, *, final: bool) -> None:
        """Release what is final in the current line."""
        if self._line_start and not self._start_line(final=final):
            return
        cut, spoken = _scan(self._line, final, continued=self._continued)
        if cut:
            self._line = self._line[cut:]
            # A cut after an unspaced terminator leaves the word going on.
            self._continued = not self._line[:1].isspace()
            self._emit(spoken)
        held = self._line.lstrip()
        if not final and held and _finished_prefix(held) == len(held):
            self._emit(self._line)
            self._line = ""
            self._continued = True

    def _start_line(self, *, final: bool) -> bool:
        """Decide what the line is from its first word; False while undecided.

        Lines of a code block are dropped whole: only a complete line can be
        the fence that closes it.
        """
        stripped = self._line.lstrip()
        if self._skip_line:
            self._line = ""
            return False
        if self._fence is not None:
            if final:
                if stripped.startswith(self._fence):
                    self._fence = None
                self._line = ""
            return False
        if not stripped:
            return False
        word = stripped.split(maxsplit=1)[0]
        finished = _finished_prefix(word) == len(word)
        if not final and len(stripped) == len(word) and not finished:
            return False  # the first word may still grow (into a marker?)
        if word.startswith(_FENCES):
            self._fence = word[:3]
            self._skip_line = True
            self._line = ""
            return False
        self._line_start = False
        if _HEADING.fullmatch(word) or _LIST_MARKER.fullmatch(word):
            self._block = True
            self._line = stripped[len(word) :]
        elif word.startswith(">"):
            self._line = stripped.lstrip("> ")
        else:
            self._block = self._table = word.startswith("|")
            self._line = stripped
        return True

    def _end_line(self) -> None:
        """Close the line: a heading, list item, row or paragraph ends a phrase."""
        blank = (
            self._line_start
            and self._fence is None
            and not self._skip_line
            and not self._line.strip()
        )
        if (self._block and self._line_output) or blank:
            self._end_phrase()
        self._after_plain_line = self._line_output and not self._block
        self._line = ""
        self._line_start = True
        self._block = self._table = self._line_output = self._pause = False
        self._skip_line = self._continued = False

    def _end_phrase(self) -> None:
        if self._last and self._last not in PHRASE_END:
            self._put(".")

    @property
    def _last(self) -> str:
        """Return the last character released ("" before the first)."""
        return self._tail[-1:]

    def _put(self, text: str) -> None:
        # Runs are cut on the output, so however words were grouped on the
        # way ("Wait." then "......"), the result is the same.
        if _REPEATED.search(joined := self._tail + text):
            text = _REPEATED.sub(_collapse, joined)[len(self._tail) :]
        self._output.append(text)
        self._tail = (self._tail + text)[-MAX_REPEAT:]

    def _emit(self, spoken: str) -> None:
        """Release the spoken form of part of the current line, word by word."""
        # Text continuing right after an unspaced terminator joins without a space.
        glued = self._line_output and not spoken[:1].isspace()
        if self._table:
            spoken = spoken.replace("|", " | ")
        for piece_index, piece in enumerate(spoken.split()):
            parts = [
                finished
                for unspaced in _UNSPACED_CUT.split(piece)
                for finished in _split_finished(unspaced)
            ]
            for part_index, part in enumerate(parts):
                if part in ("-", "|"):  # a dash between words, a table's cell border
                    self._pause = self._line_output
                    continue
                spaced = part_index == 0 and not (glued and piece_index == 0)
                for word_index, word in enumerate(_clean_token(part)):
                    self._word(word, spaced=spaced or word_index > 0)

    def _word(self, word: str, *, spaced: bool) -> None:
        if not self._tail and not _speakable(word):
            # Nothing said yet: punctuation alone ("...", "—") is not worth a
            # sound, and a message of nothing else must come out empty.
            return
        if not self._line_output and self._after_plain_line and self._block:
            self._end_phrase()  # a list or heading follows a plain line
        if self._pause and self._last not in PHRASE_END:
            self._put(",")
        self._pause = False
        # Punctuation left alone (its emoji removed: "on 🌞.") joins the word before.
        if word[0] in _ATTACHING and not any(char.isalnum() for char in word):
            spaced = False
        # Two messages glued together: "check." then "The" needs its space back.
        elif _GLUED_JOIN.fullmatch(self._tail[-2:]) and _CAPITALISED.match(word):
            spaced = True
        self._put(f" {word}" if self._last and spaced else word)
        self._line_output = True


def clean_text(text: str) -> str:
    """Clean a whole message at once (the same rules as the streaming cleaner)."""
    cleaner = TextCleaner()
    return cleaner.feed(text) + cleaner.close()


@dataclass(frozen=True, slots=True)
class TextFragment:
    """A piece of cleaned text to send, and whether a sentence ends with it."""

    text: str
    sentence_end: bool


def ends_sentence(word: str) -> bool:
    """Tell a sentence end from an abbreviation or an initial."""
    bare = word.rstrip(CLOSERS)
    if not bare or bare[-1] not in SENTENCE_END:
        return False
    if bare[-1] == ".":
        core = bare.lstrip(OPENERS)
        if core.casefold() in ABBREVIATIONS:
            return False
        if len(core) == 2 and core[0].isupper():  # an initial: "J. R. R. Tolkien"
            return False
    return True


class FragmentSplitter:
    """Cut cleaned text into fragments, ending one at every sentence end.

    Input comes from :class:`TextCleaner`, so every word in it is complete:
    everything is released at once, cut where sentences end and wherever a
    fragment would exceed ``max_chars``.
    """

    def __init__(self, max_chars: int | None = None) -> None:
        """Keep fragments at most ``max_chars`` long (None: no limit)."""
        if max_chars is not None and max_chars < 1:
            raise ValueError("max_chars must be positive")
        self._max_chars = max_chars

    def feed(self, cleaned: str) -> list[TextFragment]:
        """Return the fragments of ``cleaned``, in order, covering all of it."""
        fragments: list[TextFragment] = []
        start = 0
        for word in _WORD.finditer(cleaned):
            # Scripts without spaces end sentences inside a "word".
            for inner in _UNSPACED_SENTENCE.finditer(cleaned, word.start(), word.end()):
                if _speakable(cleaned[start : inner.end()]):
                    fragments += self._limited(cleaned[start : inner.end()], True)
                    start = inner.end()
            # A sentence of punctuation alone ("Hi. ... Bye.") goes with the next.
            if ends_sentence(word.group()) and _speakable(cleaned[start : word.end()]):
                fragments += self._limited(cleaned[start : word.end()], True)
                start = word.end()
        fragments += self._limited(cleaned[start:], False)
        return fragments

    def _limited(self, text: str, sentence_end: bool) -> list[TextFragment]:
        """Split ``text`` to respect max_chars; only its last piece ends the sentence."""
        pieces: list[str] = []
        limit = self._max_chars
        while limit is not None and len(text) > limit:
            cut = text.rfind(" ", 1, limit + 1)
            if cut <= 0:
                cut = limit
            pieces.append(text[:cut])
            text = text[cut:]
        if text:
            pieces.append(text)
        return [
            TextFragment(piece, sentence_end and index == len(pieces) - 1)
            for index, piece in enumerate(pieces)
        ]


async def text_fragments(
    chunks: AsyncIterable[str], *, max_chars: int | None = None
) -> AsyncGenerator[TextFragment]:
    """Clean and split a stream of raw text deltas; yield each fragment once final.

    The text stream is closed when this generator is, even mid-way: nobody
    will read the rest of it.
    """
    cleaner = TextCleaner()
    splitter = FragmentSplitter(max_chars)
    try:
        async for chunk in chunks:
            for fragment in splitter.feed(cleaner.feed(chunk)):
                yield fragment
        for fragment in splitter.feed(cleaner.close()):
            yield fragment
    finally:
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()
