"""Fuzzing ABC -> MIDI: random and mutated tunes give MIDI bytes or InvalidABCError, nothing else, in time.

1,000 examples in all (500 random bodies under a valid header, 500 mutations of real tunes written
here), and 100 runs of grace groups of any size before notes of any length, derandomised so every run tries the
same inputs. Each must finish within its budget (one deadline for the parse, events and MIDI) plus a
margin for stopping: the budget is what keeps the app from hanging.
"""

from __future__ import annotations

import io
import time

import mido
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from musicgen.sound import convert, export
from musicgen.sound.budget import Budget
from musicgen.sound.convert import InvalidABCError

TIMEOUT = 2.0  # seconds for one tune's parse (repairs and error bisection included), events and MIDI
MARGIN = 3.0  # for stopping a step past the deadline, on a busy machine

SEEDS = [
    'X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\n|:"D"A>B (3cde {g}f2-|"Am/c"f2e "G"[GB]3|1"A7"A6:|2"D"d6||\n',
    'X:2\nT:Reel\nM:4/4\nL:1/8\nK:G\nB|"G"GABc dBGB|"C"c2ec "D7"dcBA|"G"G2GA B2AG|"G"G6 z|]\n',
    'X:3\nT:Waltz\nM:3/4\nL:1/4\nQ:1/4=120\nK:Am\n"Am"A2c|"E7"B2^G|"Am"A3|[M:2/4]"N.C."z2|]\n',
    'X:4\nT:Hornpipe\nM:C|\nL:1/8\nR:hornpipe\nK:Dmix\nP:A\nAG|"D"F2Ad fdAF|"G"G2Bd g2ag:|\nP:B\n'
    'fg|"D"a2fd Adfa|"Em"gece "A7"g2ag|"D"d2f2 d2:|\n',
]
ABC_CHARS = "ABCDEFGabcdefgzxZ^_=,'/0123456789|:[]{}()\"!-<>.~ \n%KLMQTmj+#&@;$\\"

header = st.sampled_from(["X:1\nM:6/8\nL:1/8\nK:G\n", "X:1\nM:4/4\nK:D\n", "X:1\nL:1/16\nK:Am\n", "X:1\nK:C\n"])
random_tunes = st.builds(lambda h, body: h + body, header, st.text(alphabet=ABC_CHARS, max_size=300))
unit = st.sampled_from(["1/4", "1/8", "1/16", "1/32", "1/64"])
grace_group = st.builds(
    lambda n, note, length: "{" + "gaf"[: min(n, 3)] * (n // 3 + 1) + "}" + note + length,
    st.integers(1, 150),
    st.sampled_from(["G", "^c", "[GB]", "z"]),
    st.sampled_from(["", "2", "/", "/4", "//", "3/8", "/16"]),
)
grace_tunes = st.builds(
    lambda u, groups: f"X:1\nM:4/4\nL:{u}\nK:G\n" + " ".join(groups) + "|\n",
    unit,
    st.lists(grace_group, min_size=1, max_size=4),
)


@st.composite
def mutated_tunes(draw: st.DrawFn) -> str:
    """A real tune with a few cuts, insertions, replacements, duplications or a truncation."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        how = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "truncate"]))
        chunk = draw(st.text(alphabet=ABC_CHARS, min_size=1, max_size=6))
        text = {
            "delete": text[:i] + text[j:],
            "insert": text[:i] + chunk + text[i:],
            "replace": text[:i] + chunk + text[j:],
            "duplicate": text[:j] + text[i:j] * 3 + text[j:],
            "truncate": text[:i],
        }[how]
    return text


def midi_or_invalid(abc: str) -> str:
    """ "midi" or "invalid"; anything else (another exception, bad bytes, too slow) fails the test."""
    started = time.monotonic()
    try:
        budget = Budget.start(TIMEOUT)
        data = export.to_midi(convert.parse(abc, timeout=budget), "fiddle", budget=budget)
        outcome = "midi"
    except InvalidABCError as e:
        assert e.reason and (e.line is None or e.line >= 1)
        outcome = "invalid"
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT + MARGIN, f"{elapsed:.1f} s for {abc!r}"
    if outcome == "midi":
        melody = [t for t in mido.MidiFile(file=io.BytesIO(data)).tracks if t.name == "melody"]
        assert melody and any(m.type == "note_on" for m in melody[0])
    return outcome


FUZZ = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@FUZZ
@given(random_tunes)
def test_random_abc_gives_midi_or_invalid_abc_error(abc: str) -> None:
    event(midi_or_invalid(abc))  # the share of each: pytest --hypothesis-show-statistics


@pytest.mark.slow
@FUZZ
@given(mutated_tunes())
def test_mutated_tunes_give_midi_or_invalid_abc_error(abc: str) -> None:
    event(midi_or_invalid(abc))


@pytest.mark.slow
@settings(FUZZ, max_examples=100)
@given(grace_tunes)
def test_grace_notes_before_notes_of_any_length_give_midi_or_invalid_abc_error(abc: str) -> None:
    event(midi_or_invalid(abc))  # many graces once landed on one MIDI tick: midiutil could not write the file


def test_every_seed_tune_converts() -> None:
    assert [midi_or_invalid(t) for t in SEEDS] == ["midi"] * len(SEEDS)
