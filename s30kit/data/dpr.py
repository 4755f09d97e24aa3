"""Synthetic facts about entities, and questions about them, for 28_dense_passage_retrieval.

An *entity* has a name and one value for each of ``N_ATTR`` attributes (think city, job, pet,
team), each drawn uniformly from ``N_VAL`` values. Its *passage* states the facts in the
passage's words: the name token, one token per attribute value, and a few filler words.

Two kinds of question point at one passage:

* a **paraphrase** question names ``Q_ATTR`` of the entity's attribute values, each in *other
  words* (a synonym token that never occurs in any passage), plus filler words. A lexical
  retriever can only match it by chance filler words; a retriever must learn which question
  word means which passage word.
* a **name** question repeats the entity's name (a rare word: each name occurs in one passage of
  a corpus) plus filler words.

Training draws *fresh entities in every batch* (a new random name from the training names, new
random values), so a name never carries information from one batch to the next and nothing can
be memorised about it. Test corpora use names from a disjoint pool that training never shows.

The vocabulary (``VOCAB`` token ids) is laid out as: names ``[0, N_NAMES)`` (training pool
first, then the test pool), passage value words, question synonyms, then filler words (shared
by passages and questions). Token sequences are padded: ``ids`` (B, T) int64 with 0 in padded
slots and ``mask`` (B, T) float64, 1.0 on real tokens and 0.0 on padding.

Every function is deterministic given its generator or seed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "N_ATTR",
    "N_VAL",
    "Q_ATTR",
    "N_FILLER",
    "N_TRAIN_NAMES",
    "N_TEST_NAMES",
    "N_NAMES",
    "VOCAB",
    "P_FILLERS",
    "Q_FILLERS",
    "passage_word",
    "question_word",
    "filler_word",
    "draw_entities",
    "passages",
    "paraphrase_questions",
    "name_questions",
    "train_batch",
    "fixed_batches",
    "test_corpus",
]

N_ATTR = 4  # attributes per entity
N_VAL = 16  # values per attribute
Q_ATTR = 3  # attributes a paraphrase question names
N_FILLER = 32  # filler words, shared by passages and questions
P_FILLERS = 3  # filler words per passage
Q_FILLERS = 2  # filler words per question
N_TRAIN_NAMES = 1000
N_TEST_NAMES = 2000
N_NAMES = N_TRAIN_NAMES + N_TEST_NAMES
_P0 = N_NAMES  # first passage value word
_Q0 = _P0 + N_ATTR * N_VAL  # first question synonym
_F0 = _Q0 + N_ATTR * N_VAL  # first filler word
VOCAB = _F0 + N_FILLER


def passage_word(attr, value):
    """Token id(s) of value ``value`` of attribute ``attr`` as passages write it."""
    return _P0 + np.asarray(attr) * N_VAL + np.asarray(value)


def question_word(attr, value):
    """Token id(s) of the synonym questions use for value ``value`` of attribute ``attr``."""
    return _Q0 + np.asarray(attr) * N_VAL + np.asarray(value)


def filler_word(i):
    """Token id(s) of filler word(s) ``i`` (0 <= i < N_FILLER)."""
    return _F0 + np.asarray(i)


def draw_entities(n: int, rng: np.random.Generator, pool: str = "train"):
    """``n`` entities: names (n,) int64 (distinct, from the ``pool`` "train" or "test") and
    values (n, N_ATTR) int64 in [0, N_VAL)."""
    lo, size = (0, N_TRAIN_NAMES) if pool == "train" else (N_TRAIN_NAMES, N_TEST_NAMES)
    if n > size:
        raise ValueError(f"the {pool} pool has only {size} names, asked for {n}")
    names = lo + rng.choice(size, size=n, replace=False)
    values = rng.integers(0, N_VAL, size=(n, N_ATTR))
    return names.astype(np.int64), values.astype(np.int64)


def passages(names, values, rng: np.random.Generator):
    """Passage tokens: ids (n, 1 + N_ATTR + P_FILLERS) int64 (name, the values in passage
    words, fillers; no padding) and mask (n, same) float64 of ones."""
    n = len(names)
    fill = filler_word(rng.integers(0, N_FILLER, size=(n, P_FILLERS)))
    vals = passage_word(np.arange(N_ATTR)[None, :], values)  # (n, N_ATTR)
    ids = np.concatenate([np.asarray(names)[:, None], vals, fill], axis=1).astype(np.int64)
    return ids, np.ones(ids.shape)


def paraphrase_questions(values, rng: np.random.Generator, n_attr: int = Q_ATTR):
    """Paraphrase questions: ``n_attr`` random attributes of each entity in synonyms, then
    filler words, in random order; ids (n, n_attr + Q_FILLERS) int64, mask of ones."""
    n = len(values)
    attrs = np.argsort(rng.random((n, N_ATTR)), axis=1)[:, :n_attr]  # (n, n_attr) distinct
    syn = question_word(attrs, np.take_along_axis(values, attrs, axis=1))
    fill = filler_word(rng.integers(0, N_FILLER, size=(n, Q_FILLERS)))
    ids = np.concatenate([syn, fill], axis=1)
    ids = np.take_along_axis(ids, np.argsort(rng.random(ids.shape), axis=1), axis=1)
    return ids.astype(np.int64), np.ones(ids.shape)


def name_questions(names, rng: np.random.Generator):
    """Name questions: the entity's name and filler words; ids (n, 1 + Q_FILLERS) int64,
    mask of ones."""
    fill = filler_word(rng.integers(0, N_FILLER, size=(len(names), Q_FILLERS)))
    ids = np.concatenate([np.asarray(names)[:, None], fill], axis=1)
    return ids.astype(np.int64), np.ones(ids.shape)


def _pad_random(ids, mask, extra: int, rng: np.random.Generator):
    """Append ``extra`` padded slots and mask out a random number of trailing filler words, so
    that batches have padding (token 0 in masked slots)."""
    n, T = ids.shape
    ids = np.concatenate([ids, np.zeros((n, extra), dtype=np.int64)], axis=1)
    mask = np.concatenate([mask, np.zeros((n, extra))], axis=1)
    drop = rng.integers(0, Q_FILLERS + 1, size=n)  # how many trailing fillers to mask out
    for i in range(n):
        if drop[i]:
            mask[i, T - drop[i] : T] = 0.0
            ids[i, T - drop[i] : T] = 0
    return ids, mask


def train_batch(batch: int, rng: np.random.Generator):
    """One training batch of ``batch`` fresh entities: (q_ids, q_mask, p_ids, p_mask), row i of
    the questions paraphrasing row i of the passages. Questions carry 0 to Q_FILLERS filler
    words and one padded slot at the end."""
    names, values = draw_entities(batch, rng, "train")
    p_ids, p_mask = passages(names, values, rng)
    q_ids, q_mask = paraphrase_questions(values, rng)
    q_ids, q_mask = _order_fillers_last(q_ids, q_mask)
    q_ids, q_mask = _pad_random(q_ids, q_mask, 1, rng)
    return q_ids, q_mask, p_ids, p_mask


def _order_fillers_last(ids, mask):
    """Move filler words to the end of each question (stable), so that padding drops fillers."""
    order = np.argsort(ids >= _F0, axis=1, kind="stable")
    return np.take_along_axis(ids, order, axis=1), mask


def fixed_batches(n: int, batch: int, seed: int) -> list:
    """``n`` training batches drawn in order from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return [train_batch(batch, rng) for _ in range(n)]


def test_corpus(n: int, seed: int):
    """A test corpus of ``n`` entities with unseen (test-pool) names, and one question of each
    kind per passage. Returns a dict with 'p_ids', 'p_mask' (n, L), 'para_ids', 'para_mask',
    'name_ids', 'name_mask' (n, Tq); question i is about passage i (gold = arange(n))."""
    rng = np.random.default_rng(seed)
    names, values = draw_entities(n, rng, "test")
    p_ids, p_mask = passages(names, values, rng)
    para_ids, para_mask = paraphrase_questions(values, rng)
    name_ids, name_mask = name_questions(names, rng)
    return {
        "p_ids": p_ids,
        "p_mask": p_mask,
        "para_ids": para_ids,
        "para_mask": para_mask,
        "name_ids": name_ids,
        "name_mask": name_mask,
        "values": values,
    }
