"""How faithful form-aware writing is to the model: nats/char beside free writing, and where the gap comes from.

    nice .venv/bin/python benchmarks/form_fit.py [--weights DIR] [--n 100] [--calls 4] [--temperature 0.9]
        [--modes free bars form retry] [--by 1] [--quick]

Measured side by side in one run, ``--n`` tunes a mode (``--calls`` calls, rng 0, 1, ...; every other
setting at its default): free writing (``constrained=False``), meter-aware writing of bars only
(``form="none"``), form-aware writing without retries (``form``) and with them (``retry``: the default
since 2026-12-02, bars written again, :mod:`musicgen.compose.retry`). For each mode:

- nats/char of the tunes under the model, unmasked, as ``benchmarks/quality.py`` measures it (each
  tune's text scored after a blank line; the figure of issue 13's target), and the model-written
  characters' own surprise (``Tune.nats_per_char``, weighted by characters);
- the form figures of :mod:`musicgen.judge.formset` (bars, parts, regular parts, the tonic);
- for the constrained modes, the surprise the masks add, step by step: where a step's mask removed
  characters, the expected surprise (``-log p`` under the unmasked model) of a draw from the masked,
  renormalised distribution at the temperature, less that of a draw from the unmasked one. This is the
  direct cost of the rules, without sampling noise; the rest of the gap is where the rules lead the
  tunes (longer tunes, other states). It is broken down by where the step is: the header, the bars that
  may end the tune (``end``), the bar that may close a part (``part``), other bars; and by what the mask
  left (one character: forced; the model's likeliest masked).

Prints figures only; nothing is written. About 2 minutes for 100 tunes a mode on a quiet core.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from musicgen.compose.constrain import RETRIES, MeterConstraint  # noqa: E402
from musicgen.compose.prompt import build_prompt  # noqa: E402
from musicgen.compose.sample import Generator  # noqa: E402
from musicgen.compose.state import BODY  # noqa: E402
from musicgen.compose.streams import Run, Tune  # noqa: E402
from musicgen.config import MAX_CANDIDATES, SampleConfig  # noqa: E402
from musicgen.judge.form import tune_form  # noqa: E402
from musicgen.judge.formset import summarise_forms  # noqa: E402

MODES = {"free": (False, None), "bars": (True, "none"), "form": (True, None), "retry": (True, None)}


class Recorder:
    """A :class:`MeterConstraint` whose masks are kept, with where each step stands (the Constraint protocol);
    beside a form-aware one, a bars-only twin fed the same characters, so the form's own rules can be told apart."""

    def __init__(self, inner: MeterConstraint, n: int) -> None:
        self.inner = inner
        # (with no cap in reach, so that it never turns to finishing where the form-aware tune goes on)
        self.bars = None if inner.form is None else MeterConstraint(inner.rules_vocab, 10**9, n, inner.fields)
        self.last: dict[int, tuple[np.ndarray, tuple]] = {}

    def allowed(self, stream: int) -> np.ndarray:
        t = self.inner.trackers[stream]
        where = _where(t)
        mask = self.inner.allowed(stream)
        bars = mask if self.bars is None else self.bars.allowed(stream)
        self.last[stream] = (mask, (where, "".join(self.inner._text[stream][-30:]), bars, _bar_of(t)))
        return mask

    def advance(self, stream: int, char: str) -> None:
        self.inner.advance(stream, char)
        if self.bars is not None:
            self.bars.advance(stream, char)

    def save(self, stream: int) -> tuple:
        return self.inner.save(stream), None if self.bars is None else self.bars.save(stream)

    def restore(self, stream: int, saved: tuple) -> None:
        self.inner.restore(stream, saved[0])
        if self.bars is not None:
            self.bars.restore(stream, saved[1])

    def __getattr__(self, name: str) -> object:  # retries' questions: the form-aware constraint answers them
        return getattr(self.inner, name)


def _where(t) -> str:  # noqa: ANN001 (a Tracker)
    """Where a tracker stands: header, end (a bar that may end the tune), part (a bar that may close a part), body."""
    if not t.ok or t.phase != BODY or t.plan is None:
        return "header" if t.phase != BODY else "body"
    form = t.core().form
    here = form[0]
    if here.end is not None or here.now is not None:
        return "end"
    return "part" if here.part else "body"


def _bar_of(t) -> tuple[int, int] | None:  # noqa: ANN001 (a Tracker)
    """(parts closed, bars of the part under way) in form-aware writing; None elsewhere."""
    return (t.progress.done, t.progress.bars) if t.ok and t.phase == BODY and t.plan is not None else None


