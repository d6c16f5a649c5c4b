"""The musician's workbench on the app's page, without a browser: the player's sound and its timing handed to
the sheet, a passage cut from a tune and rendered slower, the ABC edited and played, and the small things
(the history's Play, a sign of changed settings, the tune's start in words, the subtitle, MusicXML's composer).

The page runs in ``streamlit.testing.v1.AppTest`` on a tiny random-weight checkpoint, as in ``test_app.py``:
its tunes are noise, so the sound tests give a complete tune as the primer and let it add a few characters.
What only a browser shows (the lit note moving, a click seeking, the loop going round, a phone's layout, the
printed page) is in ``test_browser_workbench.py``.
"""

from __future__ import annotations

import io
import json
import shutil
from fractions import Fraction
from pathlib import Path

import mido
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest
from test_app import APP, PLAYABLE_LENGTH, REEL, TIMEOUT, compose, readable_seed, sheet_args, shown_abc

from musicgen.abcnotation import excerpt, rhythm
from musicgen.abcnotation import tokens as T
from musicgen.app import render
from musicgen.app import workbench as wb
from musicgen.app.settings import Settings
from musicgen.app.text import shown
from musicgen.sound import convert, export

# A jig with a pick-up, repeats and first and second endings, and a chord symbol held across bars.
JIG = (
    'X:1\nT:Practice Jig\nM:6/8\nL:1/8\nQ:3/8=120\nK:D\nA|:"D"dfa afd|"A"e3 e2A|dfa "G"gfe|"A"fdc d2A:|\n'
    '|:"G"B2c d2e|"D"f3 f2e|"Em"g2f "A"e2d|[1"D"d3 d2A:|[2"D"d3 d3|]\n'
)


def media_id(url: str) -> str:
    return url.rsplit("/", 1)[-1].split(".")[0]


def melody_onsets(midi: bytes) -> list[float]:
    """The seconds at which the melody's notes start (channel 1)."""
    t, onsets = 0.0, []
    for msg in mido.MidiFile(file=io.BytesIO(midi)):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel == export.MELODY_CHANNEL:
            onsets.append(t)
    return onsets


# ---------------------------------------------------------------- bars and passages, without the page


def test_bars_are_numbered_as_a_musician_counts_them() -> None:
    spans = excerpt.bar_spans(JIG)
    assert [s.number for s in spans] == [None, *range(1, 10)]  # the pick-up is no bar; both endings count
    assert [JIG[s.start : s.close] for s in spans][8:] == ['"D"d3 d2A:|', '"D"d3 d3|]']  # "[1" stays before
    assert [s.ending for s in spans][7:] == [None, "1", "2"]
    assert [s.line for s in spans] == [7] * 5 + [8] * 5
    assert len(spans) == len(rhythm.analyse(JIG).bars)


def test_a_passage_is_those_bars_once_each_at_the_same_characters() -> None:
    cut = excerpt.excerpt(JIG, 3, 7, count_in=True)
    body = cut.abc[cut.start : cut.start + cut.length]
    source = JIG[cut.source_start : cut.source_start + cut.length]
    assert [(a, b) for a, b in zip(body, source) if a != b] == [(" ", ":"), (" ", ":")]  # the repeat marks
    assert cut.abc.startswith("X:1\nT:Practice Jig\nM:6/8\nL:1/8\nQ:3/8=120\nK:D\ndz2 dz2|\n")
    assert '"A"' in cut.abc[cut.start - 3 : cut.start]  # the chord in force where bar 3 begins
    assert cut.count_in == Fraction(3, 4)
    parsed = convert.parse(cut.abc)
    notes = [t.text for t in T.tokenize(body) if t.kind in T.TIMED]
    assert notes == [t.text for t in T.tokenize(source) if t.kind in T.TIMED]
    assert parsed.meter == "6/8" and parsed.key.startswith("D")


