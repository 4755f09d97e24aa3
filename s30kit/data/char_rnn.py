"""A synthetic "bracket grammar" corpus for 02_char_rnn.

Every line is one sentence: words separated by single spaces, some of them grouped in round
``( ... )`` or square ``[ ... ]`` brackets, nested up to ``MAX_DEPTH`` deep, ending in ``.``::

    the cat (sat [on a mat] ran) dog.

To predict a closing bracket a model must remember *which* bracket is open and *how deep* it
is; a full stop can only come at depth 0. Nothing else is long-range: words are drawn
independently from a small lexicon.

The grammar is unambiguous (every text has exactly one derivation), so the probability of a
text is the product of the generator's choices, and ``-log P(text) / len(text)`` is the
cross-entropy of the *true* model on it: an estimate of the entropy rate, the best loss any
character model can reach.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "VOCAB",
    "WORDS",
    "MAX_DEPTH",
    "P_END_GROUP",
    "P_END_SENTENCE",
    "encode",
    "decode",
    "grammar_corpus",
    "bracket_depth",
    "windows",
    "line_ok",
]

WORDS = ("the", "a", "cat", "dog", "sat", "ran", "on", "mat", "big", "red", "bird", "sang")
# Zipf-like word frequencies: P(word k) proportional to 1 / (k + 1)
WORD_P = np.array([1.0 / (k + 1) for k in range(len(WORDS))])
WORD_P /= WORD_P.sum()
MAX_DEPTH = 3
P_OPEN = (0.3, 0.25, 0.2, 0.0)  # probability that an item is a bracket group, by depth
P_END_GROUP = 0.4  # after each item of a group (it has at least one): close the group
P_END_SENTENCE = 0.25  # after each item at depth 0: end the sentence
OPEN, CLOSE = "([", ")]"

VOCAB = "".join(sorted(set("".join(WORDS)))) + " ()[].\n"
_INDEX = {c: i for i, c in enumerate(VOCAB)}


def encode(text: str) -> np.ndarray:
    """Characters -> int64 ids in [0, len(VOCAB))."""
    return np.array([_INDEX[c] for c in text], dtype=np.int64)


def decode(ids) -> str:
    """int ids -> characters."""
    return "".join(VOCAB[int(i)] for i in np.asarray(ids).ravel())


def _items(rng: np.random.Generator, depth: int, out: list[str]) -> float:
    """Append a list of items at ``depth`` to ``out``; return the log-probability of the choices
    (up to, not including, the choice that ends the list)."""
    logp = 0.0
    p_end = P_END_GROUP if depth > 0 else P_END_SENTENCE
    while True:
        p_open = P_OPEN[depth]
        if rng.random() < p_open:
            kind = int(rng.integers(2))
            logp += np.log(p_open) + np.log(0.5)
            out.append(OPEN[kind])
            logp += _items(rng, depth + 1, out)
            out.append(CLOSE[kind])
        else:
            k = int(rng.choice(len(WORDS), p=WORD_P))
            logp += np.log(1.0 - p_open) + np.log(WORD_P[k])
            out.append(WORDS[k])
        if rng.random() < p_end:
            return logp + np.log(p_end)
        logp += np.log(1.0 - p_end)
        out.append(" ")


def grammar_corpus(n_chars: int, seed: int = 0) -> tuple[str, float]:
    """Whole sentences until there are at least ``n_chars`` characters, cut to ``n_chars``.

    Returns (text, nats_per_char): nats_per_char is -log P(sentences) / their length under the
    generating grammar (the end-of-sentence choice included), i.e. the true model's
    cross-entropy on this text: the entropy rate the best possible model would reach.
    """
    rng = np.random.default_rng(seed)
    parts: list[str] = []
    n, total_nats = 0, 0.0
    while n < n_chars:
        out: list[str] = []
        total_nats -= _items(rng, 0, out)
        line = "".join(out) + ".\n"
        parts.append(line)
        n += len(line)
    return "".join(parts)[:n_chars], total_nats / n


def bracket_depth(text: str) -> np.ndarray:
    """Number of brackets open *after* reading each character: int64 array like ``text``."""
    step = np.array([(c in OPEN) - (c in CLOSE) for c in text], dtype=np.int64)
    return np.cumsum(step)


def windows(ids: np.ndarray, B: int, length: int, seed: int, line_start: bool = True) -> np.ndarray:
    """``B`` random windows of ``length`` consecutive ids: an int64 batch (B, length).

    With ``line_start`` (the default) every window starts at the beginning of a sentence, so a
    model that reads it from a zero state knows that no bracket is open; otherwise the windows
    start anywhere.
    """
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids)
    if line_start:
        starts = np.flatnonzero(ids[: len(ids) - length] == _INDEX["\n"]) + 1
        if ids[0] != _INDEX["\n"]:
            starts = np.r_[0, starts]
        start = rng.choice(starts, size=B)
    else:
        start = rng.integers(0, len(ids) - length + 1, size=B)
    return np.stack([ids[s : s + length] for s in start]).astype(np.int64)


def line_ok(line: str) -> bool:
    """True if ``line`` (without its newline) is a sentence the grammar can produce."""
    pos = 0

    def items(depth: int) -> bool:
        nonlocal pos
        while True:
            if pos < len(line) and line[pos] in OPEN:
                kind = OPEN.index(line[pos])
                if depth >= MAX_DEPTH:
                    return False
                pos += 1
                if not items(depth + 1) or pos >= len(line) or line[pos] != CLOSE[kind]:
                    return False
                pos += 1
            else:
                end = pos
                while end < len(line) and line[end].isalpha():
                    end += 1
                if line[pos:end] not in WORDS:
                    return False
                pos = end
            if pos < len(line) and line[pos] == " ":
                pos += 1
                continue
            return True

    return items(0) and line[pos:] == "."
