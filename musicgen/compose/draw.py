"""Drawing one character per stream from the model's logits: temperature, top-k, top-p, masks.

:func:`sample_next` is the pure sampling step (:mod:`musicgen.compose.streams` runs it once a
character for every stream of a call); it takes an explicit ``np.random.Generator``, so a seeded
run draws the same characters every time.
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
