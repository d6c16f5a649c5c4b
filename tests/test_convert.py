"""ABC -> music21 -> events -> MIDI / MusicXML: parsing, repairs, errors, events, accompaniment, exports.

Each fixture tune says what it exercises. MIDI is read back with mido, MusicXML with music21.
"""

from __future__ import annotations

import io
import time

import mido
import pytest

from musicgen.sound import budget, convert, events, export
from musicgen.sound.convert import InvalidABCError, NoteEvent

# Ties across a bar, a triplet, broken rhythm, a grace note, a two-note chord, first and second endings,
# chord symbols with an inversion, and a Q: of 100 dotted quarters (150 quarter notes) a minute.
JIG = """X:1
T:Test Jig
M:6/8
L:1/8
Q:3/8=100
K:D
|:"D"A>B (3cde {g}f2-|"Am/c"f2e "G"[GB]3|1"A7"A6:|2"D"d6||
"""

# A 4/4 reel with no Q: (default tempo), a pick-up and a final bar that completes it.
REEL = """X:2
T:Test Reel
M:4/4
L:1/8
K:G
B|"G"GABc dBGB|"C"c2ec "D7"dcBA|"G"G2GA B2"D"AG|"G"G6 z|]
"""

# A waltz with "N.C." (no chord) in its third bar.
WALTZ = """X:3
T:Test Waltz
M:3/4
L:1/4
R:waltz
K:C
"C"c2e|"G7"d2B|"N.C."c3|"C"c3|]
"""

# Two sections ending in :| with no |: at all: ABC repeats each from the previous section end.
SECTIONS = """X:4
T:Sections
M:2/4
L:1/8
K:C
CDEF|GABc:|cBAG|FEDC:|
"""


def midi_tracks(data: bytes) -> dict[str, list[mido.Message]]:
    """Messages of each named track of a MIDI file."""
    f = mido.MidiFile(file=io.BytesIO(data))
    return {t.name: [m for m in t if not m.is_meta] for t in f.tracks if t.name}


def note_ons(messages: list[mido.Message]) -> list[int]:
    return [m.note for m in messages if m.type == "note_on" and m.velocity > 0]


# ---------------------------------------------------------------- parse


def test_parse_reads_header_fields_and_tempo_from_q() -> None:
    p = convert.parse(JIG)
    assert (p.title, p.meter, p.key, p.tempo_bpm, p.tempo_from_abc) == ("Test Jig", "6/8", "D major", 150.0, True)
    assert p.repairs == () and p.abc.strip() == JIG.strip()


def test_default_tempo_comes_from_meter_or_tune_type() -> None:
    reel, waltz = convert.parse(REEL), convert.parse(WALTZ)
    assert (reel.tempo_bpm, reel.tempo_from_abc) == (160.0, False)
    assert (waltz.tempo_bpm, waltz.rhythm) == (130.0, "waltz")


@pytest.mark.parametrize(
    "tail, repaired, sentence",
    [
        ('|"G"GAB [DG', '|"G"GAB [DG]', "closed the unfinished chord '[DG'"),
        ('|"G"GAB "Am', '|"G"GAB', "removed the unfinished chord symbol '\"Am'"),
        ('|"G"GAB {ga', '|"G"GAB', "removed the unfinished grace group '{ga'"),
        ('|"G"GAB !tri', '|"G"GAB', "removed the unfinished decoration '!tri'"),
        ('|"G"GAB-', '|"G"GAB', "removed the dangling '-'"),
        ('|"G"GA>', '|"G"GA', "removed the dangling '>'"),
    ],
)
def test_truncated_tunes_are_repaired_and_the_repair_reported(tail: str, repaired: str, sentence: str) -> None:
    head = 'X:1\nT:Cut\nM:6/8\nL:1/8\nK:G\nD|"G"GAB "D"AGF|"G"G3 G2D'
    p = convert.parse(head + tail)
    assert sentence + " at the end of line 6" in p.repairs[0]
    assert (head + repaired) in p.abc
    assert convert.parse(p.abc).repairs == ()  # the repaired text needs no more repair