def test_bars_from_one_take_the_pick_up_and_bad_ranges_are_sentences() -> None:
    cut = excerpt.excerpt(JIG, 1, 2)
    assert cut.abc[cut.start :] == 'A| "D"dfa afd|"A"e3 e2A|\n'
    for first, last in [(0, 2), (3, 2), (1, 10)]:
        with pytest.raises(excerpt.ExcerptError, match=r"choose bars from 1 to 9 \(this tune has 9 bars"):
            excerpt.excerpt(JIG, first, last)
    with pytest.raises(excerpt.ExcerptError, match="several voices"):
        excerpt.excerpt("X:1\nM:2/4\nL:1/8\nK:C\nV:1\nCDEF|GABc|\nV:2\nC,4|G,4|\n", 1, 1)


def test_passages_of_the_training_tunes_all_parse(nottingham_dir: Path) -> None:
    import random

    from musicgen.data.corpus import read_tunes

    tunes = read_tunes([nottingham_dir])
    assert all(len(excerpt.bar_spans(t)) == len(rhythm.analyse(t).bars) for t in tunes)
    rng = random.Random(17)
    for tune in rng.sample(tunes, 25):
        top = len(excerpt.numbered(excerpt.bar_spans(tune)))
        first = rng.randint(1, top)
        cut = excerpt.excerpt(tune, first, rng.randint(first, min(top, first + 7)), count_in=rng.random() < 0.5)
        convert.parse(cut.abc)  # raises InvalidABCError if music21 cannot read it


def test_a_slower_sound_is_the_same_notes_at_the_same_pitch() -> None:
    cut = excerpt.excerpt(JIG, 1, 4, count_in=True)
    full, slow = render.make_sound(cut.abc), render.make_sound(cut.abc, speed=0.5)
    assert full.qpm == 180 and slow.qpm == 90  # Q:3/8=120: 180 quarter notes a minute
    assert slow.music_seconds == pytest.approx(2 * full.music_seconds, rel=0.01)
    pitches = [[m.note for m in mido.MidiFile(file=io.BytesIO(s.midi)) if m.type == "note_on"] for s in (full, slow)]
    assert pitches[0] == pitches[1]
    onsets = melody_onsets(slow.midi)
    count_in_s = float(cut.count_in) * 4 * 60 / slow.qpm
    assert sum(1 for t in onsets if t < count_in_s - 0.01) == 2  # a click on each of 6/8's two beats
    loop = wb.loop_args(cut, slow, "/media/x.wav", 50)
    assert loop["start_s"] == pytest.approx(count_in_s) and loop["music_s"] == slow.music_seconds
    assert loop["label"] == "Bars 1–4 at 50%, after a count-in bar"


def test_the_sound_says_where_its_last_note_ends() -> None:
    sound = render.make_sound(JIG)
    onsets = melody_onsets(sound.midi)
    # A part: the pick-up and 20 notes, played twice from its |: (41); B part: 14 notes to the first ending's
    # end, 11 more to the second's (the sheet's timing, abcjs's, counts the same: test_browser_workbench.py)
    assert len(onsets) == 41 + 14 + 13
    assert sound.qpm == 180 and sound.music_seconds == pytest.approx(onsets[-1] + 3 * 60 / 180 / 2, abs=0.01)
    assert sound.music_seconds < render.audio.midi_seconds(sound.midi)  # the file rings out after the notes


def test_mistakes_are_named_at_their_lines() -> None:
    found = wb.mistakes(JIG.replace('"G"gfe', '"G gfe'))
    assert [(m.line, m.serious) for m in found] == [(7, True)]
    assert found[0].sentence.startswith("A chord symbol is not closed")
    short = wb.mistakes(JIG.replace("|dfa ", "|df "))
    assert [(m.line, m.serious) for m in short] == [(7, False)]
    assert short[0].sentence == "Bar 3 ('df \"G\"gfe|') lasts 5 eighth notes; the meter, 6/8, holds 6."
    assert "  7 | " in wb.listing(JIG, short) and "^ Bar 3" in wb.listing(JIG, short)


