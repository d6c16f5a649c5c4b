"""The workbench's Transpose tab on the app's page (``app_transpose.py``), run by ``streamlit.testing.v1.AppTest``:
a key in the tune's mode, an instrument's range in words with its octave shift as a button, and the
transposed tune shown (kept beside the original), its sheet, sound and downloads following it.

As in ``test_app.py``, the page runs on a tiny random-weight checkpoint and the tune is the reel primer
with the few characters the tiny model adds; what it should show is computed here by the library
(:func:`musicgen.abcnotation.transpose.transpose_to_key`, :func:`musicgen.abcnotation.instruments.range_report`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from test_app import APP, PLAYABLE_LENGTH, REEL, TIMEOUT, audio_id, compose, readable_seed, sheet_args, shown_abc

from musicgen.abcnotation.header import header_fields
from musicgen.abcnotation.instruments import instrument, range_report
from musicgen.abcnotation.transpose import transpose_to_key, written_pitches
from musicgen.app import render
from musicgen.app.text import shown


@pytest.fixture
def weights(tiny_checkpoint, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tiny_checkpoint.path))
    return Path(tiny_checkpoint.path)


@pytest.fixture
def reel(weights: Path) -> tuple[AppTest, str]:
    """The page showing the reel (in D), and its text."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    compose(at, seed=readable_seed(weights, REEL), primer=REEL, length=PLAYABLE_LENGTH)
    return at, at.session_state["history"][0].abc


def button(at: AppTest, key: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.key == key)


def said(at: AppTest) -> list[str]:
    return [shown(e.value) for e in [*at.warning, *at.success, *at.caption]]


def test_transposing_to_b_flat_moves_the_key_and_the_notes_and_the_page_follows(reel: tuple[AppTest, str]) -> None:
    at, abc = reel
    entry = at.session_state["history"][0]
    assert at.selectbox(key=f"tr_key_{entry.ident}").value == 2  # D, the tune's key, to start from
    assert button(at, "tr_go").disabled  # nothing to move yet
    at.selectbox(key=f"tr_key_{entry.ident}").set_value(10).run()  # B flat
    go = button(at, "tr_go")
    assert go.label == "Transpose: in Bb major" and not go.disabled
    go.click().run()
    assert not at.exception, at.exception
    moved = transpose_to_key(abc, "Bb")
    history = at.session_state["history"]
    assert [(e.abc, e.edit, e.how) for e in history] == [(abc, 0, ""), (moved, 1, "in Bb major")]
    assert at.session_state["current"] == 1 and shown_abc(at) == moved.rstrip("\n")
    assert header_fields(moved)["K"] == "Bb" and header_fields(abc)["K"] == "D"
    before, after = written_pitches(abc), written_pitches(moved)
    assert len(before) == len(after) >= 24 and all(b.midi - a.midi == 4 for a, b in zip(after, before))  # 4 down
    assert sheet_args(at)["abc"] == render.sheet_text(moved) and sheet_args(at)["play"]  # drawn and played
    sound = render.make_sound(moved)
    assert audio_id(at) == _calculate_file_id(sound.audio, sound.audio_mime)
    downloads = {b.label: b for b in at.get("download_button")}
    stem = sheet_args(at)["stem"]
    assert downloads["ABC"].proto.url.rsplit("/", 1)[-1].split(".")[0] == _calculate_file_id(
        moved.encode(), "text/vnd.abc", f"{stem}.abc"
    )
    assert not downloads["MusicXML"].proto.disabled and not downloads["MIDI"].proto.disabled
    assert any("in Bb major" in m.value for m in at.markdown)  # the history's line says what made it
    assert at.selectbox(key=f"tr_key_{history[1].ident}").value == 10  # the tune shown is in B flat now


def test_a_whistle_names_the_notes_out_of_range_and_its_octave_shift_mends_them(reel: tuple[AppTest, str]) -> None:
    at, abc = reel
    entry = at.session_state["history"][0]
    at.selectbox(key="tr_instrument").set_value("whistle").run()
    assert "Every note lies in the D whistle's range." in said(at)  # the reel in D fits
    assert at.selectbox(key="opt_instrument").value == "tin whistle"  # its sound, for the player
    assert any("Recorder" in s for s in said(at))  # the SoundFont's whistle has no high notes: a stand-in, said
    at.selectbox(key=f"tr_key_{entry.ident}").set_value(10).run()  # down to B flat: the low notes fall off
    report = range_report(transpose_to_key(abc, "Bb"), instrument("whistle"))
    assert "below the D whistle's low D (ABC D)" in report and " in bar " in report
    assert f"In Bb major: {report}" in said(at)
    shift = button(at, "tr_shift")
    assert shift.label == "Up an octave"
    shift.click().run()
    assert "In Bb major, up an octave: every note lies in the D whistle's range." in said(at)
    button(at, "tr_go").click().run()
    assert not at.exception, at.exception
    assert shown_abc(at) == transpose_to_key(abc, "Bb", 1).rstrip("\n")
    assert at.session_state["history"][-1].how == "in Bb major, up an octave"


def test_an_instrument_general_midi_lacks_keeps_the_sound_and_says_so(reel: tuple[AppTest, str]) -> None:
    at, _ = reel
    at.selectbox(key="opt_instrument").set_value("fiddle").run()
    at.selectbox(key="tr_instrument").set_value("mandolin").run()
    assert at.selectbox(key="opt_instrument").value == "fiddle"
    assert "General MIDI has no mandolin sound: the tune keeps the sound chosen in the sidebar." in said(at)


def test_a_tune_with_no_key_note_says_why_it_cannot_move(weights: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    compose(at, seed=1, primer="X:1\nT:Drone\nM:4/4\nL:1/8\nK:none\nCDEF GABc|", length=PLAYABLE_LENGTH)
    assert not at.exception
    assert any("names no key note" in c for c in said(at))
    assert not any(b.key == "tr_go" for b in at.button)