def test_unfinished_last_bar_is_completed_with_a_rest() -> None:
    p = convert.parse("X:1\nT:Cut\nM:4/4\nL:1/8\nK:G\nGABc dedB|dBGB A2D2|GABc d")
    assert p.repairs == ("the last bar was cut short; completed it with 1 1/2 beats of rest and a final bar line",)
    assert p.abc.endswith("GABc d z3|]\n")
    measures = p.score.parts[0].getElementsByClass("Measure")
    assert [m.highestTime for m in measures] == [4.0, 4.0, 4.0]


def test_short_last_bar_that_completes_the_pickup_is_left_alone() -> None:
    assert convert.parse("X:1\nM:3/4\nL:1/4\nK:C\nG|c2e|d2B|c2").repairs == ()


def test_text_after_the_tune_is_ignored_and_said_so() -> None:
    p = convert.parse(WALTZ + "\nX:9\nT:Another\nK:G\nGAB|\n")
    assert p.repairs == ("the text holds 2 tunes; only the first was used",)
    assert "Another" not in p.abc


def test_missing_unit_length_is_added_for_music21() -> None:
    p = convert.parse("X:1\nK:C\nCDE|\n")
    assert p.repairs == ("added L:1/8 before the K: line (the ABC default unit note length, which music21 needs)",)
    assert [n.duration_beats for n in convert.to_events(p).melody] == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    "abc, line, reason",
    [
        ('X:1\nK:G\n"G GAB|\nd2|\n', 3, "unclosed chord symbol '\"' at column 1"),
        ("X:1\nK:G\n[GB d2|\nd2|\n", 3, "unclosed chord '[' at column 1"),
        ("X:1\nK:G\nGA{g B|\nd2|\n", 3, "unclosed grace group '{' at column 3"),
        ("X:1\nM:100000/1\nK:C\nCDEF|\n", 2, "meter '100000/1' is out of range"),
        ("X:1\nM:6/8\nL:eighth\nK:C\nCDEF|\n", 3, "unit note length 'eighth' is not an ABC unit note length: give 1/"),
        ("X:1\nQ:fast\nL:1/8\nK:C\nCDEF|\n", 2, "tempo 'fast' is not an ABC tempo"),
        ("X:1\nQ:1/4=1000\nL:1/8\nK:C\nCDEF|\n", 2, "tempo '1/4=1000' is out of range"),
        ("X:1\nL:1/8\nK:Zlorp\nCDEF|\n", 3, "key 'Zlorp' is not an ABC key: give a tonic A-G"),
        ("X:1\nL:1/8\nK:C\nCDEF|\nC99999|\nCDEF|\n", 5, "note 'C99999' is longer than 64 unit lengths"),
        ("X:1\nL:1/8\nK:C\nCD[M:5/0]EF|\nCDEF|\n", 4, "meter '5/0' is not an ABC meter"),
    ],
)
def test_malformed_abc_names_the_line_and_the_reason(abc: str, line: int, reason: str) -> None:
    with pytest.raises(InvalidABCError) as e:
        convert.parse(abc)
    assert e.value.line == line and reason in e.value.reason
    assert str(e.value).startswith(f"line {line}: ")


def test_music21_failures_are_pinned_to_their_line() -> None:
    # music21 cannot read four slashes (ABC's C////); the bisection over prefixes finds line 7
    abc = "X:1\nT:x\nM:4/4\nL:1/8\nK:C\nCDEF GABc|\nC////D EF GABc|\ncdef gabc|\n"
    with pytest.raises(InvalidABCError) as e:
        convert.parse(abc)
    assert e.value.line == 7 and e.value.reason.startswith("music21 cannot read it")


def test_line_numbers_count_from_the_text_given() -> None:
    with pytest.raises(InvalidABCError) as e:
        convert.parse('% a comment\n% another\nX:1\nL:1/8\nK:G\nGAB|\n"G GAB|\nd2|\n')
    assert e.value.line == 7


@pytest.mark.parametrize(
    "abc, reason",
    [
        ("", "the text is empty"),
        ("   \n\n", "the text is empty"),
        ("hello world", "there is no K: line"),
        ("X:1\nT:Only a header\nM:4/4\nL:1/8\nK:C\n", "it has no notes to play"),
        ("X:1\nL:1/8\nK:C\nz8|z8|\n", "it has no notes to play"),
    ],
)
def test_text_that_is_no_tune_is_refused_without_a_line(abc: str, reason: str) -> None:
    with pytest.raises(InvalidABCError) as e:
        convert.parse(abc)
    assert e.value.line is None and reason in str(e.value)


