"""The app script (``app.py``) run by ``streamlit.testing.v1.AppTest``: every control changes what it shows.

Generation runs on a tiny random-weight checkpoint (``tiny_checkpoint``, via
``MUSICGEN_WEIGHTS``): its tunes are noise, but exactly the noise the sampler gives
for those settings, which is what these tests compare with. Sound controls need a
tune that parses: those tests give a complete tune as the primer and let the tiny
model add only a few characters. The audio the page plays is identified by its
media id, a hash of the bytes, and compared with what :func:`make_sound` renders.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import code_blocks
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from musicgen.app import render
from musicgen.app import support as sup
from musicgen.app.session import first_shown
from musicgen.app.settings import Settings
from musicgen.app.text import shown
from musicgen.compose.sample import Generator
from musicgen.sound import convert

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120  # a first run imports music21 on a shared 2-core machine

# A complete, well-formed reel: the primer of the sound tests (the tiny model adds a few characters).
PLAYABLE_LENGTH = 3  # characters the tiny model adds to a primer
# 170 bars of one whole note: 680 beats, longer than the synthesizer renders (600 s) at 60 beats a minute.
LONG = "X:1\nT:Long Note\nM:4/4\nL:1/4\nK:C\n" + "C4|" * 170 + "]\n"
REEL = 'X:1\nT:Test Reel\nM:4/4\nL:1/8\nK:D\n|:"D"A2FA dAFA|"G"B2GB "A"AFED|"D"A2FA dAFA|"A"BcdB "D"A2D2:|\n'


@pytest.fixture
def weights(tiny_checkpoint, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tiny_checkpoint.path))
    return Path(tiny_checkpoint.path)


@pytest.fixture
def app(weights: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


WIDGETS = {  # Settings field -> the AppTest accessor of its widget
    "seed_char": "selectbox",
    "length": "slider",
    "temperature": "slider",
    "seed": "number_input",
    "key": "selectbox",
    "meter": "selectbox",
    "tune_type": "selectbox",
    "primer": "text_area",
    "n": "slider",
    "instrument": "selectbox",
    "accompaniment": "toggle",
    "tempo": "select_slider",
    "constrained": "toggle",
}


def set_options(at: AppTest, **options: Any) -> None:
    for name, value in options.items():
        getattr(at, WIDGETS[name])(key=f"opt_{name}").set_value(value)


def compose(at: AppTest, **options: Any) -> AppTest:
    """Set the options (the seed stays as given: no reseeding), press Compose, return the page."""
    at.checkbox(key="opt_reseed").set_value(False)
    set_options(at, **options)
    next(b for b in at.button if b.label == "Compose").click()
    at.run()
    assert not at.exception, at.exception
    return at


def shown_abc(at: AppTest) -> str:
    """The ABC text on the page (its code block drops the final newline; so do the tunes compared with it)."""
    return code_blocks(at)[0]


def sheet_args(at: AppTest) -> dict:
    (sheet,) = at.get("component_instance")
    return json.loads(sheet.proto.json_args)


def audio_id(at: AppTest) -> str:
    """The media id of the sound the page's player plays (the player lives in the sheet-music component)."""
    audio = sheet_args(at)["audio"]
    assert audio is not None, "the page has no player"
    return audio["url"].rsplit("/", 1)[-1].split(".")[0]


def settings_of(at: AppTest) -> Settings:
    """The settings the page's widgets show (the meter-aware switch is there only when the sampler offers it)."""
    values = {
        name: getattr(at, kind)(key=f"opt_{name}").value
        for name, kind in WIDGETS.items()
        if name != "constrained" or any(t.key == "opt_constrained" for t in at.toggle)
    }
    return Settings(**values)


def alone(weights: Path, settings: Settings) -> list[str]:
    return [t.abc.rstrip("\n") for t in Generator.load(weights).generate(settings.sample_config())]


