"""The character vocabulary: deterministic, round-trips through JSON, names unknown characters."""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np
import pytest

from musicgen.data.vocab import BASE_CHARS, UnknownCharacterError, Vocab

# Uses a character outside printable ASCII (the degree sign), which the vocabulary must add.
TUNE_WITH_DEGREE = 'X:1\nT:Waltz at 30\xb0\nK:C\n"C"c2 e|'


def test_vocab_is_sorted_and_independent_of_text_order() -> None:
    chars = list(TUNE_WITH_DEGREE)
    shuffled = chars[:]
    random.Random(0).shuffle(shuffled)
    a, b = Vocab.from_text("".join(chars)), Vocab.from_text("".join(shuffled))
    assert a == b and a.chars == sorted(a.chars)
    assert a.chars == sorted(BASE_CHARS | {"\xb0"})


def test_vocab_always_holds_printable_ascii_and_newline_only() -> None:
    v = Vocab.from_text("")
    assert set(v.chars) == set(string.printable) - set("\t\r\x0b\x0c")
    assert "\n" in v and " " in v and "\t" not in v and "\r" not in v


def test_encode_decode_round_trip() -> None:
    v = Vocab.from_text(TUNE_WITH_DEGREE)
    ids = v.encode(TUNE_WITH_DEGREE)
    assert ids.dtype == np.int32 and len(ids) == len(TUNE_WITH_DEGREE)
    assert v.decode(ids) == TUNE_WITH_DEGREE
    assert v.decode(list(ids)) == TUNE_WITH_DEGREE
    assert v.encode("").shape == (0,) and v.decode([]) == ""


def test_unknown_characters_are_named_with_code_point_and_position() -> None:
    v = Vocab.from_text("")
    with pytest.raises(UnknownCharacterError) as info:
        v.encode("K:G\tabc \xe9\xe9 \u266f")
    message = str(info.value)
    assert message.startswith("3 character(s) the model does not know:")
    assert "'\\t' (U+0009) at position 3" in message
    assert "'\xe9' (U+00E9) at position 8" in message  # first use only, each character once
    assert "'\u266f' (U+266F) at position 11" in message
    assert info.value.unknown == ["\t", "\xe9", "\u266f"]
    assert isinstance(info.value, ValueError)  # the CLI shows ValueErrors as one line


def test_many_unknown_characters_are_summarised() -> None:
    text = "".join(chr(0x3B1 + i) for i in range(14))  # 14 Greek letters
    with pytest.raises(UnknownCharacterError, match=r"^14 character\(s\) .* and 4 more; remove or replace them$"):
        Vocab.from_text("").check(text)


def test_the_error_can_say_which_text() -> None:
    error = UnknownCharacterError("X:3\nT:\xe9", ["\xe9"], where="tune X:3")
    assert str(error).startswith("tune X:3: 1 character(s) the model does not know: '\xe9' (U+00E9) at position 6;")


def test_check_accepts_known_text() -> None:
    Vocab.from_text(TUNE_WITH_DEGREE).check(TUNE_WITH_DEGREE)


def test_json_round_trip(tmp_path: Path) -> None:
    v = Vocab.from_text(TUNE_WITH_DEGREE)
    path = tmp_path / "vocab.json"
    v.save(path)
    assert path.read_text().isascii()  # escaped, so the file is the same on any platform
    assert Vocab.load(path) == v and Vocab.load(path).chars == v.chars


@pytest.mark.parametrize("chars", [["a", "a"], ["ab"], ["a", ""]])
def test_bad_character_lists_are_refused(chars: list[str]) -> None:
    with pytest.raises(ValueError, match="distinct single characters"):
        Vocab(chars)