def test_invalid_abc_error_is_a_value_error_with_line_and_reason() -> None:
    e = InvalidABCError(7, "unclosed chord '[' at column 3")
    assert isinstance(e, ValueError) and str(e) == "line 7: unclosed chord '[' at column 3"
    assert str(InvalidABCError(None, "it has no notes to play")) == "it has no notes to play"


def test_a_parse_that_runs_past_the_time_limit_is_stopped() -> None:
    slow = "X:1\nM:4/4\nL:1/8\nK:C\n" + "CDEF GABc|" * 1900  # ~15,000 notes: music21 needs seconds
    started = time.monotonic()
    with pytest.raises(InvalidABCError, match=r"reading it took longer than 0\.3 s"):
        convert.parse(slow, timeout=0.3)
    assert time.monotonic() - started < 5.0  # a bound on hanging, far above the limit: not a speed test


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # a stop dropped in a callback
def test_a_parse_that_swallows_the_stop_is_told_again_until_it_ends() -> None:
    """Like a stop that lands in a weakref callback: dropped there, the parse would go on without a second one."""
    import threading

    swallowed = []

    def stubborn() -> None:
        while True:
            try:
                while True:
                    time.sleep(0.001)
            except budget.Timeout:
                swallowed.append(1)
                if len(swallowed) == 3:
                    raise

    with pytest.raises(budget.Timeout):
        budget.call_before(time.monotonic() + 0.05, stubborn)
    parsers = [t for t in threading.enumerate() if t.name == "musicgen-convert"]
    for t in parsers:
        t.join(5.0)
    assert len(swallowed) == 3 and not any(t.is_alive() for t in parsers)


# ---------------------------------------------------------------- events


def test_melody_events_play_ties_tuplets_broken_rhythm_graces_chords_and_endings() -> None:
    ev = convert.to_events(convert.parse(JIG), accompaniment=False)
    first_time = [
        (69, 0.0, 0.75),
        (71, 0.75, 0.25),  # A>B
        (73, 1.0, 1 / 3),
        (74, 4 / 3, 1 / 3),
        (76, 5 / 3, 1 / 3),  # (3cde
        (79, 2.0, 0.125),
        (78, 2.125, 1.875),  # {g} then f2- tied to f2 of the next bar
        (76, 4.0, 0.5),
        (67, 4.5, 1.5),
        (71, 4.5, 1.5),  # e, then the chord [GB]3
        (69, 6.0, 3.0),  # first ending
    ]
    second_time = [(p, s + 9.0, d) for p, s, d in first_time[:-1]] + [(74, 15.0, 3.0)]  # second ending
    assert [n.pitch for n in ev.melody] == [p for p, _, _ in first_time + second_time]
    assert [n.start_beats for n in ev.melody] == pytest.approx([s for _, s, _ in first_time + second_time])
    assert [n.duration_beats for n in ev.melody] == pytest.approx([d for _, _, d in first_time + second_time])
    assert ev.beats == 18.0 and ev.tempo_bpm == 150.0 and ev.accompaniment == ()


def test_melody_velocity_accents_the_bar_and_the_beat() -> None:
    ev = convert.to_events(convert.parse(JIG), accompaniment=False)
    by_start = {n.start_beats: n.velocity for n in ev.melody}
    assert (by_start[0.0], by_start[4.5], by_start[0.75]) == (100, 90, 82)  # downbeat, beat 2 of 6/8, off-beat


@pytest.mark.parametrize("body", ["CDEF|GABc:|cBAG|FEDC:|", "|:CDEF|GABc::cBAG|FEDC:|", "|:CDEF|GABc:||:cBAG|FEDC:|"])
def test_sections_ending_in_repeats_each_repeat_once(body: str) -> None:
    ev = convert.to_events(convert.parse(SECTIONS.replace("CDEF|GABc:|cBAG|FEDC:|", body)))
    a, b = [60, 62, 64, 65, 67, 69, 71, 72], [72, 71, 69, 67, 65, 64, 62, 60]
    assert [n.pitch for n in ev.melody] == a + a + b + b
    assert ev.warnings == ()