def test_first_page_invites_to_compose_and_describes_the_model(app: AppTest, tiny_checkpoint) -> None:  # type: ignore[no-untyped-def]
    assert any("Compose" in i.value for i in app.info)
    assert [e.label for e in app.expander] == ["About the model"] and not app.metric  # drawn once opened
    app.session_state["about_model"] = True  # the reader opens it
    app.run()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Vocabulary"] == f"{len(tiny_checkpoint.vocab)} chars"
    assert metrics["Parameters"] == f"{tiny_checkpoint.n_params:,}"
    assert metrics["Weights"] == "tiny-weights"
    assert any("musicgen card" in c.value for c in app.caption)  # the tiny checkpoint has no model card


def test_model_panel_shows_the_model_card_and_its_plot(weights: Path) -> None:
    from PIL import Image

    (weights / "MODEL_CARD.md").write_text("# Model card: tiny\n\n![loss per epoch](loss.png)\n\nVal loss 4.6\n")
    Image.new("RGB", (40, 20), "white").save(weights / "loss.png")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["about_model"] = True  # the panel opened
    at.run()
    assert not at.exception
    texts = [m.value for m in at.markdown]
    assert "# Model card: tiny" in texts and "Val loss 4.6" in texts
    assert len(at.get("image")) == 1
    assert not any("loss.png" in t for t in texts)


def test_compose_shows_exactly_the_tune_the_settings_give(app: AppTest, weights: Path) -> None:
    compose(app, seed=5)
    expected = alone(weights, settings_of(app))[0]
    assert shown_abc(app) == expected
    assert app.query_params["seed"] == "5"
    assert len(app.session_state["history"]) == 1


@pytest.mark.parametrize(
    "name, first, second",
    [
        ("seed", 1, 2),
        ("temperature", 0.5, 1.2),
        ("seed_char", "X", "T"),
        ("length", 64, 96),
    ],
)
def test_sampling_controls_change_the_tune(app: AppTest, weights: Path, name: str, first: Any, second: Any) -> None:
    options = {"seed": 3, name: first}
    a = shown_abc(compose(app, **options))
    b = shown_abc(compose(app, **{**options, name: second}))
    assert a != b
    assert b == alone(weights, settings_of(app))[0]


def test_length_caps_the_tune(app: AppTest) -> None:
    assert len(shown_abc(compose(app, seed=4, length=64))) <= 64 + 80  # the header is written before the music


@pytest.mark.parametrize(
    "name, value, line",
    [
        ("key", "Em", "K:Em"),
        ("meter", "6/8", "M:6/8"),
        ("tune_type", "jig", "R:Jig"),
    ],
)
def test_header_controls_write_the_header(app: AppTest, name: str, value: str, line: str) -> None:
    assert line in shown_abc(compose(app, seed=6, **{name: value})).splitlines()  # R: is written capitalised


def test_primer_is_continued(app: AppTest) -> None:
    abc = shown_abc(compose(app, seed=7, primer=REEL, length=64))
    assert abc.startswith(REEL.rstrip("\n"))


def test_the_page_says_when_a_primer_leaves_meter_aware_writing_off(app: AppTest) -> None:
    from musicgen.compose.constrain import FREE_WRITING

    compose(app, seed=7, primer=REEL, length=20, constrained=True)
    assert FREE_WRITING not in [shown(i.value) for i in app.info]
    compose(app, seed=7, primer=REEL.replace("dAFA|", "(dAF)A|", 1), length=20, constrained=True)
    assert FREE_WRITING in [shown(i.value) for i in app.info]


def test_candidates_are_all_kept_and_can_be_switched(app: AppTest, weights: Path) -> None:
    def best(seed: int) -> int:  # the best-formed candidate (ended by itself, then form_score, then nats/char)
        tunes = Generator.load(weights).generate(Settings(seed=seed, n=3, length=300).sample_config())
        return first_shown(tunes, None)

    seed = next(s for s in range(8, 60) if best(s) != 0)  # so that showing the first would be wrong
    compose(app, seed=seed, n=3, length=300)
    expected = alone(weights, settings_of(app))
    assert [e.abc.rstrip("\n") for e in app.session_state["history"]] == expected
    assert shown_abc(app) == expected[best(seed)]
    radio = app.radio(key=f"cand_{app.session_state['history'][0].batch}")
    assert len(radio.options) == 3
    other = next(i for i in range(3) if radio.options[i] != radio.value)
    radio.set_value(radio.options[other]).run()
    assert shown_abc(app) == expected[other]
    assert app.query_params.get("pick", "0") == str(other)  # the first candidate needs no pick


