"""A smoothed character n-gram model (interpolated Kneser-Ney): the baseline every LSTM must beat.

It is trained on the same training text as the LSTM and scores text in the same
way (each tune after a blank line), so their nats per character compare
directly. Lower orders use continuation counts; the lowest interpolates with a
uniform distribution over the vocabulary, so no character has probability zero.

>>> lm = KneserNey("abcabcabc\\n\\n", order=3, vocab_size=5)
>>> round(sum(lm.prob(c, "ab") for c in "abc\\nz"), 6)
1.0
>>> lm.prob("c", "ab") > lm.prob("a", "ab")
True
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable


class KneserNey:
    """Interpolated Kneser-Ney character model of a given order (5 = four characters of context)."""

    def __init__(self, text: str, order: int = 5, vocab_size: int = 100, discount: float = 0.75) -> None:
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order, self.vocab_size, self.d = order, vocab_size, discount
        # counts[k][(context, char)] for contexts of length k: raw counts at the top order,
        # continuation counts (how many distinct characters precede context+char) below it.
        top = Counter(text[i : i + order] for i in range(len(text) - order + 1))
        self.counts: list[Counter[tuple[str, str]]] = [Counter() for _ in range(order)]
        self.counts[order - 1] = Counter({(g[:-1], g[-1]): n for g, n in top.items()})
        for k in range(order - 1):
            longer = {text[i : i + k + 2] for i in range(len(text) - k - 1)}
            self.counts[k] = Counter((g[1:-1], g[-1]) for g in longer)
        self.totals: list[Counter[str]] = [Counter() for _ in range(order)]
        self.types: list[Counter[str]] = [Counter() for _ in range(order)]
        for k in range(order):
            for (ctx, _), n in self.counts[k].items():
                self.totals[k][ctx] += n
                self.types[k][ctx] += 1

    def prob(self, char: str, context: str) -> float:
        """P(char | the last order-1 characters of context)."""
        p = 1.0 / self.vocab_size
        context = context[-(self.order - 1) :] if self.order > 1 else ""
        for k in range(len(context) + 1):
            ctx = context[len(context) - k :]
            total = self.totals[k][ctx]
            if total == 0:
                break  # longer contexts are unseen too
            n = self.counts[k].get((ctx, char), 0)
            p = max(n - self.d, 0.0) / total + self.d * self.types[k][ctx] / total * p
        return p

    def log_likelihood(self, texts: Iterable[str], context: str = "\n\n") -> list[tuple[float, int]]:
        """Natural-log likelihood of each text's characters (after ``context``) and their count."""
        out = []
        for t in texts:
            full = context + t
            s = sum(
                math.log(self.prob(full[i], full[max(0, i - self.order + 1) : i]))
                for i in range(len(context), len(full))
            )
            out.append((s, len(t)))
        return out