def test_jig_accompaniment_is_bass_on_one_and_chord_on_four() -> None:
    ev = convert.to_events(convert.parse(JIG))
    first_bar = [(n.pitch, n.start_beats) for n in ev.accompaniment if n.start_beats < 3.0]
    assert first_bar == [(50, 0.0), (54, 1.5), (57, 1.5), (62, 1.5)]  # D3, then F#3 A3 D4
    am_over_c = [n.pitch for n in ev.accompaniment if n.start_beats == 3.0]
    assert am_over_c == [48]  # "Am/c": the bass is C


def test_a_bass_note_sharpened_with_a_plus_plays_sharp() -> None:
    # the Nottingham tunes write D with F# in the bass "D/f+"; music21 alone reads "+" as augmented (F, F#, A#, D)
    ev = convert.to_events(convert.parse('X:1\nM:4/4\nL:1/8\nK:D\n"D/f+"d8|"A7/c+"c8|"D"d8|]'))
    bars = [sorted({n.pitch % 12 for n in ev.accompaniment if b * 4 <= n.start_beats < b * 4 + 4}) for b in range(2)]
    basses = [min((n for n in ev.accompaniment if n.start_beats == b * 4.0), key=lambda n: n.pitch) for b in range(2)]
    assert bars == [[2, 6, 9], [1, 4, 7, 9]] and [n.pitch % 12 for n in basses] == [6, 1]  # D/F#, A7/C#


def test_the_corpus_short_diminished_and_augmented_symbols_are_played() -> None:
    # the Nottingham tunes write "Gd" (G diminished) and "Fa7" (F augmented seventh); music21 reads neither
    ev = convert.to_events(convert.parse('X:1\nM:4/4\nL:1/8\nK:G\n"Gd"G8|"Fa7"F8|"(Bbd/f)"B8|"G"G8|]'))
    bars = [sorted({n.pitch % 12 for n in ev.accompaniment if b * 4 <= n.start_beats < b * 4 + 4}) for b in range(3)]
    assert bars == [[1, 7, 10], [1, 3, 5, 9], [1, 4, 5, 10]]  # G Bb Db; F A C# Eb; Bb Db Fb over F


def test_reel_accompaniment_is_oom_pah_and_skips_the_pickup() -> None:
    ev = convert.to_events(convert.parse(REEL))
    bar1 = sorted((n.start_beats, n.pitch) for n in ev.accompaniment if 0.5 <= n.start_beats < 4.5)
    g_bass, d_fifth, g_chord = 43, 50, [55, 59, 62]
    assert bar1 == [(0.5, g_bass)] + [(1.5, p) for p in g_chord] + [(2.5, d_fifth)] + [(3.5, p) for p in g_chord]
    assert min(n.start_beats for n in ev.accompaniment) == 0.5  # the pick-up B has no chord


def test_waltz_accompaniment_is_bass_chord_chord_and_rests_at_no_chord() -> None:
    ev = convert.to_events(convert.parse(WALTZ))
    starts = sorted({n.start_beats for n in ev.accompaniment})
    assert starts == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 10.0, 11.0]  # bar 3 ("N.C.") is silent
    assert [n.pitch for n in ev.accompaniment if n.start_beats == 3.0] == [43]  # G7: bass G2


def test_to_events_leaves_the_parsed_score_untouched() -> None:
    p = convert.parse(SECTIONS)
    before = p.score.highestTime
    convert.to_events(p)
    assert p.score.highestTime == before == 8.0  # and 16 beats played


# ---------------------------------------------------------------- MIDI and other exports


def test_midi_has_melody_and_accompaniment_tracks_with_chosen_programs_and_tempo() -> None:
    data = export.to_midi(JIG, instrument="fiddle", accompaniment_instrument="guitar")
    tracks = midi_tracks(data)
    assert list(tracks) == ["melody", "accompaniment"]
    programs = {name: [m.program for m in msgs if m.type == "program_change"] for name, msgs in tracks.items()}
    assert programs == {"melody": [export.INSTRUMENTS["fiddle"]], "accompaniment": [export.INSTRUMENTS["guitar"]]}
    ev = convert.to_events(convert.parse(JIG))
    assert note_ons(tracks["melody"]) == [n.pitch for n in ev.melody]
    assert sorted(note_ons(tracks["accompaniment"])) == sorted(n.pitch for n in ev.accompaniment)
    tempos = [m.tempo for t in mido.MidiFile(file=io.BytesIO(data)).tracks for m in t if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(150)]


