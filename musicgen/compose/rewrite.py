r"""Rewriting part of a tune: new music for bars N to M, or from bar N to the end, the rest kept byte for byte.

    from musicgen import Generator
    from musicgen.compose.rewrite import rewrite
    gen = Generator.load()
    found = rewrite(gen, abc, 5, 8, n=4, rng=7)   # bars 5 to 8 anew, four candidates, the best first
    found = rewrite(gen, abc, 9)                  # bars 9 to the end anew
    best = found.candidates[0]; best.abc, best.new, best.score, best.rank

Or from the command line: ``musicgen rewrite FILE --bars 5-8`` (see :mod:`musicgen.cli.rewrite`).

**Bars** are numbered as a musician counts them, as Practise numbers them (:mod:`musicgen.abcnotation.bars`):
a pick-up is no bar of its own (bar 1 is the first whole bar), first and second endings count as written
(an 8-bar part with one-bar endings numbers them 1-7, 8 and 9), and repeats are not unrolled.
:func:`~musicgen.abcnotation.bars.bar_at` finds the bar of a clicked note's character offset.

**From bar N** (``last=None``): the tune's text up to bar N's music (its header and bars 1 to N-1,
a pick-up before bar N included) is the primer; the model writes the rest of the tune, meter- and
form-aware by default, until it ends the tune itself. Candidates are ranked by the model's mean
nats per character of what it wrote (lower: likelier), after those that ended by themselves and
kept the tune at least as long as it was (as many bars from bar N on).

**Bars N to M**: everything but the music of bars N to M is kept: the text before bar N's music, the
bar line closing bar M and all after it, byte for byte. From bar N the model writes one bar after
another, as many as the range holds (M-N+1, and any pick-up inside the range with them: bars as
:class:`~musicgen.abcnotation.rhythm.RhythmState` counts them). The bar lines between them stay the
tune's (with their repeats, endings and line breaks): when the model starts a bar line after a bar of
music, the rest of the tune's line there is forced (:class:`~musicgen.compose.infill.BarWatch`), and
where it starts the bar line after the last bar its text is cut and the kept bars follow. A candidate
is kept only if its bars take the place of the old ones: each as long as the bar it replaces (a short
bar, such as a part's closing bar, by one no longer than a measure), every bar numbered as before with
the same bar lines, no field (``K:``, ``M:``, ``P:``...) written, and the kept text read as the same
tokens. Candidates are ranked by the model's likelihood of the kept bars that follow them (``score``:
mean nats per character of that kept text and the tune's end, :func:`~musicgen.compose.infill.tail_nats`;
lower is better). Sampling runs in at most :data:`ROUNDS` rounds of :func:`batch_size` streams;
fewer than ``n`` distinct candidates may be found (``Rewrite.note`` says so), none is a
:class:`RewriteError`.

The kept text is the tune's own, byte for byte (its line endings, comments and titles too); the
model reads it normalised (:func:`model_text`). The same tune, bars and settings give the same
candidates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.bars import BarSpan, bar_spans, numbered, scan_text
from musicgen.compose.constrain import MeterConstraint
from musicgen.compose.infill import BarPlan, BarWatch, tail_nats
from musicgen.compose.prompt import Prompt
from musicgen.compose.sample import Generator
from musicgen.compose.streams import Run
from musicgen.config import MAX_CANDIDATES, MAX_LENGTH, MAX_PRIMER, SampleConfig
from musicgen.data.corpus import TUNE_END, normalise_tune
from musicgen.data.vocab import Vocab
from musicgen.model.engine import one_blas_thread

ROUNDS = 4  # sampling rounds at most: a range the model rarely fills cleanly costs four batches, then stops
MAX_CHOICES = 16  # candidates one call offers at most: the best few, not a tunebook
_D = SampleConfig()


class RewriteError(ValueError):
    """The tune or the bars asked for cannot be rewritten as given (the message says why, and what to do)."""


@dataclass(frozen=True)
class Candidate:
    """One rewritten tune."""

    rank: int  # 1 = the model's favourite
    abc: str  # the whole tune: the kept text byte for byte, the new music in its place
    new: str  # the new music alone (what replaced bars N to M, or everything from bar N)
    score: float  # mean nats per character: of the kept text after the new bars, or of the new music
    ended: bool  # the tune ends where the model ended it (always True for a range)
    meter_aware: bool  # meter-aware writing held the new music from its first character to its last
    bars: int  # bars of the new music, as a musician counts them


@dataclass(frozen=True)
class Rewrite:
    """What :func:`rewrite` found."""

    candidates: tuple[Candidate, ...]  # best first
    first: int
    last: int | None  # None: from ``first`` to the end
    bars: int  # bars of the music replaced, as a musician counts them (a range: last - first + 1)
    sampled: int  # streams the model wrote
    note: str | None  # fewer candidates than asked for, and why


def rewrite(
    generator: Generator,
    tune: str,
    first: int,
    last: int | None = None,
    *,
    n: int = 4,
    rng: int = _D.rng,
    temperature: float = _D.temperature,
    top_k: int = _D.top_k,
    top_p: float = _D.top_p,
    constrained: bool = True,
) -> Rewrite:
    """Candidates for bars ``first`` to ``last`` of ``tune`` (``last=None``: to the end), ranked.

    Raises :class:`RewriteError` (or ValueError from :class:`~musicgen.config.SampleConfig` for a bad
    temperature, top-k or seed) with a sentence saying what to change.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CHOICES:
        raise RewriteError(f"ask for 1 to {MAX_CHOICES} candidates, not {n!r}")
    spans, lo, hi = plan(tune, first, last)
    a = spans[lo].start
    b = spans[hi].end if last is not None else len(tune)
    vocab, engine = generator.vocab, generator.engine
    head = model_text(tune[:a], vocab)
    head = head if head.startswith("X:") else "X:1\n" + head
    old = len(tune[a:b])
    cap = min(MAX_LENGTH, 3 * old + 40 * (hi - lo + 1) + 100 if last is not None else max(_D.length, 2 * old + 200))
    batch = batch_size(n)
    # the text between the bars of the range (their bar lines, repeats, endings), as written and as the model reads it
    between = [tune[spans[i].end : spans[i + 1].start] for i in range(lo, hi)] if last is not None else []
    lines = [model_text(t, vocab) for t in between] + [tune[b : b + 1]]
    plans = [_plan(line, spans[i]) for line, i in zip(lines, range(lo, hi + 1))] if last is not None else None
    kept: dict[str, Candidate] = {}  # by its new music: each new music once
    read: dict[str, str] = {}  # each candidate's new music as the model wrote it (its bar lines normalised)
    sampled = 0
    one_blas_thread()
    for r in range(ROUNDS):
        cfg = SampleConfig(length=cap, temperature=temperature, top_k=top_k, top_p=top_p, rng=_seed(rng, r), n=batch)
        inner = _meter(vocab, cfg, last is None) if constrained else None
        watch = BarWatch(vocab, len(head), batch, plans, inner)
        tunes = Run(engine, cfg, Prompt(head, False, ""), watch).run()
        sampled += batch
        for s, written in enumerate(tunes):
            if plans is None:
                new = watch.rest(s, written.ended)
                abc = tune[:a] + new.rstrip() + "\n" if new is not None else ""
            else:
                music = watch.bars(s)
                if music is None or any(_has_field(m) for m in music):
                    continue
                new = "".join(m + t for m, t in zip(music, [*between, ""]))
                read[new] = "".join(m + t for m, t in zip(music, [*lines[:-1], ""]))
                abc = tune[:a] + new + tune[b:]
            if new is None or new in kept:
                continue
            bars = _new_bars(spans, lo, hi, abc, a, len(new), last is None)
            if bars:
                ended = written.ended or last is not None
                kept[new] = Candidate(0, abc, new, written.nats_per_char, ended, watch.held(s), bars)
        if len(kept) >= n:
            break
    if not kept:
        what = f"bars {first}-{last}" if last is not None else f"the tune from bar {first}"
        raise RewriteError(
            f"the model wrote no new music for {what} that fits in {sampled} tries: "
            "try another seed, a higher temperature, or fewer bars"
        )
    found = list(kept.values())
    if last is not None:  # scored by the kept text after the new bars, the tune's end included
        tail = model_text(tune[b:], vocab, ends_tune=True) + TUNE_END
        found = [
            replace(c, score=x) for c, x in zip(found, tail_nats(engine, head, [read[c.new] for c in found], tail))
        ]
    old_bars = len(numbered(spans[lo:])) if last is None else 0
    found.sort(key=lambda c: (not c.ended, c.bars < old_bars, c.score))  # stable: ties keep the order written
    chosen = tuple(replace(c, rank=rank) for rank, c in enumerate(found[:n], start=1))
    note = None if len(chosen) == n else f"found {len(chosen)} of the {n} candidates asked for in {sampled} tries"
    return Rewrite(chosen, first, last, len(numbered(spans[lo : hi + 1])), sampled, note)


