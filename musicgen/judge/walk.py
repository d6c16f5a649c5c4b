"""A tune written one character at a time, to be watched: paused, reshaped by temperature, and branched.

    walk = Walk(gen, SampleConfig(rng=7, constrained=True))
    walk.choices(5)          # the five likeliest next characters, as the draw sees them (temperature, rules)
    walk.step()              # the model writes one (the same as Generator.generate would)
    walk.temperature = 1.3   # the next draws and choices follow it
    other = walk.branch("|") # a new line of writing that takes "|" next, then carries on with its own draws

Left alone, a walk writes exactly the tune ``Generator.generate(cfg)`` writes (``cfg.n == 1``): it steps
the same :class:`~musicgen.compose.streams.Run` (``Generator.start``: the same prompt, the same rules and
their retries, :meth:`~musicgen.compose.sample.Generator._meter_constraint`), with the same two uniform
numbers per step from the same random generator, read the way ``Run.draw`` reads them
(:func:`~musicgen.compose.draw.two_stage`: a draw from the model, and where the rules refuse it one from
what they allow; without rules the first alone, as :func:`~musicgen.compose.draw.sample_next` reads it).
A bar the rules write again is taken back from the walk's steps as from the tune (:attr:`Walk.taken_back`). Each step's draw is made before the step, so a change
of temperature reshapes the choices and moves the model's pick without spending randomness. Temperature
is the only sampling control a walk follows (no top-k or top-p). Each step keeps the model's logits and
the rules' mask, so the page can redraw any past step's choices at any temperature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgen.compose.draw import pick, two_stage, unnormalised
from musicgen.compose.sample import Generator
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.model.engine import log_prob_of, softmax


@dataclass(frozen=True)
class Turn:
    """One step taken: the character, what the model thought before it, and who chose it."""

    char: str
    logits: np.ndarray  # the model's logits before it (float32; read-only)
    mask: np.ndarray | None  # the characters the rules allowed (None: no rules at this step)
    temperature: float  # the temperature of the draw
    by: str  # "model" (drawn), "prompt" (the settings' header) or "you" (a branch's choice)
    surprise: float  # -ln p of the character under the model (no temperature, no rules)


class Walk:
    """One line of writing from a checkpoint, a character a step (not shared between threads).

    It steps the very :class:`~musicgen.compose.streams.Run` ``Generator.generate`` steps (``gen.start(cfg)``).
    Where meter-aware writing writes a bar again (:mod:`musicgen.compose.retry`), the bar's steps are taken
    back: they leave :attr:`turns` and the text, and :attr:`taken_back` says where and what.
    """

    def __init__(self, gen: Generator, cfg: SampleConfig) -> None:
        if cfg.n != 1 or cfg.top_k or cfg.top_p < 1:
            raise ValueError("a step-by-step tune is one tune drawn with temperature only (n=1, no top-k or top-p)")
        self.gen, self.cfg, self.vocab = gen, cfg, gen.vocab
        self.temperature = cfg.temperature
        self.run = gen.start(cfg)
        self.prompt = self.run.prompt
        self.done = False
        self.turns: list[Turn] = []
        self.taken_back: list[tuple[int, str]] = []  # bars written again: (where in the text, what was taken back)
        self.branches = 0  # branches made from this line (each draws from its own generator)
        self._prepare()

    def _prepare(self) -> None:
        """What the next step needs: the logits, the rules' mask, the uniform numbers of its draw (``Run.prepare``,
        then those ``Run.draw`` would take); a bar the rules send back to its start leaves the turns."""
        run, stream = self.run, self.run.streams[0]
        if run.retries is not None:
            run.retries.temperature = self.temperature  # (whether the rules leave too little: at this temperature)
        seen = len(stream.backs)
        run.prepare()
        for at, ids in stream.backs[seen:]:
            del self.turns[max(0, len(self.turns) - len(ids)) :]
            self.taken_back.append((at - len(TUNE_END), self.vocab.decode(ids)))
        self.logits = run.logits[0].copy()
        self.logits.setflags(write=False)
        self.mask = None if stream.forced or run.allowed is None else run.allowed[0]
        # (Run.draw: two numbers a row under rules, sample_next's one without)
        self.u = tuple(run.rng.random(2).tolist()) if run.constraint is not None else (float(run.rng.random()),)

    @property
    def forced_next(self) -> bool:
        """Whether the next character is the prompt's (the settings wrote it): no choice to make."""
        return not self.done and bool(self.run.streams[0].forced)

    @property
    def forced(self) -> list[int]:
        """The prompt's characters still to come, last first."""
        return [] if self.done else self.run.streams[0].forced

    def weights(self, temperature: float | None = None) -> np.ndarray:
        """The draw's probabilities for the next character: the rules' mask, then the temperature."""
        p = unnormalised(self.logits, self.mask, temperature or self.temperature)
        return p / p.sum()

    def pick(self, temperature: float | None = None) -> int:
        """The character id the model draws next at ``temperature`` (the prompt's, when one is forced)."""
        if self.forced:
            return self.forced[-1]
        temperature = temperature or self.temperature
        if len(self.u) == 1:
            return pick(unnormalised(self.logits, None, temperature), self.u[0])
        return two_stage(self.logits, self.mask, temperature, self.u)  # type: ignore[arg-type]

    def choices(self, k: int = 5, temperature: float | None = None) -> list[tuple[str, float]]:
        """The ``k`` likeliest next characters and their probabilities in the draw (ties: the lower id first)."""
        p = self.weights(temperature)
        order = np.argsort(-p, kind="stable")[:k]
        return [(self.vocab.chars[i], float(p[i])) for i in order if p[i] > 0]

    def model_choices(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` likeliest next characters under the model alone (no temperature, no rules)."""
        p = softmax(self.logits.astype(np.float64))
        return [(self.vocab.chars[i], float(p[i])) for i in np.argsort(-p, kind="stable")[:k]]

    def step(self, choice: str | None = None) -> str:
        """Take the next character: the prompt's, else ``choice``, else the model's draw; return it."""
        if self.done:
            raise ValueError("this tune is finished: branch from one of its steps to write on")
        forced = self.forced
        if choice is not None and not forced:
            if choice not in self.vocab.index:
                raise ValueError(f"{choice!r} is not a character the model knows")
            if self.weights()[self.vocab.index[choice]] == 0:
                raise ValueError(f"the rules do not allow {choice!r} here")
        by = "prompt" if forced else "you" if choice is not None else "model"
        ch = forced[-1] if forced else self.vocab.index[choice] if choice is not None else self.pick()
        surprise = -float(log_prob_of(self.logits[None], np.array([ch]))[0])
        self.turns.append(Turn(self.vocab.chars[ch], self.logits, self.mask, self.temperature, by, surprise))
        self.run.take(np.array([ch]))
        if by == "you" and self.run.retries is not None:
            self.run.retries.forget(0)  # a retry never takes back what was chosen
        if self.run.rows:
            self._prepare()
        else:
            self.done = True
        return self.vocab.chars[ch]

    @property
    def text(self) -> str:
        """The tune's text so far (its final form, :attr:`abc`, once done)."""
        return self.run.text(0)

    @property
    def abc(self) -> str:
        """The tune as ``Generator.generate`` gives it (``Tune.abc``): tidied, an ``X:`` and a ``T:`` line."""
        return self.run.tunes()[0].abc

    def branch(self, choice: str) -> Walk:
        """A new line of writing from here that takes ``choice`` next, then draws with its own random generator.

        This line is left as it is. The branch writes on from a copy of this line's run (the model's state, the
        rules', the bars a retry may go back to), so the two never share anything that changes.
        """
        if self.done or self.forced_next:
            raise ValueError("a branch starts where the model chooses the next character")
        if choice not in self.vocab.index or self.weights()[self.vocab.index[choice]] == 0:
            raise ValueError(f"{choice!r} cannot come next here")
        self.branches += 1
        twin = Walk.__new__(Walk)
        twin.__dict__.update(self.__dict__)
        twin.turns, twin.taken_back, twin.branches = list(self.turns), list(self.taken_back), 0
        twin.run = self.run.fork(np.random.default_rng([self.cfg.rng, len(self.turns), self.branches]))
        twin.step(choice)
        return twin