def test_musicxml_names_no_composer_but_the_tunes_own() -> None:
    assert b"Music21</creator>" not in export.to_musicxml(JIG)
    assert b'<creator type="composer">Trad.</creator>' in export.to_musicxml(JIG.replace("K:D", "C:Trad.\nK:D"))


# ---------------------------------------------------------------- the page


@pytest.fixture
def app(tiny_checkpoint, monkeypatch) -> AppTest:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tiny_checkpoint.path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def weights(tiny_checkpoint) -> Path:  # type: ignore[no-untyped-def]
    return Path(tiny_checkpoint.path)


def play_reel(at: AppTest, weights: Path, **options: object) -> str:
    """Compose the reel primer (a few characters more) and return the tune shown."""
    compose(at, seed=readable_seed(weights, REEL), primer=REEL, length=PLAYABLE_LENGTH, **options)
    return shown_abc(at) + "\n"


def test_the_player_gets_the_tunes_sound_and_where_its_notes_end(app: AppTest, weights: Path) -> None:
    abc = play_reel(app, weights)
    args = sheet_args(app)
    sound = render.make_sound(abc)
    assert media_id(args["audio"]["url"]) == _calculate_file_id(sound.audio, sound.audio_mime)
    assert args["audio"]["music_s"] == pytest.approx(sound.music_seconds)
    assert args["follows"] is True and args["loop"] is None
    assert args["abc"] == render.sheet_text(abc)


def test_practise_loops_the_chosen_bars_slower(app: AppTest, weights: Path) -> None:
    abc = play_reel(app, weights)
    app.toggle(key="loop_on").set_value(True).run()
    entry = app.session_state["history"][0]
    app.slider(key=f"loop_bars_{entry.ident}").set_value((2, 3)).run()
    app.select_slider(key="loop_speed").set_value(60).run()
    assert not app.exception
    loop = sheet_args(app)["loop"]
    cut = excerpt.excerpt(render.sheet_text(abc), 2, 3, count_in=True)
    sound = render.make_sound(cut.abc, speed=0.6)
    assert media_id(loop["url"]) == _calculate_file_id(sound.audio, sound.audio_mime)
    assert (loop["abc"], loop["at"], loop["from"], loop["length"]) == (cut.abc, cut.start, cut.source_start, cut.length)
    assert loop["label"] == "Bars 2–3 at 60%, after a count-in bar"
    assert sheet_args(app)["marked"] == [cut.source_start, cut.source_start + cut.length]
    app.checkbox(key="loop_count_in").set_value(False).run()
    assert sheet_args(app)["loop"]["start_s"] == 0 and "count-in" not in sheet_args(app)["loop"]["label"]
    app.toggle(key="loop_on").set_value(False).run()
    assert sheet_args(app)["loop"] is None and sheet_args(app)["marked"] is None