def test_midi_tempo_option_and_accompaniment_off() -> None:
    data = export.to_midi(convert.parse(JIG), accompaniment=False, tempo=90)
    f = mido.MidiFile(file=io.BytesIO(data))
    assert list(midi_tracks(data)) == ["melody"]
    assert f.length == pytest.approx((18.0 + export.TAIL_BEATS) * 60 / 90, abs=0.01)


def test_midi_is_the_same_bytes_every_time() -> None:
    assert export.to_midi(REEL, "flute") == export.to_midi(REEL, "flute")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"instrument": "kazoo"}, "unknown instrument 'kazoo'; choose one of: piano"),
        ({"accompaniment_instrument": 300}, "General MIDI programs are 0 to 127"),
        ({"tempo": 5}, "tempo 5 is out of range"),
    ],
)
def test_bad_midi_options_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        export.to_midi(JIG, **kwargs)


def test_instruments_are_general_midi_programs() -> None:
    assert {"piano", "fiddle", "flute", "accordion", "tin whistle", "guitar", "harp"} <= set(export.INSTRUMENTS)
    assert all(0 <= p <= 127 for p in export.INSTRUMENTS.values())


def test_musicxml_reads_back_with_the_same_notes() -> None:
    from music21 import converter

    p = convert.parse(REEL)
    xml = export.to_musicxml(p)
    assert xml.startswith(b"<?xml") and b"<score-partwise" in xml
    back = converter.parseData(xml.decode("utf-8"), format="musicxml")
    pitches = lambda s: [n.pitch.midi for n in s.flatten().notes if n.isNote]  # noqa: E731
    assert pitches(back) == pitches(p.score)


def test_downloads_hold_every_format_named_after_the_title() -> None:
    files = export.downloads(convert.parse(WALTZ), audio_format="ogg")
    assert sorted(files) == ["test-waltz.abc", "test-waltz.mid", "test-waltz.musicxml", "test-waltz.ogg"]
    assert files["test-waltz.abc"].decode() == WALTZ.strip() + "\n"
    assert files["test-waltz.mid"].startswith(b"MThd") and files["test-waltz.ogg"].startswith(b"OggS")


def test_events_can_be_given_to_to_midi_directly() -> None:
    ev = convert.Events(
        melody=(NoteEvent(60, 0.0, 1.0, 100),), accompaniment=(), tempo_bpm=120.0, beats=1.0, meter="4/4"
    )
    assert note_ons(midi_tracks(export.to_midi(ev))["melody"]) == [60]


def test_musicxml_takes_abc_text_too() -> None:
    assert export.to_musicxml(WALTZ) == export.to_musicxml(convert.parse(WALTZ))


def test_importing_musicgen_loads_neither_music21_nor_the_synthesizer() -> None:
    import subprocess
    import sys

    code = (
        "import sys, musicgen; musicgen.parse, musicgen.to_midi, musicgen.render; "
        "print(sorted(m for m in ('music21', 'midiutil', 'midirenderer', 'soundfile') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_parses_in_several_threads_at_once_agree_with_one_at_a_time() -> None:
    # Streamlit runs each browser session in its own thread: conversions must not share state
    from concurrent.futures import ThreadPoolExecutor

    tunes = [JIG, REEL, WALTZ, SECTIONS] * 3
    alone = [export.to_midi(t) for t in tunes]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(export.to_midi, tunes))
    assert together == alone


def test_a_first_parse_stopped_at_its_deadline_leaves_music21_working() -> None:
    # music21 imports modules on first use: a fresh process whose very first parse is stopped must still parse
    import subprocess
    import sys

    code = (
        "from musicgen.sound import convert\n"
        f"slow = 'X:1\\nM:4/4\\nL:1/8\\nK:C\\n' + 'CDEF GABc|' * 1900\n"
        "try:\n    convert.parse(slow, timeout=0.05)\nexcept convert.InvalidABCError as e:\n    print(e)\n"
        f"print(len(convert.to_events(convert.parse({JIG!r})).melody))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split("\n")[:2] == [
        "reading it took longer than 0.05 s; it is too long or too complex to play",
        "22",
    ], out.stderr