def test_meter_aware_switch_is_there_exactly_when_the_sampler_offers_it(app: AppTest, weights: Path) -> None:
    absence = sup.meter_aware_absence(Generator.load(weights))
    assert any(t.key == "opt_constrained" for t in app.toggle) == (absence is None)
    if absence is None:
        compose(app, seed=9, meter="3/4", constrained=True)
        assert shown_abc(app) == alone(weights, settings_of(app))[0]
        assert settings_of(app).constrained
    else:
        assert absence in [shown(c.value) for c in app.caption]


def test_new_seed_button_and_reseeding(app: AppTest) -> None:
    seed = app.number_input(key="opt_seed")
    before = seed.value
    next(b for b in app.button if b.label == "New seed").click().run()
    after = app.number_input(key="opt_seed").value
    assert after != before  # one chance in a million to fail
    app.checkbox(key="opt_reseed").set_value(True)
    next(b for b in app.button if b.label == "Compose").click().run()
    assert app.number_input(key="opt_seed").value != after
    assert app.query_params["seed"] == str(app.number_input(key="opt_seed").value)


def test_history_replays_an_earlier_tune_and_the_tunebook_holds_all(app: AppTest) -> None:
    first = shown_abc(compose(app, seed=10))
    second = shown_abc(compose(app, seed=11))
    assert first != second
    history = app.session_state["history"]
    assert [e.settings.seed for e in history] == [10, 11]
    next(b for b in app.button if b.key == "show_0").click().run()
    assert shown_abc(app) == first
    assert app.query_params["seed"] == "10"
    book = sup.tunebook([e.abc for e in history])
    assert book.count("X:") >= 2 and book.startswith("X:1\n")


def test_permalink_regenerates_the_same_tune(weights: Path) -> None:
    first = AppTest.from_file(APP, default_timeout=TIMEOUT)
    first.run()
    compose(first, seed=12, key="G", temperature=0.7)
    link = dict(first.query_params)
    second = AppTest.from_file(APP, default_timeout=TIMEOUT)
    second.query_params.update(link)
    second.run()
    assert not second.exception
    assert shown_abc(second) == shown_abc(first)
    assert second.slider(key="opt_temperature").value == 0.7


def test_unreadable_permalink_values_are_reported_and_defaults_used(weights: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"seed": "3", "length": "many"})
    at.run()
    assert not at.exception
    assert any("length='many'" in shown(w.value) for w in at.warning)
    assert at.slider(key="opt_length").value == Settings().length


def test_bad_primer_is_an_error_sentence_not_a_traceback(app: AppTest) -> None:
    compose(app, seed=1, primer="X:1\nK:G\nGAB é|")
    assert not app.exception
    (error,) = app.error
    assert "é" in shown(error.value) and "Compose again" in error.value
    assert app.session_state["history"] == []