class RecordingRun(Run):
    """One call's streams, each sampled step recorded: (stream, char id, -log p, mask or None, logits, where),
    by the stream's place in its tune (a bar written again replaces the steps of the one taken back)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs, record=True)  # (every row's whole mask asked for: the recorder keeps it)
        self.by_place: dict[tuple[int, int], tuple] = {}

    @property
    def steps(self) -> list[tuple]:
        """The steps of the tunes as written, in order."""
        ends = {s: len(stream.ids) for s, stream in enumerate(self.streams)}
        return [step for (s, at), step in sorted(self.by_place.items()) if at < ends[s]]

    def _take(self, s: int, sampled_id: int, logp: float, r: int) -> int:
        forced = bool(self.streams[s].forced)
        if not forced:
            mask, where = (None, ("free", "", None, None)) if self.constraint is None else self.constraint.last[s]
            # (the row's logits before the engine steps: with retries, a stream sent back has its restart's)
            self.by_place[(s, len(self.streams[s].ids))] = (s, sampled_id, -logp, mask, self.st.logits[r].copy(), where)
        return super()._take(s, sampled_id, logp, r)


def generate(gen: Generator, mode: str, n: int, calls: int, temperature: float) -> tuple[list[Tune], list, float]:
    """The tunes of a mode, their steps as written, the seconds of writing (CPU); prints what retries took back."""
    constrained, form = MODES[mode]
    tunes, steps, seconds, retried, taken = [], [], 0.0, 0, 0
    per_call = min(MAX_CANDIDATES, -(-n // calls))
    for i, start in enumerate(range(0, n, per_call)):
        cfg = SampleConfig(
            n=min(per_call, n - start), rng=i, temperature=temperature, constrained=constrained, form=form
        )
        constraint = None
        if constrained:
            inner = gen._meter_constraint(cfg)
            inner.retries = RETRIES if mode == "retry" else 0
            inner.rules_vocab = gen.vocab
            constraint = Recorder(inner, cfg.n)
        t0 = time.process_time()
        run = RecordingRun(gen.engine, cfg, build_prompt(cfg), constraint)
        tunes += run.run()
        seconds += time.process_time() - t0
        steps += [(start + s, *rest) for s, *rest in run.steps]
        if run.retries is not None:
            retried, taken = retried + run.retries.count, taken + run.retries.taken
    if retried:
        written = sum(t.n_chars for t in tunes)
        print(
            f"{mode}: {retried} bars written again, {taken} characters taken back ({taken / written:.0%} of those kept)"
        )
    return tunes, steps, seconds


def expected(logits: np.ndarray, mask: np.ndarray | None, temperature: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Expected surprise (-log p, unmasked, T=1) of a draw at ``temperature`` from the masked, renormalised
    distribution; the draw's probabilities; and the surprises."""
    logp = logits - logits.max()
    logp = logp - np.log(np.exp(logp).sum())
    q = np.exp((logp - logp.max()) / temperature)
    if mask is not None:
        q = np.where(mask, q, 0.0)
    q = q / q.sum() if q.sum() > 0 else np.where(logp == logp[mask].max(), 1.0, 0.0)
    return float((q * -logp).sum()), q, -logp


def _kind(ch: str, text: str) -> str:
    """What kind of character a rule removed (the likeliest removed), for the breakdown."""
    if ch.isdigit() and text[-1:] in "|:[]" or ch == "[" and text[-1:] in "|:":
        return "ending (|1 :|2)"
    if ch in "|:]":
        return "bar line"
    if ch == "\n":
        return "newline (end)" if text.endswith("\n") or text[-1:] in "|]" else "newline"
    if ch in "/" or ch.isdigit():
        return "note length"
    if ch in ' "~':
        return "space, symbol, ~"
    if ch.isalpha() and ch.upper() in "ABCDEFG" or ch in "^_=z":
        return "pitch"
    return "other"


