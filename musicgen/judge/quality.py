r"""The quality of a set of tunes, measured against a training corpus (DESIGN.md, "Quality of a generated tune").

Per tune (:func:`check_tune`): does music21 parse it (with a time limit), is the
header complete and valid, does it end cleanly, how many inner bars are the
right length, and how many consecutive bars it shares with one training tune.
Over a set (:func:`summarise`): those as rates, its form (:mod:`musicgen.judge.formset`:
parts, bars, ending on the tonic, header held) beside the held-out tunes' form, and how close
its pitch-class, note-length, key and meter distributions are to the training tunes', each
beside the corpus's own figure (held-out tunes against training tunes) as the ceiling.

>>> ref = Reference(["X:1\nT:a\nM:3/4\nL:1/4\nK:G\nd|B2 c|d2 e|f3|g3|]"], ["X:2\nT:b\nM:3/4\nK:G\nB2 c|d3|]"])
>>> report = summarise([check_tune("X:3\nT:c\nM:3/4\nL:1/4\nK:D\nA2 B|c3|d2|e3|]", ref, parse=None)], ref)
>>> report["inner_bars"]["share"], report["header_rate"], report["near_copy_rate"]
(0.5, 1.0, 0.0)
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.rhythm import analyse
from musicgen.judge.features import header_problems, key_and_meter, note_lengths, overlap, pitch_classes, shares
from musicgen.judge.form import Form, tune_form
from musicgen.judge.formset import form_facts, summarise_forms
from musicgen.judge.novelty import NEAR_COPY_BARS, BarIndex

ParseCheck = Callable[[str], tuple[str, tuple[str, ...]]]  # -> (why it does not parse or "", repairs it needed)


@dataclass
class TuneCheck:
    """What was measured on one tune."""

    parses: bool | None  # music21 read it, after any repairs; None: not checked
    parse_error: str
    repairs: list[str]  # what the parser had to mend first (a tune cut off mid-chord, say)
    header_problems: list[str]
    ended: bool | None  # the generator stopped by itself before its length cap; None: not generated
    final_bar: bool  # the music ends with a bar line (not cut mid-bar)
    inner_bars: int
    inner_correct: int
    unjudged_bars: int  # bars under no meter (no M:, or M:none): ABC's free meter, nothing to check
    longest_run: int  # most consecutive bars shared with one training tune
    key: str
    meter: str
    chars: int
    wrong_bars: list[str] = field(default_factory=list)  # text of the first few wrong inner bars
    form: Form | None = None  # parts, bars, ending and header held (musicgen.judge.form)

    @property
    def clean_ending(self) -> bool:
        return self.final_bar and self.ended is not False


def ends_with_bar_line(tune: str) -> bool:
    r"""Whether the last thing in a tune (spaces and comments aside) is a bar line.

    >>> ends_with_bar_line("X:1\nK:G\nabc|d2:|\n"), ends_with_bar_line("X:1\nK:G\nabc|d2")
    (True, False)
    """
    skip = (T.SPACE, T.NEWLINE, T.COMMENT, T.CONTINUATION)
    last = next((t for t in reversed(T.tokenize(tune)) if t.kind not in skip), None)
    return last is not None and last.kind == T.BAR


class Reference:
    """The training tunes as a yardstick: their bar index and distributions, and the corpus's own overlaps."""

    def __init__(self, train: Sequence[str], val: Sequence[str]) -> None:
        self.train, self.val = list(train), list(val)
        self.index = BarIndex(self.train)
        self.dists = distributions(self.train)
        val_dists = distributions(self.val)
        self.self_overlap = {name: overlap(val_dists[name], d) for name, d in self.dists.items()}
        self.val_form = summarise_forms([tune_form(t) for t in self.val])  # the ceiling of the form figures


def distributions(tunes: Sequence[str]) -> dict[str, dict[str, float]]:
    """Pitch-class, note-length, key and meter shares over a set of tunes."""
    keys_meters = [key_and_meter(t) for t in tunes]
    return {
        "pitch_class": shares(p for t in tunes for p in pitch_classes(t)),
        "note_length": shares(d for t in tunes for d in note_lengths(t)),
        "key": shares(k for k, _ in keys_meters),
        "meter": shares(m for _, m in keys_meters),
    }