def test_missing_weights_is_an_error_sentence(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    (error,) = at.error
    assert "MUSICGEN_WEIGHTS" in error.value and "nowhere" in shown(error.value)
    assert not [b for b in at.button if b.label == "Compose"]


def readable_seed(weights: Path, primer: str) -> int:
    """A seed for which the tiny model's few characters after ``primer`` leave a tune music21 reads."""
    for seed in range(50):
        abc = alone(weights, Settings(seed=seed, primer=primer, length=PLAYABLE_LENGTH))[0]
        try:
            convert.parse(abc)
        except convert.InvalidABCError:
            continue
        return seed
    pytest.fail("no seed below 50 gives a readable tune from this primer")


@pytest.fixture
def playable_seed(weights: Path) -> int:
    return readable_seed(weights, REEL)


@pytest.mark.slow
def test_sound_controls_change_the_audio(app: AppTest, playable_seed: int) -> None:
    compose(app, seed=playable_seed, primer=REEL, length=PLAYABLE_LENGTH)
    abc = shown_abc(app)
    ids = {}
    for instrument, accompaniment, tempo in [
        ("piano", True, 0),
        ("fiddle", True, 0),
        ("piano", False, 0),
        ("piano", True, 180),
    ]:
        set_options(app, instrument=instrument, accompaniment=accompaniment, tempo=tempo)
        app.run()
        sound = render.make_sound(abc, instrument, accompaniment, tempo)
        assert sound.audio is not None, sound.parse_error or sound.audio_error
        assert audio_id(app) == _calculate_file_id(sound.audio, sound.audio_mime)
        ids[(instrument, accompaniment, tempo)] = audio_id(app)
    assert len(set(ids.values())) == 4
    assert shown_abc(app) == abc  # sound controls do not recompose


def test_sheet_badges_and_downloads_of_a_tune_that_parses(app: AppTest, playable_seed: int) -> None:
    compose(app, seed=playable_seed, primer=REEL, length=PLAYABLE_LENGTH)
    assert sheet_args(app)["abc"].rstrip("\n") == render.sheet_text(shown_abc(app))
    assert sheet_args(app)["title"] == "Test Reel"
    text = " ".join(m.value for m in app.markdown)
    assert "check: parses]" in text and "check: bars 4/4]" in text  # the primer's four bars, every one judged
    assert "close: only 4 bars]" in text  # a form badge: a fragment, not a whole tune
    downloads = {b.label: b for b in app.get("download_button")}
    assert {"ABC", "MIDI", "Audio (WAV)", "MusicXML"} <= set(downloads)
    assert not any(downloads[k].proto.disabled for k in ("ABC", "MIDI", "Audio (WAV)", "MusicXML"))


def test_a_tune_that_does_not_parse_is_still_shown_and_downloadable(app: AppTest) -> None:
    compose(app, seed=2, primer="X:1\nT:No notes\nM:4/4\nK:C\n", length=1, constrained=False)  # free: one character
    abc = shown_abc(app)
    sound = render.make_sound(abc)
    if sound.parses:
        pytest.fail(f"expected this tune not to parse: {abc!r}")
    assert any("cannot be read as music" in shown(e.value) for e in app.error)
    downloads = {b.label: b for b in app.get("download_button")}
    assert not downloads["ABC"].proto.disabled
    assert downloads["MIDI"].proto.disabled and downloads["MusicXML"].proto.disabled


BARS = {"6/8": "GAB cBA|dcB AGF|", "2/2": "G2A2 B2c2|d2c2 B2A2|", "4/4": "G2A2 B2c2|d2c2 B2A2|"}


@pytest.mark.parametrize(("meter", "tempo", "quarters"), [("6/8", 110, 165), ("2/2", 100, 200), ("4/4", 120, 120)])
def test_the_tempo_counts_the_tunes_own_beat(meter: str, tempo: int, quarters: int) -> None:
    import io

    import mido

    sound = render.make_sound(f"X:1\nT:Beat\nM:{meter}\nL:1/8\nK:G\n{BARS[meter]}\n", tempo=tempo)
    assert sound.midi is not None, sound.audio_error
    midi = mido.MidiFile(file=io.BytesIO(sound.midi))
    assert {m.tempo for t in midi.tracks for m in t if m.type == "set_tempo"} == {mido.bpm2tempo(quarters)}


def test_a_tempo_too_fast_for_the_meter_is_a_sentence() -> None:
    sound = render.make_sound(f"X:1\nT:Reel\nM:2/2\nL:1/8\nK:G\n{BARS['2/2']}\n", tempo=240)
    assert sound.parses and sound.midi is None and sound.audio is None
    assert sound.audio_error is not None and "240 beats a minute does not fit this tune's 2/2" in sound.audio_error
    assert "choose 10 to 200" in sound.audio_error


def test_the_app_never_imports_tensorflow(weights: Path) -> None:
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT}).run()\n"
        "next(b for b in at.button if b.label == 'Compose').click().run()\n"
        "assert not at.exception, at.exception\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_when_only_the_audio_fails_the_tune_is_still_shown_and_downloadable(
    app: AppTest, playable_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from musicgen.sound import audio

    def fail(*args: object, **kwargs: object) -> bytes:
        raise audio.AudioError("the synthesizer is not installed")

    monkeypatch.setattr(audio, "render", fail)
    # tempo 130: a sound no other test asks for, so none is on the server's shelf already
    compose(app, seed=playable_seed, primer=REEL, length=PLAYABLE_LENGTH, tempo=130)
    assert sheet_args(app)["audio"] is None  # the sheet is there, without a player
    (error,) = app.error
    assert "audio could not be rendered" in shown(error.value) and "ABC and MIDI files below" in shown(error.value)
    assert shown_abc(app).startswith(REEL.rstrip("\n"))
    assert sheet_args(app)["title"] == "Test Reel"
    downloads = {b.label: b for b in app.get("download_button")}
    assert not downloads["ABC"].proto.disabled and not downloads["MIDI"].proto.disabled
    assert downloads["Audio (WAV)"].proto.disabled