def breakdown(steps: list, temperature: float, vocab_chars: list[str], examples: int) -> None:
    """The masks' cost, by where the steps are and what the masks left; the form's rules apart from the bars'."""
    n = len(steps)
    groups: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0, 0])
    kinds: dict[str, list] = defaultdict(lambda: [0, 0.0])
    pairs: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, 0.0, ""])
    for _, cid, surprise, mask, logits, (where, text, bars, _) in steps:
        free, _, _ = expected(logits, None, temperature)
        with_bars = expected(logits, bars, temperature)[0] - free if bars is not None else 0.0
        total = expected(logits, mask, temperature)[0] - free if mask is not None else 0.0
        form = total - with_bars
        top_masked = mask is not None and not mask[int(np.argmax(logits))]
        forced = mask is not None and int(mask.sum()) == 1
        for key in ("all", where, "forced" if forced else None, "likeliest masked" if top_masked else None):
            if key is not None:
                g = groups[key]
                g[0], g[1], g[2], g[3], g[4], g[5] = (
                    g[0] + 1,
                    g[1] + surprise,
                    g[2] + with_bars,
                    g[3] + form,
                    g[4] + top_masked,
                    g[5] + forced,
                )
        if mask is not None and bars is not None and form > 1e-9:
            removed = bars & ~mask
            wanted = vocab_chars[int(np.argmax(np.where(removed, logits, -np.inf)))]
            kind = _kind(wanted, text)
            kinds[kind][0] += 1
            kinds[kind][1] += form
            pair = pairs[(where, wanted, vocab_chars[cid])]
            pair[0], pair[1], pair[2] = pair[0] + 1, pair[1] + form, text
    print(
        f"  {'steps':<18}{'share':>7}{'nats/char':>10}{'bars add':>10}{'form adds':>10}{'of all':>8}"
        f"{'top masked':>11}{'forced':>8}"
    )
    for key in ("all", "header", "body", "part", "end", "forced", "likeliest masked"):
        if key in groups:
            k, s, b, f, top, forced = groups[key]
            print(
                f"  {key:<18}{k / n:>7.1%}{s / k:>10.3f}{b / k:>10.3f}{f / k:>10.3f}{(b + f) / n:>8.3f}"
                f"{top / k:>11.1%}{forced / k:>8.1%}"
            )
    print("  the form's rules, by what they removed (the likeliest removed): steps, nats a character of all steps")
    for kind, (k, f) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        print(f"   {kind:<22}{k:>6}{f / n:>8.4f}")
    print("  the costliest: where, removed -> drawn, steps, nats a character of all steps, an example")
    for (where, wanted, drawn), (k, f, text) in sorted(pairs.items(), key=lambda kv: -kv[1][1])[:examples]:
        print(f"   {where:<6}{wanted!r:>6} -> {drawn!r:<6}{k:>5}{f / n:>8.4f}   ...{text!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--calls", type=int, default=4)
    ap.add_argument("--temperature", type=float, default=SampleConfig().temperature)
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--quick", action="store_true", help="the figures alone, without the masks' breakdown")
    ap.add_argument("--examples", type=int, default=12, help="the costliest kinds of masked step to show")
    args = ap.parse_args()
    gen = Generator.load(args.weights)
    print(f"{args.n} tunes a mode, {args.calls} calls (rng 0..), T {args.temperature:g}; weights {gen.checkpoint.path}")
    rows = {}
    for mode in args.modes:
        tunes, steps, seconds = generate(gen, mode, args.n, args.calls, args.temperature)
        texts = [t.abc for t in tunes]
        scored = gen.engine.log_likelihood(texts)
        npc = -sum(s for s, _ in scored) / max(sum(n for _, n in scored), 1)
        own = sum(t.nats_per_char * t.n_chars for t in tunes) / max(sum(t.n_chars for t in tunes), 1)
        f = summarise_forms([tune_form(t) for t in texts])
        chars = sum(t.n_chars for t in tunes)
        rows[mode] = npc
        print(
            f"{mode}: nats/char {npc:.3f} (model-written characters {own:.3f}); {chars / seconds:,.0f} chars/s (CPU, recording); "
            f"bars p10/median {f['bars']['p10']}/{f['bars']['median']}, >= 8 bars {f['at_least_8_bars']:.0%}, "
            f"2+ parts {f['two_or_more_parts']:.0%}, regular {f['regular_parts']:.0%} "
            f"(simpler {f['regular_sections']:.0%}), tonic {f['ends_on_tonic'] or 0:.0%}, "
            f"ended {sum(t.ended for t in tunes) / len(tunes):.0%}"
        )
        if mode != "free" and not args.quick:
            breakdown(steps, args.temperature, gen.vocab.chars, args.examples)
    if "free" in rows:
        for mode, npc in rows.items():
            if mode != "free":
                print(f"{mode} - free: {npc - rows['free']:+.3f} nats/char (target: within 0.05)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
