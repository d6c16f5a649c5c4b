"""Watch the model think: every character of a tune with the model's likeliest next characters before it,
the surprise of the one written, and what meter-aware writing's rules removed at that step.

    musicgen explain --rng 7 --key D --meter 6/8          # a generated tune, as a table   (musicgen.cli.explain)
    musicgen explain tune.abc --json                      # any ABC file, for machines

In Python::

    tune, ex = explain_generated(Generator.load(), SampleConfig(rng=7, constrained=True))
    ex.mean_surprise, ex.steps[10].top, ex.steps[10].removed

*Surprise* is ``-ln p`` (in nats) of a character under the model, before temperature or rules: 0 for a
character the model was sure of, 0.69 for a coin toss, over 3 for one it gave under 5%. A tune is
scored exactly as :func:`musicgen.judge.score.model_fit` scores it (``musicgen score``): its normalised
text and the blank line that ends it, from a fresh state that has just seen a blank line. So the mean
surprise over the steps is ``musicgen score``'s nats/char for that tune.

For a generated tune the rules' masks are the very ones the writing used (recorded as it wrote); the
tune is explained as it is saved (``Tune.abc``: ``X:``/``T:`` filled in, ``S:`` lines dropped), and each
step says who wrote its character: the model, the prompt (the settings' header) or neither (added when
saving). For an ABC file the meter tracker is replayed over the text to say what the rules would have
allowed; where the tune does something they do not follow, they let go, and ``rules_note`` says where.

:func:`heldout_surprises` gives the mean surprise of each of the checkpoint's held-out tunes (its recorded
val split), the distribution on which the page places a tune's own.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicgen.abcnotation.tunetypes import NO_FORM
from musicgen.compose.constrain import MeterConstraint
from musicgen.compose.sample import Generator, Tune
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END, CorpusError, normalise_tune
from musicgen.data.vocab import Vocab
from musicgen.judge.score import recorded_split
from musicgen.model.checkpoint import CheckpointError
from musicgen.model.engine import Engine, log_prob_of, softmax

TOP_K = 5  # the likeliest next characters each step shows
STEP_IN = 0.05  # the rules "stepped in" at a step where they removed at least this share of the model's choice
REPLAY_SLACK = 10_000  # characters of room the replayed rules are given: they never turn to finishing
WRITTEN_BY = ("model", "prompt", "added", "text")  # who wrote a step's character (see Step.by)


@dataclass(frozen=True)
class Step:
    """One character of a tune and what the model thought just before it."""

    char: str
    p: float  # the model's probability of this character (no temperature, no rules)
    surprise: float  # -ln p, in nats
    top: tuple[tuple[str, float], ...]  # the likeliest next characters and their probabilities, likeliest first
    by: str  # "model": drawn by the model; "prompt": the settings' header; "added": when saving; "text": a file's
    removed: str | None = None  # the characters the rules removed here, likeliest first (None: no rules here)
    removed_p: float = 0.0  # the model's probability of those characters, together
    removed_top: tuple[tuple[str, float], ...] = ()  # the likeliest of them and their probabilities (up to k)

    @property
    def stepped_in(self) -> bool:
        """Whether the rules took away a real share of what the model wanted (:data:`STEP_IN`)."""
        return self.removed_p >= STEP_IN

    def to_dict(self) -> dict[str, Any]:
        return {
            "char": self.char,
            "p": self.p,
            "surprise": self.surprise,
            "top": [[c, p] for c, p in self.top],
            "by": self.by,
            "removed": self.removed,
            "removed_p": self.removed_p,
            "removed_top": [[c, p] for c, p in self.removed_top],
        }


@dataclass(frozen=True)
class Explanation:
    """A tune's steps: one per character of its text and of the blank line that ends it."""

    tune: str  # the tune's normalised text (what ``musicgen score`` reads), without its ending blank line
    steps: tuple[Step, ...]
    rules: str  # "meter-aware writing" (generated), "replayed" (a file's, what they would have allowed) or "none"
    rules_note: str | None = None  # a sentence when the rules let go of the tune partway
    let_go: int | None = None  # the step at which they did (replayed rules; None: they held, or did not run)

    @property
    def mean_surprise(self) -> float:
        """Mean surprise per character: ``musicgen score``'s nats/char for this tune."""
        return math.fsum(s.surprise for s in self.steps) / len(self.steps)

    @property
    def stepped_in(self) -> list[int]:
        """The steps at which the rules took away a real share of the model's choice."""
        return [i for i, s in enumerate(self.steps) if s.stepped_in]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tune": self.tune,
            "chars": len(self.steps),
            "mean_surprise": self.mean_surprise,
            "rules": self.rules,
            "rules_note": self.rules_note,
            "let_go": self.let_go,
            "steps": [s.to_dict() for s in self.steps],
        }


