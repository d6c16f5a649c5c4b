"""Drawing one character per stream from the model's logits: temperature, top-k, top-p, masks.

:func:`sample_next` is the pure sampling step (:mod:`musicgen.compose.streams` runs it once a
character for every stream of a call); it takes an explicit ``np.random.Generator``, so a seeded
run draws the same characters every time.

Under rules (meter-aware writing, temperature only), a character is drawn in two stages, each from a
uniform number of its own: first from the model alone (:func:`first_draws`); where the rules refuse it,
again from the characters they allow (:func:`two_stage`). That is exactly a draw from the model's
distribution restricted to the allowed characters (a character ``x`` they allow comes with probability
``p(x) + (1 - p(A)) p(x) / p(A) = p(x) / p(A)``), and the rules need to be asked only about the character
drawn, not about every character: most draws keep them (96% at the default settings).
"""

from __future__ import annotations

import math

import numpy as np


class ConstraintError(ValueError):
    """A constraint left no character allowed, or constrained decoding was asked for without one."""


def sample_next(
    logits: np.ndarray, temperature: float, top_k: int, top_p: float, rng: np.random.Generator
) -> np.ndarray:
    """Draw one character id per row of ``logits`` (K, V): log-probabilities up to a constant per row.

    ``np.log(probs)`` works as logits; ``-inf`` marks a character that must not
    come. Temperature divides the logits; top-k keeps the k likeliest (ties
    broken by lower id), top-p the fewest likeliest whose probability reaches p
    (at least one). Exactly one uniform draw per row, so a seeded ``rng`` gives
    the same ids every time.

    >>> rng = np.random.default_rng(0)
    >>> logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]))
    >>> sample_next(logits, 1.0, 1, 1.0, rng)  # top-k 1: the likeliest, whatever the draw
    array([1, 0])
    >>> sample_next(logits, 1.0, 0, 0.5, rng)  # top-p 0.5: the likeliest alone already holds 0.5
    array([1, 0])
    >>> sample_next(np.array([[-np.inf, 0.0, -np.inf]]), 3.0, 0, 1.0, rng)  # masked characters never come
    array([1])
    >>> sample_next(np.array([[0.0, 1e9]]), 1.0, 0, 1.0, rng)  # huge logits do not overflow
    array([1])
    >>> sample_next(np.array([[0.0, 0.0], [-np.inf, -np.inf]]), 1.0, 0, 1.0, rng)
    Traceback (most recent call last):
    ...
    musicgen.compose.draw.ConstraintError: no character is allowed for row(s) [1]
    >>> sample_next(logits, 0.0, 0, 1.0, rng)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be above 0 (got 0.0); for the likeliest character use top_k=1
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0 (got {temperature}); for the likeliest character use top_k=1")
    if top_k < 0 or not 0 < top_p <= 1:
        raise ValueError(f"top_k must be >= 0 and top_p in (0, 1] (got {top_k}, {top_p})")
    # this runs once a character: each step is written as its cheapest NumPy call, and one row is drawn
    # with Python numbers (a reduction over a tiny array costs ~1 microsecond, as much as the exp)
    p = np.multiply(logits, 1.0 / temperature, dtype=np.float64)
    top = np.maximum.reduce(p, 1, keepdims=True)
    one = len(p) == 1
    if not (math.isfinite(top[0, 0]) if one else np.isfinite(top).all()):  # a row of -inf: nothing may come
        raise ConstraintError(f"no character is allowed for row(s) {np.flatnonzero(~np.isfinite(top)).tolist()}")
    np.subtract(p, top, p)
    np.exp(p, p)  # unnormalised probabilities; the likeliest is 1
    if 0 < top_k < p.shape[1] or top_p < 1:
        p = _truncate(p, top_k, top_p)
    cum = np.add.accumulate(p, 1, out=p)
    last = cum.shape[1]
    if one:
        row = cum[0]
        ids = np.array([row.searchsorted(rng.random() * row[-1], side="right")])  # the first cum above u
        if ids[0] < last:
            return ids
    else:
        u = rng.random(len(cum))
        np.multiply(u, cum[:, -1], u)
        ids = np.less_equal(cum, u[:, None]).sum(axis=1)  # the first index whose cumulative sum passes u
        if ids.max() < last:
            return ids
    for r in np.flatnonzero(ids == last):  # u rounded up to the total (chance ~1e-16): the last possible one
        ids[r] = np.flatnonzero(np.diff(cum[r], prepend=0.0) > 0)[-1]
    return ids


def _truncate(p: np.ndarray, top_k: int, top_p: float) -> np.ndarray:
    """Zero all but the top-k and the top-p nucleus of each row of unnormalised probabilities."""
    order = np.argsort(-p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    keep = np.ones(ranked.shape, dtype=bool)
    if 0 < top_k < p.shape[1]:
        keep[:, top_k:] = False
    if top_p < 1:
        before = np.cumsum(ranked, axis=1) - ranked  # mass of the likelier characters
        keep &= before < top_p * ranked.sum(axis=1, keepdims=True)
    out = np.zeros_like(p)
    np.put_along_axis(out, order, np.where(keep, ranked, 0.0), axis=1)
    return out


def first_draws(logits: np.ndarray, temperature: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first stage of a draw under rules: one character id per row of ``logits`` (K, V) from the model
    alone at ``temperature``, by the uniform numbers ``u`` (K,), each one's share of its row's probability, and
    the rows' unnormalised probabilities (:func:`unnormalised`'s, for a retry weighed without a mask).

    Row by row the very character :func:`pick` gives for :func:`unnormalised` ``(row, None, temperature)``.

    >>> logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]))
    >>> ids, share, _ = first_draws(logits, 1.0, np.array([0.05, 0.99]))
    >>> ids.tolist(), np.round(share, 3).tolist()
    ([0, 2], [0.1, 0.3])
    """
    p = _exp(np.multiply(logits, 1.0 / temperature, dtype=np.float64))
    cum = np.add.accumulate(p, 1)
    total = cum[:, -1]
    ids = np.less_equal(cum, (u * total)[:, None]).sum(axis=1)  # the first index whose cumulative sum passes u
    for r in np.flatnonzero(ids == cum.shape[1]):  # u rounded up to the total (chance ~1e-16)
        ids[r] = pick(p[r], float(u[r]))
    return ids, p[np.arange(len(p)), ids] / total, p


