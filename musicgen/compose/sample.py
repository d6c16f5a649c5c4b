"""Sampling tunes from a checkpoint: temperature, top-k, top-p, primers, header choices, stopping.

Run it from the command line with ``musicgen generate --help``. In Python::

    from musicgen import Generator, SampleConfig
    gen = Generator.load()                        # the shipped weights (or Generator.load("weights/x"))
    tunes = gen.generate(SampleConfig(tune_type="jig", key="D", n=4, rng=7))
    print(tunes[0].abc, tunes[0].nats_per_char, tunes[0].ended)

The public API
--------------
``SampleConfig`` (musicgen.config): length (cap on the characters the model
writes per tune, at most ``MAX_LENGTH``), temperature, top_k (0 = off), top_p
(1.0 = off), seed_char (the first character; None = random), rng (seed), key,
meter, unit_length, tune_type (become ``K:``/``M:``/``L:``/``R:`` header lines),
primer (ABC to continue), n (candidates), constrained (meter-aware decoding), form (the form of
the tune's parts under meter-aware writing: AABB, AB, A16, ABC, model, none; by default the tune
type's usual form, else the model's choice; see :mod:`musicgen.compose.parts`).

``Tune``: ``abc`` (one clean tune: ``X:`` and ``T:`` filled in when missing, one
final newline), ``nats_per_char`` (mean -log p, under the model before
temperature, top-k/p or constraints, of the characters the model wrote, its
end-of-tune mark included), ``n_chars`` (how many it wrote), ``ended`` (True when
the model ended the tune itself with a blank line or a new ``X:``; False when
it reached the cap), ``meter_aware`` (True when ``cfg.constrained`` held from the
first character to the last; False when it was not asked for, or when the primer
had something the meter checker does not follow and the tune was written freely).

``Generator(ckpt)`` / ``Generator.load(path=None)``: ``.vocab``, ``.checkpoint``,
``.generate(cfg, constraint=None, watch=None) -> list[Tune]``: ``cfg.n`` tunes in one batched
pass, in the order generated; ``.start(cfg, constraint=None, record=False) -> Run``: the same call's
:class:`~musicgen.compose.streams.Run`, to step it yourself (one stepping for every view of a
tune). The same cfg gives byte-identical tunes. A Generator keeps nothing from a call, so one cached instance serves concurrent
callers (each call has its own state, buffers and random generator). The first
call limits the process's BLAS library to one thread (see
:func:`musicgen.model.engine.one_blas_thread`).

``sample_next(logits, temperature, top_k, top_p, rng) -> ids``: the pure
sampling step, batched over rows.

Constraints (masking characters step by step)
---------------------------------------------
``generate(cfg, constraint)`` takes an object with two methods (see
:class:`Constraint`), made fresh for each call since it holds the streams' state:

- ``advance(stream, char)`` is called with every character of stream
  ``stream``'s tune in order: first the prompt's (from the ``X`` of ``X:1``, or
  the seed character), then each character the model writes or the prompt forces
  (the rest of the header after a model-written title). The blank line before
  the tune is not passed.
- ``allowed(stream)`` is called before each character the model samples for
  that stream and returns a boolean array over the vocabulary (``len(gen.vocab)``):
  True where the character may come next. Masked characters get probability 0;
  the rest are renormalised, then temperature, top-k and top-p apply.

Streams are numbered 0..n-1 as the returned tunes. ``cfg.length`` is known to
the constraint's maker, so it can steer a tune to finish before the cap.

Where the parts live: :func:`sample_next` in :mod:`musicgen.compose.draw`, the streams of one
call (and ``Tune``) in :mod:`musicgen.compose.streams`, the constraint in
:mod:`musicgen.compose.constrain`; this module holds ``Generator``. No TensorFlow is imported
here or by anything this imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from musicgen.abcnotation.tunetypes import NO_FORM
from musicgen.compose.constrain import RETRIES, MeterConstraint
from musicgen.compose.draw import ConstraintError, sample_next
from musicgen.compose.prompt import UNTITLED, build_prompt, chosen_fields
from musicgen.compose.streams import Constraint, Run, Tune
from musicgen.config import SampleConfig
from musicgen.data.vocab import UnknownCharacterError, Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint
from musicgen.model.engine import Engine, one_blas_thread

__all__ = ["UNTITLED", "Constraint", "ConstraintError", "Generator", "Tune", "sample_next"]  # importable from here


class Generator:
    """Generates tunes from one checkpoint. Holds only the weights: safe to share between threads."""

    def __init__(self, ckpt: Checkpoint) -> None:
        self.checkpoint = ckpt
        self.vocab: Vocab = ckpt.vocab
        self.engine = Engine(ckpt)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Generator:
        """A generator over the checkpoint folder at ``path`` (default: the shipped weights)."""
        return cls(checkpoint.load(path))

    def generate(
        self, cfg: SampleConfig, constraint: Constraint | None = None, watch: Callable[[Run], None] | None = None
    ) -> list[Tune]:
        """``cfg.n`` tunes, generated together; raises ValueError subclasses with a sentence on bad input.
        ``watch(run)`` is called after each step (the page's live text reads ``run.text(0)``)."""
        return self.start(cfg, constraint).run(watch)

    def start(self, cfg: SampleConfig, constraint: Constraint | None = None, record: bool = False) -> Run:
        """The :class:`~musicgen.compose.streams.Run` of ``generate(cfg, constraint)``, primed and not yet stepped:
        what ``generate``, a step-by-step tune (musicgen.judge.walk) and ``musicgen explain`` all step, so each
        writes the same tune. ``record``: each stream keeps the masks its characters were drawn under."""
        built = self._meter_constraint(cfg) if self.meter_aware(cfg) and constraint is None else None
        constraint = built if constraint is None else constraint
        for where, text in (
            ("the primer", cfg.primer.replace("\r", "\n").replace("\t", " ")),
            ("seed_char", cfg.seed_char or ""),
        ):  # tabs and CRs are normalised away
            unknown = self.vocab.unknown(text)
            if unknown:
                raise UnknownCharacterError(text, unknown, where)
        prompt = build_prompt(cfg)
        self.vocab.check(prompt.head + prompt.tail)
        one_blas_thread()
        return Run(self.engine, cfg, prompt, constraint, record, built)

    @staticmethod
    def meter_aware(cfg: SampleConfig) -> bool:
        """Whether ``cfg`` is written meter-aware: asked for, and its meter and unit length followed
        (``cfg.free_writing`` names the ones that are not, before anything is written)."""
        return cfg.constrained and cfg.free_writing is None

    def _meter_constraint(self, cfg: SampleConfig) -> MeterConstraint:
        """The meter-aware constraint for ``cfg`` (the one place that builds it; see :mod:`musicgen.compose.constrain`).

        The key, meter and unit length asked for (a tune type's usual meter among them) hold for the whole
        tune: the prompt writes them, and the constraint keeps the model from changing them later. Under a
        form, where neither the settings nor a primer give the key, the tune's header draws it by the training
        tunes' shares (:func:`~musicgen.compose.parts.drawn_key`). The
        tune's parts take the form ``cfg.written_form`` (see :mod:`musicgen.compose.parts`); under a form, a bar
        where the rules would take nearly all of the model's probability is written again, up to
        :data:`~musicgen.compose.constrain.RETRIES` times (:mod:`musicgen.compose.retry`).
        """
        held = {f: v for f, v in chosen_fields(cfg).items() if f in "KML"}
        form = None if cfg.written_form == NO_FORM else cfg.written_form
        draw = form is not None and not re.search(r"^K:", build_prompt(cfg).head, re.M)  # (no key chosen or primed)
        return MeterConstraint(self.vocab, cfg.length, cfg.n, held or None, form, RETRIES if form else 0, draw)
