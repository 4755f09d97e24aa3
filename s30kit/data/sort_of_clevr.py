"""A state-description Sort-of-CLEVR, for 16_relation_networks.

Santoro et al. (2017) test relational reasoning on Sort-of-CLEVR: scenes of six objects, one of
each colour, each a square or a circle at some position, and questions about one object picked
by its colour. Their "state description" version gives the network the objects' features
directly instead of pixels. This is that version:

* an object is a row of ``OBJ_DIM = 10`` numbers: its colour one-hot (6), its position x, y
  (each uniform in [0, 1)) and its shape one-hot (square, circle); the six rows come in a random
  order, so a network cannot know which row holds which colour without reading it;
* a question is a row of ``Q_DIM = 10`` numbers: the colour one-hot of the object asked about
  (6) and the question type one-hot (4);
* the four question types and their answers (classes 0 .. 9):

  ====== ======================================================== ========================
  type   question                                                 answers
  ====== ======================================================== ========================
  0      what is the shape of the <colour> object?                 2 square, 3 circle
  1      is the <colour> object on the left (x < 0.5)?             0 no, 1 yes
  2      what is the shape of the object closest to it?            2 square, 3 circle
  3      how many objects have the same shape as it (itself too)?  4 .. 9 for 1 .. 6
  ====== ======================================================== ========================

Types 0 and 1 are about one object ("non-relational" in the paper); types 2 and 3 need the
others ("relational"). Every function is deterministic given its generator or seed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "N_OBJECTS",
    "N_COLOURS",
    "OBJ_DIM",
    "Q_DIM",
    "N_TYPES",
    "N_ANSWERS",
    "TYPE_NAMES",
    "make_batch",
    "fixed_batches",
    "sort_by_colour",
]

N_OBJECTS = 6
N_COLOURS = 6
OBJ_DIM = N_COLOURS + 2 + 2
N_TYPES = 4
Q_DIM = N_COLOURS + N_TYPES
N_ANSWERS = 10
TYPE_NAMES = ("shape", "left", "closest", "count")


def make_batch(batch: int, rng: np.random.Generator, types=None):
    """``batch`` scenes, one question each, drawn with ``rng``.

    Args:
        batch: number of scenes.
        rng: the generator (draws, in order: positions, shapes, row orders, colours asked
            about, question types).
        types: None (each question's type uniform over the four), or an int (every question of
            that type).

    Returns:
        (objects, question, answer, qtype): objects (batch, 6, 10) float64, question
        (batch, 10) float64, answer (batch,) int64 in 0 .. 9, qtype (batch,) int64 in 0 .. 3.
    """
    pos = rng.random((batch, N_OBJECTS, 2))  # by colour
    shape = rng.integers(0, 2, size=(batch, N_OBJECTS))  # 0 square, 1 circle
    order = np.argsort(rng.random((batch, N_OBJECTS)), axis=1)  # row k holds colour order[k]
    asked = rng.integers(0, N_COLOURS, size=batch)
    if types is None:
        qtype = rng.integers(0, N_TYPES, size=batch)
    else:
        qtype = np.full(batch, int(types))
    rows = np.arange(batch)
    by_colour = np.concatenate(
        [np.broadcast_to(np.eye(N_COLOURS), (batch, N_COLOURS, N_COLOURS)), pos, np.eye(2)[shape]],
        axis=2,
    )  # (batch, 6, 10)
    objects = by_colour[rows[:, None], order]  # random row order
    question = np.concatenate([np.eye(N_COLOURS)[asked], np.eye(N_TYPES)[qtype]], axis=1)
    dist = np.linalg.norm(pos - pos[rows, asked][:, None, :], axis=2)
    dist[rows, asked] = np.inf
    closest = np.argmin(dist, axis=1)
    same = (shape == shape[rows, asked][:, None]).sum(axis=1)  # 1 .. 6
    answer = np.select(
        [qtype == 0, qtype == 1, qtype == 2],
        [
            2 + shape[rows, asked],
            (pos[rows, asked, 0] < 0.5).astype(np.int64),
            2 + shape[rows, closest],
        ],
        3 + same,
    ).astype(np.int64)
    return objects, question, answer, qtype.astype(np.int64)


def fixed_batches(n: int, batch: int, seed: int, types=None) -> list:
    """``n`` batches ``(objects, question, answer)`` of :func:`make_batch`, drawn in order from
    ``np.random.default_rng(seed)``: a fixed data set (the question types are dropped)."""
    rng = np.random.default_rng(seed)
    return [make_batch(batch, rng, types)[:3] for _ in range(n)]


def sort_by_colour(objects: np.ndarray) -> np.ndarray:
    """The same scenes with their rows in colour order (row k holds colour k): the slots an MLP
    gets in the control experiment. objects (B, 6, 10) -> (B, 6, 10)."""
    order = np.argsort(np.argmax(objects[:, :, :N_COLOURS], axis=2), axis=1)
    return np.take_along_axis(objects, order[:, :, None], axis=1)
