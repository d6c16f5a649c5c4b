"""A tune written one character at a time, to be watched: paused, reshaped by temperature, and branched.

    walk = Walk(gen, SampleConfig(rng=7, constrained=True))
    walk.choices(5)          # the five likeliest next characters, as the draw sees them (temperature, rules)
    walk.step()              # the model writes one (the same as Generator.generate would)
    walk.temperature = 1.3   # the next draws and choices follow it
    other = walk.branch("|") # a new line of writing that takes "|" next, then carries on with its own draws

Left alone, a walk writes exactly the tune ``Generator.generate(cfg)`` writes (``cfg.n == 1``): the same
prompt, the same rules (:meth:`~musicgen.compose.sample.Generator._meter_constraint`), the same one
uniform draw per step from the same random generator, read the way
:func:`~musicgen.compose.draw.sample_next` reads it. Each step's draw is made before the step, so a change
of temperature reshapes the choices and moves the model's pick without spending randomness. Temperature
is the only sampling control a walk follows (no top-k or top-p). Each step keeps the model's logits and
the rules' mask, so the page can redraw any past step's choices at any temperature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicgen.compose.prompt import MAX_TITLE, build_prompt
from musicgen.compose.sample import Generator
from musicgen.compose.streams import tidy
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import UnknownCharacterError
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
    """One line of writing from a checkpoint, a character a step (not shared between threads)."""

    def __init__(self, gen: Generator, cfg: SampleConfig) -> None:
        if cfg.n != 1 or cfg.top_k or cfg.top_p < 1:
            raise ValueError("a step-by-step tune is one tune drawn with temperature only (n=1, no top-k or top-p)")
        for where, text in (("the primer", cfg.primer), ("seed_char", cfg.seed_char or "")):
            unknown = gen.vocab.unknown(text.replace("\r", "\n").replace("\t", " "))
            if unknown:
                raise UnknownCharacterError(text, unknown, where)
        self.gen, self.cfg, self.vocab = gen, cfg, gen.vocab
        self.temperature = cfg.temperature
        self.prompt = prompt = build_prompt(cfg)
        gen.vocab.check(prompt.head + prompt.tail)
        self.constraint = gen._meter_constraint(cfg) if gen.meter_aware(cfg) else None
        self.rng = np.random.default_rng(cfg.rng)
        start = self.vocab.chars[self.rng.integers(len(self.vocab), size=1)[0]] if prompt.random_start else prompt.head
        self.start = start
        self.ids = self.vocab.encode(TUNE_END + start).tolist()
        self.forced: list[int] = []  # characters to take next instead of drawing, last first
        self.in_title, self.title_len = prompt.title_slot, 0
        self.sampled, self.ended, self.done = 0, False, False
        self.turns: list[Turn] = []
        self.branches = 0  # branches made from this line (each draws from its own generator)
        if self.constraint is not None:
            for ch in start:
                self.constraint.advance(0, ch)
        self.stepper = gen.engine.stepper(1)
        for i in self.ids:
            self.stepper.step(np.array([i]))
        self.everything = np.ones(len(self.vocab), dtype=bool)
        self.tail = self.vocab.encode(prompt.tail).tolist()[::-1]
        self.nl, self.colon, self.x = (self.vocab.index[c] for c in "\n:X")
        self._prepare()

    def _prepare(self) -> None:
        """What the next step needs: the logits, the rules' mask, the one uniform draw (as ``Run`` makes it)."""
        self.logits = self.stepper.logits[0].copy()
        self.logits.setflags(write=False)
        forced = bool(self.forced)
        self.mask = None if forced or self.constraint is None else self.constraint.allowed(0)
        self.rules_hold = self.constraint is not None and self.constraint.held(0)
        self.u = float(self.rng.random())

    @property
    def forced_next(self) -> bool:
        """Whether the next character is the prompt's (the settings wrote it): no choice to make."""
        return bool(self.forced)

    def weights(self, temperature: float | None = None) -> np.ndarray:
        """The draw's probabilities for the next character: the rules' mask, then the temperature."""
        p = self._unnormalised(self.logits, self.mask, temperature or self.temperature)
        return p / p.sum()

    @staticmethod
    def _unnormalised(logits: np.ndarray, mask: np.ndarray | None, temperature: float) -> np.ndarray:
        if not temperature > 0:
            raise ValueError(f"temperature must be above 0 (got {temperature})")
        masked = logits if mask is None else np.where(mask, logits, -np.inf)
        p = np.multiply(masked[None], 1.0 / temperature, dtype=np.float64)  # as sample_next does, bit for bit
        np.subtract(p, np.maximum.reduce(p, 1, keepdims=True), p)
        return np.exp(p, p)[0]

    def pick(self, temperature: float | None = None) -> int:
        """The character id the model draws next at ``temperature`` (the prompt's, when one is forced)."""
        if self.forced:
            return self.forced[-1]
        cum = np.add.accumulate(self._unnormalised(self.logits, self.mask, temperature or self.temperature))
        i = int(cum.searchsorted(self.u * cum[-1], side="right"))
        return i if i < len(cum) else int(np.flatnonzero(np.diff(cum, prepend=0.0) > 0)[-1])

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
        if choice is not None and not self.forced:
            if choice not in self.vocab.index:
                raise ValueError(f"{choice!r} is not a character the model knows")
            if self.weights()[self.vocab.index[choice]] == 0:
                raise ValueError(f"the rules do not allow {choice!r} here")
        by = "prompt" if self.forced else "you" if choice is not None else "model"
        ch = self.forced.pop() if self.forced else self.vocab.index[choice] if choice is not None else self.pick()
        surprise = -float(log_prob_of(self.logits[None], np.array([ch]))[0])
        self.turns.append(Turn(self.vocab.chars[ch], self.logits, self.mask, self.temperature, by, surprise))
        self._take(ch, by != "prompt")
        if not self.ended and self.sampled < self.cfg.length or self.forced:
            self.stepper.step(np.array([ch]))
            self._prepare()
        else:
            self.done = True
        return self.vocab.chars[ch]

    def _take(self, ch: int, drawn: bool) -> None:
        """The bookkeeping of ``streams.Run._take`` for one stream: the title, the tune's end."""
        ids = self.ids
        if drawn:
            self.sampled += 1
            if self.in_title:  # a newline ends the title; at MAX_TITLE characters one is forced
                self.title_len += 1
                if ch == self.nl:
                    self.in_title, self.forced = False, list(self.tail)
                elif self.title_len >= MAX_TITLE:
                    self.in_title, self.forced = False, list(self.tail) + [self.nl]
            elif ch == self.nl and ids[-1] == self.nl:
                self.ended = True  # a blank line
            elif ch == self.colon and ids[-1] == self.x and ids[-2] == self.nl and len(ids) - len(TUNE_END) >= 3:
                self.ended = True  # a new X: line
        ids.append(ch)
        if self.constraint is not None:
            self.constraint.advance(0, self.vocab.chars[ch])

    @property
    def text(self) -> str:
        """The tune's text so far (its final form, :attr:`abc`, once done)."""
        return self.vocab.decode(self.ids[len(TUNE_END) :])

    @property
    def abc(self) -> str:
        """The tune as ``Generator.generate`` gives it (``Tune.abc``): tidied, an ``X:`` and a ``T:`` line."""
        text = self.text
        if self.ended and text.endswith("X:"):
            text = text[:-2]
        return tidy(text, 1, keep=self.prompt.head + self.prompt.tail)

    def branch(self, choice: str) -> Walk:
        """A new line of writing from here that takes ``choice`` next, then draws with its own random generator.

        This line is left as it is. The branch replays this line's characters through a fresh copy of the
        rules (the model's state is copied), so the two never share anything that changes.
        """
        if self.done or self.forced:
            raise ValueError("a branch starts where the model chooses the next character")
        if choice not in self.vocab.index or self.weights()[self.vocab.index[choice]] == 0:
            raise ValueError(f"{choice!r} cannot come next here")
        self.branches += 1
        twin = Walk.__new__(Walk)
        twin.__dict__.update(self.__dict__)
        twin.ids, twin.forced, twin.turns, twin.tail = list(self.ids), list(self.forced), list(self.turns), self.tail
        twin.branches = 0
        twin.rng = np.random.default_rng([self.cfg.rng, len(self.turns), self.branches])
        twin.stepper = self.stepper.select([0])
        if self.constraint is not None:
            twin.constraint = self.gen._meter_constraint(self.cfg)
            for ch in self.start:
                twin.constraint.advance(0, ch)
            for turn in self.turns:
                if turn.by != "prompt":
                    twin.constraint.allowed(0)
                twin.constraint.advance(0, turn.char)
            twin.mask = twin.constraint.allowed(0)
        twin.step(choice)
        return twin