def check_tune(tune: str, ref: Reference, parse: ParseCheck | None, ended: bool | None = None) -> TuneCheck:
    """Measure one tune (``parse=None`` skips the music21 check)."""
    error, repairs = parse(tune) if parse else ("", ())
    rhythm = analyse(tune)
    wrong = [b.text for b in rhythm.checked if not b.correct]
    key, meter = key_and_meter(tune)
    return TuneCheck(
        parses=None if parse is None else not error,
        parse_error=error,
        repairs=list(repairs),
        header_problems=header_problems(tune),
        ended=ended,
        final_bar=ends_with_bar_line(tune),
        inner_bars=len(rhythm.checked),
        inner_correct=rhythm.inner_correct,
        unjudged_bars=sum(b.expected is None for b in rhythm.bars),
        longest_run=ref.index.longest_run(tune),
        key=key,
        meter=meter,
        chars=len(tune),
        wrong_bars=wrong[:3],
        form=tune_form(tune),
    )


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def summarise(checks: Sequence[TuneCheck], ref: Reference, tunes: Sequence[str] | None = None) -> dict:
    """Every metric over a set of checked tunes, as plain JSON-ready values.

    ``tunes`` (the texts) are needed for the distributions; without them those are left out.
    """
    n = len(checks)
    bars = sum(c.inner_bars for c in checks)
    correct = sum(c.inner_correct for c in checks)
    runs = [c.longest_run for c in checks]
    parse_checked = any(c.parses is not None for c in checks)
    report: dict = {
        "tunes": n,
        "mean_chars": statistics.fmean(c.chars for c in checks) if checks else 0.0,
        # parsed as written; a tune the parser had to mend first (cut off mid-chord, no M: or L:) does not count
        "parse_rate": _rate([bool(c.parses and not c.repairs) for c in checks]) if parse_checked else None,
        "playable_rate": _rate([bool(c.parses) for c in checks]) if parse_checked else None,  # mended or not
        "header_rate": _rate([not c.header_problems for c in checks]),
        "ended_rate": _rate([bool(c.ended) for c in checks]) if any(c.ended is not None for c in checks) else None,
        "final_bar_rate": _rate([c.final_bar for c in checks]),
        "clean_ending_rate": _rate([c.clean_ending for c in checks]),
        "inner_bars": {
            "bars": bars,
            "correct": correct,
            "share": correct / bars if bars else 0.0,
            "unjudged_bars": sum(c.unjudged_bars for c in checks),
            "tunes_all_correct": _rate([c.inner_bars > 0 and c.inner_correct == c.inner_bars for c in checks]),
        },
        "near_copy_rate": _rate([r >= NEAR_COPY_BARS for r in runs]),
        "longest_run": {"max": max(runs, default=0), "median": statistics.median(runs) if runs else 0},
        "form": summarise_forms([c.form if c.form else tune_form("") for c in checks]),
        "form_held_out": ref.val_form,
    }
    if tunes is not None:
        dists = distributions(tunes)
        for name, d in dists.items():
            got, ceiling = overlap(d, ref.dists[name]), ref.self_overlap[name]
            report[name] = {
                "overlap": got,
                "corpus_self_overlap": ceiling,
                "ratio": got / ceiling if ceiling else 0.0,
                "top": _top(d),
                "corpus_top": _top(ref.dists[name]),
            }
    return report


def _top(dist: dict[str, float], k: int = 6) -> dict[str, float]:
    return {key: round(share, 4) for key, share in list(dist.items())[:k]}


def check_dicts(checks: Sequence[TuneCheck]) -> list[dict]:
    """Per-tune results as plain dicts (for --json)."""
    return [asdict(c) | {"clean_ending": c.clean_ending, "form": form_facts(c.form or tune_form(""))} for c in checks]