# ---------------------------------------------------------------- grace notes, MIDI ticks and the budget


def played(abc: str) -> list[tuple[int, float, float]]:
    ev = convert.to_events(convert.parse(abc), accompaniment=False)
    return [(n.pitch, round(n.start_beats, 6), round(n.duration_beats, 6)) for n in ev.melody]


def test_a_few_grace_notes_take_a_32nd_each_or_share_half_their_note() -> None:
    assert played("X:1\nM:4/4\nL:1/8\nK:G\n{g}A2 {gag}B|\n") == [
        (79, 0.0, 0.125),
        (69, 0.125, 0.875),  # {g}A2: a 32nd from the quarter note
        (79, 1.0, 0.083333),
        (81, 1.083333, 0.083333),
        (79, 1.166667, 0.083333),
        (71, 1.25, 0.25),  # {gag}B: three share half the eighth note
    ]


def test_graces_that_do_not_fit_before_their_note_are_left_out() -> None:
    ten = played("X:1\nM:4/4\nL:1/8\nK:G\n{gggggggggg}B|\n")
    assert ten == [(79, k / 32, 1 / 32) for k in range(8)] + [(71, 0.25, 0.25)]  # the last 8 fit, at a 128th each
    assert played("X:1\nM:4/4\nL:1/64\nK:G\n{gggggggg}g/4|\n") == [(79, 0.0, 0.015625)]  # none fits
    assert min(d for _, _, d in played("X:1\nM:4/4\nL:1/8\nK:G\n{" + "g" * 400 + "}G|\n")) >= events.MIN_GRACE_BEATS


def test_notes_under_one_midi_tick_are_not_written() -> None:
    ev = convert.Events(
        melody=(NoteEvent(79, 0.0, 0.0005, 90), NoteEvent(67, 0.0005, 1.0, 90)),
        accompaniment=(NoteEvent(43, 0.0, 0.0004, 70), NoteEvent(47, 0.0, 1.0, 70)),
        tempo_bpm=120.0,
        beats=1.0,
        meter="4/4",
    )
    tracks = midi_tracks(export.to_midi(ev))
    assert note_ons(tracks["melody"]) == [67] and note_ons(tracks["accompaniment"]) == [47]


def spin() -> None:
    while True:
        sum(range(1000))


def test_midi_and_musicxml_run_under_one_budget_with_the_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidABCError, match=r"^reading it took longer than 0 s"):
        export.to_midi(JIG, budget=budget.Budget.start(0.0))  # the parse spent it: nothing else runs
    monkeypatch.setattr(export, "_midi_file", lambda *args: spin())
    with pytest.raises(InvalidABCError, match=r"^making its MIDI took longer than 0\.3 s"):
        export.to_midi(convert.parse(JIG), budget=budget.Budget.start(0.3))
    monkeypatch.setattr(export, "_musicxml_of", lambda score: spin())
    with pytest.raises(InvalidABCError, match=r"^making its MusicXML took longer than 0\.3 s; .* to export"):
        export.to_musicxml(JIG, budget=budget.Budget.start(0.3))


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        ("(3GAB (GA) " * budget.MAX_SLURS + "|", None),  # tuplets are not slurs
        ("(" * (budget.MAX_SLURS + 1) + "G|", f"it has {budget.MAX_SLURS + 1} slurs"),
        ("".join(f"V:{i % 3} clef=treble\nG|[V:{i % 3}]A|\n" for i in range(100)), None),  # 3 voices, named again
        ("".join(f"[V:v{i}]G|" for i in range(budget.MAX_VOICES + 1)), f"it has {budget.MAX_VOICES + 1} voices"),
    ],
)
def test_musicxml_refusal_counts_slurs_and_voices(body: str, refusal: str | None) -> None:
    found = export.musicxml_refusal("X:1\nT:t\nM:4/4\nL:1/8\nK:G\n" + body)
    assert found == refusal if refusal is None else found is not None and found.startswith(refusal)