def test_an_edit_is_drawn_checked_played_and_kept_beside_the_original(app: AppTest, weights: Path) -> None:
    abc = play_reel(app, weights)
    entry = app.session_state["history"][0]
    box = app.text_area(key=f"draft_{entry.ident}")
    broken = abc.replace("M:4/4", "M:44", 1)
    box.set_value(broken).run()
    assert sheet_args(app)["abc"] == render.sheet_text(broken) and sheet_args(app)["follows"] is False
    assert any("cannot be played until the marked line is mended" in e.value for e in app.error)
    assert any("3 | M:44" in t.value and "Meter '44' is not an ABC meter" in t.value for t in app.text)
    play = next(b for b in app.button if b.label == "Play my edit")
    assert play.disabled
    mine = abc.replace("dAFA|", "dAFA|", 1).replace('"A"BcdB', '"A"BcdE', 1)
    app.text_area(key=f"draft_{entry.ident}").set_value(mine).run()
    next(b for b in app.button if b.label == "Play my edit").click().run()
    assert not app.exception
    history = app.session_state["history"]
    assert [(e.abc, e.edit) for e in history] == [(entry.abc, 0), (mine, 1)]
    assert app.session_state["current"] == 1 and shown_abc(app) == mine.rstrip("\n")
    assert sheet_args(app)["follows"] is True and sheet_args(app)["play"]  # the edit plays at once
    sound = render.make_sound(mine)
    assert media_id(sheet_args(app)["audio"]["url"]) == _calculate_file_id(sound.audio, sound.audio_mime)
    downloads = {b.label: b for b in app.get("download_button")}
    stem = sheet_args(app)["stem"]
    assert stem.endswith("-edit1")
    assert media_id(downloads["ABC"].proto.url) == _calculate_file_id(mine.encode(), "text/vnd.abc", f"{stem}.abc")
    assert any("my edit 1" in m.value for m in app.markdown)
    assert any("your edit is in the ABC download" in c.value for c in app.caption)


def test_the_historys_play_button_plays(app: AppTest, weights: Path) -> None:
    play_reel(app, weights)
    play_reel(app, weights, tempo=150)  # a second tune in the history (the same notes, another tempo)
    before = sheet_args(app)["play"]
    next(b for b in app.button if b.key == "show_0").click().run()
    assert app.session_state["current"] == 0
    assert sheet_args(app)["play"] not in ("", before)  # a new mark: the player starts the tune
    again = sheet_args(app)["play"]
    next(b for b in app.button if b.key == "show_0").click().run()  # the tune shown: it starts again
    assert sheet_args(app)["play"] != again


def test_a_sign_says_when_the_settings_changed_since_the_tune_was_made(app: AppTest) -> None:
    compose(app, seed=4)
    assert not any("Made with other settings" in c.value for c in app.caption)
    app.selectbox(key="opt_key").set_value("D").run()
    app.slider(key="opt_temperature").set_value(0.5).run()
    (sign,) = [c.value for c in app.caption if "Made with other settings" in c.value]
    assert "the key, temperature changed" in sign
    app.selectbox(key="opt_instrument").set_value("fiddle").run()  # a sound setting: the tune shown follows it
    assert "instrument" not in next(c.value for c in app.caption if "Made with other settings" in c.value)


def test_the_tunes_start_is_offered_in_words_and_refused_in_the_users_words(app: AppTest) -> None:
    start = app.selectbox(key="opt_seed_char")
    assert start.options == [
        "a whole tune, header first (number, title, meter, key)",
        "its title first (no tune number)",
        "a random character (the model may start anywhere)",
    ]
    compose(app, seed=3, seed_char="T", key="D")
    (error,) = app.error
    assert "a tune that starts with its title has no header for the key" in shown(error.value)
    assert "seed_char" not in error.value and "None" not in error.value


def test_the_subtitle_names_the_weights_loaded(weights: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(weights))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert "Nottingham" not in at.caption[0].value and "not recorded" in shown(at.caption[0].value)
    other = weights.parent / "reel-weights"  # another folder: the page keeps each folder's model once loaded
    shutil.copytree(weights, other)
    (other / "metrics.json").write_text(json.dumps({"data": {"paths": ["/data/irish/reels"], "tunes": 120}}))
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(other))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert shown(at.caption[0].value) == (
        "New folk tunes from a character-level LSTM trained on 120 tunes of reels (weights: reel-weights)."
    )


def test_a_permalinks_other_start_is_reported_in_words(weights: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(weights))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"seed": "3", "seed_char": "A"})
    at.run()
    assert any("the tune's start (seed_char='A') is not one this page offers" in shown(w.value) for w in at.warning)
    assert Settings().seed_char == "X" == at.selectbox(key="opt_seed_char").value