def plan(tune: str, first: int, last: int | None) -> tuple[list[BarSpan], int, int]:
    """The tune's bars and the indices (into them) of bar ``first`` and of bar ``last`` (or the tune's last bar),
    checked; raises :class:`RewriteError` with a sentence.

    >>> spans, lo, hi = plan("X:1\\nM:2/4\\nL:1/8\\nK:D\\nA|DE FG|AB c2|d4|]", 2, 3)
    >>> [s.music for s in spans[lo : hi + 1]]
    ['AB c2', 'd4']
    >>> plan("X:1\\nM:2/4\\nL:1/8\\nK:D\\nA|DE FG|AB c2|d4|]", 3, 2)
    Traceback (most recent call last):
    ...
    musicgen.compose.rewrite.RewriteError: bars 3-2: the first bar comes after the last; write the range as 2-3
    """
    if not isinstance(tune, str) or not tune.strip():
        raise RewriteError("the tune is empty: give the ABC of one tune (its header, a K: line, then its bars)")
    if len(tune) > MAX_PRIMER:
        raise RewriteError(f"the tune has {len(tune):,} characters; a tune to rewrite has at most {MAX_PRIMER:,}")
    tunes = len(re.findall(r"(?m)^X:", scan_text(tune)))
    if tunes > 1:
        raise RewriteError(f"the text holds {tunes} tunes (X: lines): give the one tune to rewrite")
    for name, value in (("the first bar", first), ("the last bar", last)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RewriteError(f"{name} must be a whole number, not {value!r}")
    spans = bar_spans(tune)
    key = next((p.start() for p in re.finditer(r"(?m)^K:", scan_text(tune))), None)
    if key is None:
        raise RewriteError("the tune has no K: line, so its music has no start: put K: (such as K:D) before bar 1")
    bars = numbered([s for s in spans if s.start > key])
    if not bars:
        raise RewriteError("the tune has no bars of music after its K: line: there is nothing to rewrite")
    count = len(bars)
    where = f"the tune has {count} bar{'s' * (count != 1)} (a pick-up is no bar of its own)"
    if last is not None and first > last:
        raise RewriteError(
            f"bars {first}-{last}: the first bar comes after the last; write the range as {last}-{first}"
        )
    for value in (first, last):
        if value is not None and not 1 <= value <= count:
            raise RewriteError(f"there is no bar {value}: {where}; choose bars from 1 to {count}")
    lo = spans.index(bars[first - 1])
    hi = spans.index(bars[last - 1]) if last is not None else len(spans) - 1
    return spans, lo, hi


def batch_size(n: int) -> int:
    """Streams sampled per round for ``n`` candidates: twice as many, at least 8 (some will not fit)."""
    return min(MAX_CANDIDATES, max(8, 2 * n))


def _seed(rng: int, round_: int) -> int:
    """The seed of sampling round ``round_`` (round 0: ``rng`` itself)."""
    return (rng + round_ * 1_000_003) % 2**63


def _meter(vocab: Vocab, cfg: SampleConfig, to_the_end: bool) -> MeterConstraint:
    """Meter-aware writing: bars only for a range (the kept bars after it carry the form), and the form
    too for the rest of a tune (its parts regular, the tune ending on its tonic)."""
    form = cfg.replace(constrained=True).written_form if to_the_end else "none"
    return MeterConstraint(vocab, cfg.length, cfg.n, None, None if form == "none" else form)


def model_text(fragment: str, vocab: Vocab, ends_tune: bool = False) -> str:
    r"""A piece of the tune as the model reads it: normalised as its training tunes were
    (:func:`~musicgen.data.corpus.normalise_tune`), a line break kept at either end (at the end only
    where the piece does not end the tune), and each character it does not know spelt without its
    accent (``é`` as ``e``) or as ``?``.

    >>> from musicgen.data.vocab import Vocab
    >>> model_text("X: 1\r\nT:Valse d'\u00e9t\u00e9  \n% a comment\nK:G\n", Vocab.from_text(""))
    "X:1\nT:Valse d'ete\nK:G\n"
    >>> model_text("|g3 d3:|\n", Vocab.from_text(""), ends_tune=True)
    '|g3 d3:|'
    """
    text = normalise_tune(fragment)
    if text and re.match(r"[ \t\r]*\n", fragment):
        text = "\n" + text
    if text and not ends_tune and re.search(r"\n[ \t\r]*\Z", fragment):
        text += "\n"
    out = []
    for ch in text:
        if ch in vocab:
            out.append(ch)
            continue
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out.append(plain if plain and all(c in vocab for c in plain) else "?" if "?" in vocab else "")
    return "".join(out)


def _new_bars(spans: list[BarSpan], lo: int, hi: int, abc: str, a: int, size: int, to_the_end: bool) -> int:
    """The bars of a candidate's new music (``size`` characters at offset ``a`` of ``abc``) if it takes the
    place of bars ``lo`` to ``hi`` (see the module docstring), else 0; for the rest of a tune, its bars."""
    got = bar_spans(abc)
    if to_the_end:
        kept = _same_tokens(spans[0].text, abc, a, len(spans[0].text), len(abc))
        return len([s for s in got if s.number is not None and s.start >= a]) if kept else 0
    if not _same_tokens(spans[0].text, abc, spans[lo].start, spans[hi].end, a + size):
        return 0
    if len(got) != len(spans) or [(s.number, s.bar_line) for s in got] != [(s.number, s.bar_line) for s in spans]:
        return 0  # the bars numbered as before, and their bar lines the tune's
    for i, (old, new) in enumerate(zip(spans, got)):
        if not lo <= i <= hi:
            if new.bar.duration != old.bar.duration:
                return 0
        elif new.bar.errors or (new.bar.duration != old.bar.duration if old.whole else not _fills(new)):
            return 0
    return len([s for s in got[lo : hi + 1] if s.number is not None])


def _plan(line: str, old: BarSpan) -> BarPlan:
    """The new bar in place of ``old``: the same length if it is whole, else some music no longer than a
    measure (shorter, for a pick-up)."""
    whole = old.whole and old.bar.expected is not None
    return BarPlan(line, old.bar.duration if whole else None, old.bar.expected, old.number is None)


def _has_field(music: str) -> bool:
    """Whether the model's music for a bar holds a field (``K:``, ``[M:3/4]``, ``P:``...): it would change the
    kept bars' key, meter or part."""
    return any(kind in (T.FIELD, T.INLINE_FIELD) for kind, _ in T.tokenize(scan_text(music)))


def _fills(span: BarSpan) -> bool:
    """Some music, and no more than a measure."""
    return span.bar.duration > 0 and (span.bar.expected is None or span.bar.duration <= span.bar.expected)


def _same_tokens(old: str, new: str, a: int, b: int, b_new: int) -> bool:
    """Whether ``new[:a]`` and ``new[b_new:]`` read as the same ABC tokens as ``old[:a]`` and ``old[b:]``
    (no new character joins a kept bar line or note: ``|`` then ``:`` would make ``|:``)."""
    before, after = _cut(old, a, b), _cut(new, a, b_new)
    return before is not None and after is not None and before[0] == after[0] and before[2] == after[2]


def _cut(text: str, *cuts: int) -> list[list[T.Token]] | None:
    """The tokens of ``text`` in the pieces between ``cuts``; None where a token runs across one."""
    parts: list[list[T.Token]] = [[] for _ in range(len(cuts) + 1)]
    pos = 0
    for tok in T.tokenize(scan_text(text)):
        if any(pos < c < pos + len(tok.text) for c in cuts):
            return None
        parts[sum(c <= pos for c in cuts)].append(tok)
        pos += len(tok.text)
    return parts