def test_audio_cut_at_the_ceiling_says_so_beside_the_player(app: AppTest, weights: Path) -> None:
    compose(app, seed=readable_seed(weights, LONG), primer=LONG, length=PLAYABLE_LENGTH, tempo=60)
    assert sheet_args(app)["audio"] is not None
    sound = render.make_sound(shown_abc(app) + "\n", tempo=60)
    note = getattr(sound, "audio_note", None)
    assert note is not None and "MIDI download holds all of it" in note  # 680 beats at 60 a minute: 11 minutes
    assert note in [shown(c.value) for c in app.caption]
    downloads = {b.label: b for b in app.get("download_button")}
    assert not downloads["MIDI"].proto.disabled and not downloads["Audio (WAV)"].proto.disabled


def test_the_page_plays_a_small_mono_wav_and_the_download_is_full_quality(app: AppTest, playable_seed: int) -> None:
    import io
    import wave

    compose(app, seed=playable_seed, primer=REEL, length=PLAYABLE_LENGTH)
    sound = render.make_sound(shown_abc(app))
    assert sound.audio is not None and sound.midi is not None
    assert audio_id(app) == _calculate_file_id(sound.audio, sound.audio_mime)  # the player holds the page's render
    with wave.open(io.BytesIO(sound.audio)) as w:
        page = (w.getnchannels(), w.getframerate(), w.getsampwidth())
        page_seconds = w.getnframes() / w.getframerate()
    with wave.open(io.BytesIO(render.full_audio(sound.midi))) as w:
        full = (w.getnchannels(), w.getframerate(), w.getsampwidth())
        assert abs(w.getnframes() / w.getframerate() - page_seconds) < 0.01  # the same music, all of it
    assert page == (render.PAGE_CHANNELS, render.PAGE_RATE, 2) == (1, 24_000, 2) and full == (2, 48_000, 2)
    assert len(sound.audio) / page_seconds * 60 <= 3_000_000  # at most 3 MB a minute of music


@pytest.mark.parametrize("options", [dict(seed=4), dict(seed=5, n=3, constrained=False), dict(seed=6, key="D")])
def test_the_tune_shown_while_it_is_written_grows_into_the_tune_composed(weights: Path, options: Any) -> None:
    from musicgen.app.live import generate_watched

    gen, cfg = Generator.load(weights), Settings(length=60, **options).sample_config()
    seen: list[str] = []
    tunes = generate_watched(gen, cfg, seen.append, every=5, interval_s=0.0)
    assert tunes == gen.generate(cfg)  # watching changes nothing: the same tunes, meter-aware marks included
    assert len(seen) >= 5 and all(len(a) < len(b) and b.startswith(a) for a, b in zip(seen, seen[1:]))
    assert seen[-1].startswith("X:") and tunes[0].abc.startswith(seen[0][:2])