def explain_tune(
    engine: Engine,
    tune: str,
    k: int = TOP_K,
    masks: Sequence[np.ndarray | None] | None = None,
    by: Sequence[str] | None = None,
    rules: str = "none",
    rules_note: str | None = None,
) -> Explanation:
    """Replay ``tune`` (normalised, as :func:`musicgen.data.corpus.read_tunes` gives it) through the model.

    ``masks[i]``: the characters the rules allowed before character ``i`` of ``tune + TUNE_END`` (None:
    no rules there); ``by[i]``: who wrote it (default ``"text"``). Raises UnknownCharacterError for a
    character the model's vocabulary lacks.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k}): how many of the likeliest next characters to show")
    vocab = engine.vocab
    text = tune + TUNE_END
    vocab.check(text)
    ids = vocab.encode(TUNE_END + text)
    n_ctx = len(TUNE_END)
    st = engine.stepper(1)
    for i in range(n_ctx - 1):  # the context but its last character: its logits predict the tune's first
        st.step(ids[i : i + 1])
    steps = []
    for i in range(len(text)):
        logits = st.step(ids[i + n_ctx - 1 : i + n_ctx])
        surprise = -float(log_prob_of(logits, ids[i + n_ctx : i + n_ctx + 1])[0])
        probs = softmax(logits[0].astype(np.float64))
        removed, removed_p = _removed(vocab, probs, masks[i] if masks is not None else None)
        gone = tuple((c, float(probs[vocab.index[c]])) for c in (removed or "")[:k])
        top = _top(vocab, probs, k)
        who = by[i] if by else "text"
        steps.append(Step(text[i], math.exp(-surprise), surprise, top, who, removed, removed_p, gone))
    return Explanation(tune, tuple(steps), rules, rules_note)


def _top(vocab: Vocab, probs: np.ndarray, k: int) -> tuple[tuple[str, float], ...]:
    """The ``k`` likeliest characters (ties: the lower id first) and their probabilities."""
    order = np.argsort(-probs, kind="stable")[:k]
    return tuple((vocab.chars[i], float(probs[i])) for i in order)


def _removed(vocab: Vocab, probs: np.ndarray, mask: np.ndarray | None) -> tuple[str | None, float]:
    if mask is None:
        return None, 0.0
    gone = np.flatnonzero(~mask)
    gone = gone[np.argsort(-probs[gone], kind="stable")]
    return "".join(vocab.chars[i] for i in gone), float(min(1.0, probs[gone].sum()))


def rule_masks(
    vocab: Vocab, tune: str, fields: Mapping[str, str] | None = None, form: str | None = None
) -> tuple[list[np.ndarray | None], int | None]:
    """What meter-aware writing's rules would have allowed before each character of ``tune + TUNE_END``.

    The tracker reads the tune as it goes; the first character that breaks its rules (or that it does
    not follow) lets the rules go for the rest of the tune: its index is returned (None: they held).
    ``form``: hold the tune to a form too (a name of :data:`~musicgen.abcnotation.tunetypes.FORMS`);
    None: bars only.
    """
    text = tune + TUNE_END
    rules = MeterConstraint(vocab, len(text) + REPLAY_SLACK, 1, fields, form)
    masks: list[np.ndarray | None] = []
    let_go = None
    for i, ch in enumerate(text):
        held = rules.held(0)
        masks.append(rules.allowed(0).copy() if held else None)
        if held and not masks[-1][vocab.index[ch]] and let_go is None:  # type: ignore[index]
            let_go = i
        rules.advance(0, ch)
        if held and not rules.held(0) and let_go is None:
            let_go = i
    return masks, let_go


def let_go_note(i: int, text: str) -> str:
    """The sentence for rules that let go of ``text`` at its character ``i``."""
    line = text.count("\n", 0, i) + 1
    return (
        f"The rules let go at character {i + 1} (line {line}, {text[i]!r}): from there the tune does something "
        "meter-aware writing would not have written (a bar that does not add up, or notation it does not follow)."
    )


def explain_abc(engine: Engine, tune: str, k: int = TOP_K, rules: bool = True, form: str | None = None) -> Explanation:
    """Explain a tune of an ABC file (normalised: :func:`musicgen.data.corpus.read_tunes`), the rules replayed
    (``form``: a form they hold it to too; None or ``"none"``: bars only)."""
    if not rules:
        return explain_tune(engine, tune, k)
    engine.vocab.check(tune + TUNE_END)
    masks, at = rule_masks(engine.vocab, tune, form=None if form == NO_FORM else form)
    note = None if at is None else let_go_note(at, tune + TUNE_END)
    ex = explain_tune(engine, tune, k, masks, rules="replayed", rules_note=note)
    return dataclasses.replace(ex, let_go=at)


def explain_generated(gen: Generator, cfg: SampleConfig, k: int = TOP_K) -> tuple[Tune, Explanation]:
    """Write the tune ``cfg`` gives (one: ``cfg.n == 1``) and explain it, with the masks its writing used.

    The tune is the very one ``gen.generate(cfg)`` writes: the same run (``gen.start``) is stepped, recording
    the mask each character was drawn under; bars the rules wrote again (retries) are gone from it as from
    the tune.
    """
    if cfg.n != 1:
        raise ValueError(f"explain writes one tune at a time: n must be 1 (got {cfg.n})")
    run = gen.start(cfg, record=True)
    [tune] = run.run()
    stream = run.streams[0]
    n_ctx = len(TUNE_END)
    drawn = {i - n_ctx: m for i, m in enumerate(stream.masks) if i >= n_ctx and m is not False}  # type: ignore[arg-type]
    scored = normalise_tune(tune.abc)
    by, masks = _aligned(drawn, run.text(0), scored + TUNE_END)
    note = None
    if run.meter is not None and not tune.meter_aware:
        note = "The rules let go of this tune partway (its primer has something they do not follow)."
    rules = "meter-aware writing" if run.meter is not None else "none"
    return tune, explain_tune(gen.engine, scored, k, masks, by, rules, note)


def _aligned(drawn: dict[int, np.ndarray | None], raw: str, text: str) -> tuple[list[str], list[np.ndarray | None]]:
    """Who wrote each character of ``text`` (the saved tune and its end) and the rules' mask before it, from
    the writing's ``raw`` text and the masks of its drawn characters by place (``drawn``); characters saving
    added (a ``T:`` line, an end) are "added"."""
    by, masks = ["added"] * len(text), [None] * len(text)
    for a, b, size in difflib.SequenceMatcher(None, raw, text, autojunk=False).get_matching_blocks():
        for j in range(size):
            by[b + j] = "model" if a + j in drawn else "prompt"
            masks[b + j] = drawn.get(a + j)
    return by, masks  # type: ignore[return-value]


def heldout_surprises(gen: Generator, batch: int = 64) -> tuple[list[float], str | None]:
    """The mean surprise of each held-out tune of the checkpoint (its recorded val split), sorted, or ([], a
    sentence saying why there are none): the distribution a tune's own is placed on.

    Tunes with characters the model does not know are left out.
    """
    ckpt = gen.checkpoint
    try:
        _, val = recorded_split(ckpt)
    except CheckpointError:  # no recorded data, or not on this computer
        return [], "The held-out tunes this model was measured on are not here, so a tune cannot be placed among them."
    except (CorpusError, OSError) as e:
        return [], f"The held-out tunes could not be read ({e}), so a tune cannot be placed among them."
    texts = [t + TUNE_END for t in val if not gen.vocab.unknown(t)]
    if not texts:
        return [], "This model records no held-out tunes it can read, so a tune cannot be placed among them."
    out = []
    for start in range(0, len(texts), batch):
        out += [-logp / n for logp, n in gen.engine.log_likelihood(texts[start : start + batch])]
    return sorted(out), None
