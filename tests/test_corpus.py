"""Reading ABC files: normalisation, splitting into tunes, the train/val split by tune."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from musicgen.data import corpus
from musicgen.data.corpus import CorpusError, join_tunes, normalise_tune, read_tunes, split_train_val, split_tunes

# Exercises every normalisation rule at once: CRLF endings, a tab, a % comment, a %% directive,
# an indented comment, a line continuation, trailing spaces, a blank line inside the tune, "X: 7".
MESSY_TUNE = (
    "X: 7\r\n"
    "T:\tThe Messy One   \r\n"
    "% a comment about the source\r\n"
    "%%scale 0.8\r\n"
    "M:6/8\r\n"
    "K: G\r\n"
    "\r\n"
    "   % an indented comment\r\n"
    "|:GAB c2d|\\\r\n"
    "e3 d3:|   \r\n"
)
MESSY_TUNE_NORMALISED = "X:7\nT:The Messy One\nM:6/8\nK:G\n|:GAB c2d| e3 d3:|"

# Two tunes behind a file header, with old-Mac (CR only) line endings.
CR_ONLY_FILE = "% header of the file\rX:1\rT:a\rK:C\rC|\r\rX:2\rT:b\rK:D\rD|\r"

# The tune body mentions "X:" in a title and after a space: only an X: at the start of a line starts a tune.
X_INSIDE_A_LINE = "X:1\nT:Tune called X: the sequel\nK:C\n X:2 is not a tune start\nC|\n"


def test_every_normalisation_rule() -> None:
    assert normalise_tune(MESSY_TUNE) == MESSY_TUNE_NORMALISED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("X:1\nK:C\nabc\\\ndef|", "X:1\nK:C\nabc def|"),  # continuation joins the next line with a space
        ("X:1\nK:C\nabc\\   \ndef|", "X:1\nK:C\nabc def|"),  # spaces after the backslash are allowed
        ("X:1\nK:C\n%%MIDI program 1\nC|", "X:1\nK:C\nC|"),  # directives are typesetting only
        ("X:1\nK:C\n\n\nC|\n\n", "X:1\nK:C\nC|"),  # blank lines would end the tune early
        ("X:1\nK:C\nC|\tD|  ", "X:1\nK:C\nC| D|"),  # tabs become spaces, trailing spaces go
        ("X:1\nw: lyrics  here\nK:C", "X:1\nw:lyrics  here\nK:C"),  # only spaces after the field colon go
        ("X:1\nK:C\nC|% end-of-line comment", "X:1\nK:C\nC|% end-of-line comment"),  # kept: not a comment line
        ("X:1\nS:Mick Peat\nK:C\nC|", "X:1\nK:C\nC|"),  # a source line is no part of the music
        ("X:1\nK:G\nAB||\\\nK:D\nP:B\nde|", "X:1\nK:G\nAB||\nK:D\nP:B\nde|"),  # a field ends a continued line
    ],
)
def test_normalisation_rule(raw: str, expected: str) -> None:
    assert normalise_tune(raw) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="X:T%\\ \t\r\nabc|", max_size=60))
@example("\\\\\r\r:")  # a join left a backslash before the next line break: it continues too
@example("\\\\")  # backslashes that end the text continue nothing
def test_normalisation_is_idempotent_and_leaves_no_blank_line(text: str) -> None:
    once = normalise_tune(text)
    assert normalise_tune(once) == once
    assert "\n\n" not in once and "\r" not in once and "\t" not in once
    assert all(line == line.rstrip() for line in once.split("\n"))


def test_split_ignores_the_file_header_and_splits_at_each_x_line() -> None:
    text = "% file header\nX:1\nT:a\nK:C\nC|\n\nX:2\nT:b\nK:D\nD|\n"
    assert split_tunes(text) == ["X:1\nT:a\nK:C\nC|", "X:2\nT:b\nK:D\nD|"]


def test_split_with_carriage_return_line_endings() -> None:
    assert split_tunes(CR_ONLY_FILE) == ["X:1\nT:a\nK:C\nC|", "X:2\nT:b\nK:D\nD|"]


def test_split_only_at_x_at_the_start_of_a_line() -> None:
    assert split_tunes(X_INSIDE_A_LINE) == ["X:1\nT:Tune called X: the sequel\nK:C\n X:2 is not a tune start\nC|"]


def test_a_bare_x_line_is_not_a_tune() -> None:
    assert split_tunes("X:1\n\nX:2\nK:C\nC|") == ["X:2\nK:C\nC|"]
    assert split_tunes("") == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="XK:1%\\ \r\nab|", max_size=80))
@example("X:\r\\")  # a tune whose last line is a lone backslash
def test_joined_tunes_split_back_into_the_same_tunes(text: str) -> None:
    tunes = split_tunes(text)
    assert split_tunes(join_tunes(tunes)) == tunes
    assert all(t.startswith("X:") and "\n\n" not in t for t in tunes)


def test_read_tunes_from_files_and_folders(write_abc: Callable[..., Path], tmp_path: Path) -> None:
    write_abc("X:1\nT:a\nK:C\nC|\n", "folder/one.abc")
    write_abc("X:2\nT:b\nK:D\nD|\n", "folder/two.ABC")
    write_abc("X:3\nT:c\nK:E\nE|\n", "folder/readme.txt")  # not .abc: a folder listing skips it
    write_abc("X:4\nT:d\nK:F\nF|\n", "folder/sub/deep.abc")  # folders are not recursed
    single = write_abc("X:5\nT:e\nK:G\nG|\n", "single.txt")  # a file named explicitly is read whatever its name
    tunes = read_tunes([tmp_path / "folder", single])
    assert [t.split("\n")[1] for t in tunes] == ["T:a", "T:b", "T:e"]


def test_read_tunes_falls_back_to_latin1(write_abc: Callable[..., Path]) -> None:
    path = write_abc("X:1\nT:Caf\xe9\nK:C\nC|\n".encode("latin-1"), "latin1.abc")
    assert read_tunes([path]) == ["X:1\nT:Caf\xe9\nK:C\nC|"]


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ("", "empty.abc"),
        ("just some prose, no tunes\n", "prose.abc"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "image.abc"),
    ],
)
def test_files_without_tunes_are_a_clear_error(write_abc: Callable[..., Path], content: str | bytes, name: str) -> None:
    path = write_abc(content, name)
    with pytest.raises(CorpusError, match=rf"no ABC tunes .*{name}.*X:"):
        read_tunes([path])


def test_missing_path_and_folder_without_abc(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="nowhere.abc: no such file or folder"):
        read_tunes([tmp_path / "nowhere.abc"])
    (tmp_path / "empty-folder").mkdir()
    with pytest.raises(CorpusError, match=r"no \.abc files found"):
        read_tunes([tmp_path / "empty-folder"])


def test_too_big_file_is_refused(write_abc: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_abc("X:1\nK:C\n" + "C" * 200 + "\n")
    monkeypatch.setattr(corpus, "MAX_FILE_BYTES", 100)
    with pytest.raises(CorpusError, match="split it into smaller files"):
        read_tunes([path])


def test_split_is_by_whole_tune_deterministic_and_order_free() -> None:
    tunes = [f"X:{i}\nT:tune {i}\nK:C\nC{i}|" for i in range(50)]
    train, val = split_train_val(tunes, 0.2)
    assert len(val) == 10 and len(train) == 40
    assert not set(train) & set(val) and sorted(train + val) == sorted(tunes)
    again = split_train_val(list(reversed(tunes)), 0.2)
    assert set(again[0]) == set(train) and set(again[1]) == set(val)  # file order does not matter


def test_duplicates_stay_on_one_side() -> None:
    tunes = [f"X:{i}\nK:C\nC{i}|" for i in range(20)]
    tunes += tunes[:5]  # the same five tunes twice (e.g. in two collections)
    train, val = split_train_val(tunes, 0.3)
    assert not set(train) & set(val)
    assert len(train) + len(val) == 25


def test_split_of_one_tune_puts_it_in_train() -> None:
    assert split_train_val(["X:1\nK:C\nC|"], 0.5) == (["X:1\nK:C\nC|"], [])


def test_nottingham_reads_and_splits(nottingham_dir: Path) -> None:
    tunes = read_tunes([nottingham_dir])
    assert len(tunes) == 932  # every X: line of the cleaned copy is a tune
    assert all(t.startswith("X:") and "\nK:" in t and "\n\n" not in t for t in tunes)
    train, val = split_train_val(tunes, 0.1)
    assert not set(train) & set(val)
    assert len(val) == pytest.approx(0.1 * len(set(tunes)), abs=1)
    assert split_train_val(tunes, 0.1) == (train, val)