def test_the_first_notes_are_shown_at_once_however_fast_the_tune_is_written(weights: Path) -> None:
    from musicgen.app.live import generate_watched, has_notes

    gen, cfg = Generator.load(weights), Settings(seed=4, length=200).sample_config()
    seen: list[str] = []
    generate_watched(gen, cfg, seen.append, every=5, interval_s=3600.0)  # a report an hour, but for the first notes
    assert len(seen) == 2 and not has_notes(seen[0]) and has_notes(seen[1]), seen


def test_after_composing_the_tune_replaces_its_text_as_it_was_written(app: AppTest) -> None:
    compose(app, seed=3, length=40)
    assert not app.exception and shown_abc(app).startswith("X:")
    *_, permalink = blocks = code_blocks(app)
    assert "seed=3" in permalink and [c for c in blocks if c not in (shown_abc(app), permalink)] == []


def test_a_change_of_sound_reads_the_tune_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reads: list[str] = []
    parse = convert.parse
    monkeypatch.setattr(convert, "parse", lambda abc, timeout: reads.append(abc) or parse(abc, timeout=timeout))
    abc = REEL.replace("Test Reel", "Read Once")  # a text no other test has read in this process
    sounds = [
        render.make_sound(abc, instrument, accompaniment)
        for instrument, accompaniment in [("piano", True), ("fiddle", True), ("fiddle", False)]
    ]
    assert reads == [abc] and len({s.midi for s in sounds}) == 3 and all(s.audio for s in sounds)


def test_inside_the_model_is_a_mode_beside_the_composer_and_the_tune_waits_for_it(app: AppTest) -> None:
    compose(app, seed=5)
    abc, entry = shown_abc(app), app.session_state["history"][0]
    draft = f"draft_{entry.ident}"
    app.text_area(key=draft).set_value(abc + "\n% not played yet").run()  # an edit being made
    app.radio(key="mode").set_value("inside").run()
    assert not app.exception, app.exception
    assert "Inside the model" in [s.value for s in app.subheader]
    assert app.radio(key="inside_view").value == "Step by step"
    assert app.number_input(key="inside_seed").value == 5  # the composer's settings, to start from
    assert not app.get("download_button") and not any(b.key == "show_0" for b in app.button)  # no composer
    app.radio(key="inside_view").set_value("Surprise map").run()
    assert not app.exception and any("surprise" in c.value.lower() for c in app.caption)
    app.radio(key="mode").set_value("compose").run()
    assert shown_abc(app) == abc and len(app.session_state["history"]) == 1  # the tune, as it was
    assert app.text_area(key=draft).value == abc + "\n% not played yet"  # and the edit being made
    app.radio(key="mode").set_value("inside").run()
    assert app.radio(key="inside_view").value == "Surprise map"  # the view chosen, kept too


def test_compose_pressed_inside_the_model_composes_and_shows_the_tune(app: AppTest, weights: Path) -> None:
    app.checkbox(key="opt_reseed").set_value(False)
    set_options(app, seed=6)
    app.radio(key="mode").set_value("inside").run()
    next(b for b in app.button if b.label == "Compose").click().run()
    assert not app.exception and app.radio(key="mode").value == "compose"
    assert shown_abc(app) == alone(weights, settings_of(app))[0]


def test_the_servers_long_lived_objects_are_frozen_and_dead_cycles_collected_in_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After a composition what is alive is frozen (Streamlit's collection after each run passes it by); a frozen
    cycle that dies is collected at the full collection every FREEZE_EVERY compositions."""
    import gc
    import time
    import weakref

    class Node:
        pass

    monkeypatch.setattr(render, "FULL_AFTER_S", 0.0)
    monkeypatch.setattr(render, "_frozen", [0])
    node = Node()
    node.me = node  # a cycle: only the collector frees it
    alive = weakref.ref(node)
    render.freeze_alive()  # the first of FREEZE_EVERY: no full collection
    frozen = gc.get_freeze_count()
    del node
    gc.collect()
    assert frozen > 0 and alive() is not None  # frozen: the collections after each run leave it
    for _ in range(render.FREEZE_EVERY - 1):
        render.freeze_alive()
    deadline = time.monotonic() + 10
    while (alive() is not None or not gc.get_freeze_count()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert alive() is None and gc.get_freeze_count() > 0  # collected, and what lives frozen again