def unnormalised(logits: np.ndarray, mask: np.ndarray | None, temperature: float) -> np.ndarray:
    """One row's unnormalised probabilities at ``temperature`` (the likeliest allowed: 1), ``mask``'s refused at 0
    (computed as :func:`sample_next` does, bit for bit)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0 (got {temperature})")
    masked = logits if mask is None else np.where(mask, logits, -np.inf)
    return _exp(np.multiply(masked[None], 1.0 / temperature, dtype=np.float64))[0]


def _exp(p: np.ndarray) -> np.ndarray:
    """Rows of logits already divided by the temperature made unnormalised probabilities, in place (each row's
    likeliest: 1), as :func:`sample_next` makes them."""
    np.subtract(p, np.maximum.reduce(p, 1, keepdims=True), p)
    return np.exp(p, p)


def pick(p: np.ndarray, u: float) -> int:
    """The id the uniform number ``u`` draws from unnormalised probabilities ``p``: the first whose cumulative
    sum passes ``u`` times the total.

    >>> pick(np.array([0.1, 0.6, 0.3]), 0.5), pick(np.array([0.0, 1.0, 0.0]), 1.0)
    (1, 1)
    """
    cum = np.add.accumulate(p)
    i = int(cum.searchsorted(u * cum[-1], side="right"))
    return i if i < len(cum) else int(np.flatnonzero(np.diff(cum, prepend=0.0) > 0)[-1])


def two_stage(logits: np.ndarray, mask: np.ndarray | None, temperature: float, u: tuple[float, float]) -> int:
    """A draw under rules for one row (module docstring): from the model alone by ``u[0]``, and where ``mask``
    refuses that character, from the characters it allows by ``u[1]``.

    >>> logits = np.log(np.array([0.1, 0.6, 0.3]))
    >>> two_stage(logits, None, 1.0, (0.5, 0.0)), two_stage(logits, np.array([True, False, True]), 1.0, (0.5, 0.9))
    (1, 2)
    """
    i = pick(unnormalised(logits, None, temperature), u[0])
    if mask is None or mask[i]:
        return i
    if not mask.any():
        raise ConstraintError("no character is allowed for this row")
    return pick(unnormalised(logits, mask, temperature), u[1])
