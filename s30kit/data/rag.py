"""A small knowledge base, its documents and its questions, for 29_rag.

A world has ``n_entities`` entities, each with a value (one of ``n_values``) for each of
``n_relations`` relations: ``values[e, r]``. Document ``e`` is about entity ``e``: its text is
the entity's name and its facts. Embeddings stand in for the encoders of the paper (which are
fixed on the document side): an entity's name is a random vector, a fact ``(r, v)`` another,
and a document embeds as its name plus (optionally) the sum of its facts. A question names an
entity (its query vector is the name) and asks for the values of ``n_slots`` relations, one
answer token per slot. No question says which document holds its answer.

Every function is deterministic given its seed or generator and returns float64 embeddings and
int64 indices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_world", "doc_embeddings", "question_batch", "all_questions", "rewrite_facts"]


def make_world(
    n_entities: int = 50, n_relations: int = 3, n_values: int = 8, dim: int = 16, seed: int = 0
) -> dict:
    """A random world: ``values`` (E, R) int64 in [0, V), ``names`` (E, dim) entity name
    vectors and ``facts`` (R, V, dim) fact vectors, each entry N(0, 1/dim)."""
    rng = np.random.default_rng(seed)
    return {
        "values": rng.integers(0, n_values, size=(n_entities, n_relations)),
        "names": rng.standard_normal((n_entities, dim)) / np.sqrt(dim),
        "facts": rng.standard_normal((n_relations, n_values, dim)) / np.sqrt(dim),
        "n_values": n_values,
    }


def doc_embeddings(world: dict, content: bool = True) -> np.ndarray:
    """(E, dim) document embeddings: each entity's name vector, plus the sum of its facts'
    vectors when ``content`` (a document that embeds its text), or the name alone."""
    docs = world["names"].copy()
    if content:
        for r in range(world["values"].shape[1]):
            docs += world["facts"][r, world["values"][:, r]]  # (E, dim)
    return docs


def question_batch(world: dict, batch: int, n_slots: int, rng: np.random.Generator) -> tuple:
    """``batch`` random questions: entities e (B,) drawn first, then the asked relations rel
    (B, n_slots), both uniform from ``rng``. Returns (q, rel, y, e): the query vectors q (B, dim)
    (the entities' names), rel, the answers y (B, n_slots) = values[e, rel], and e."""
    n_entities, n_relations = world["values"].shape
    e = rng.integers(0, n_entities, size=batch)
    rel = rng.integers(0, n_relations, size=(batch, n_slots))
    y = world["values"][e[:, None], rel]  # (B, n_slots)
    return world["names"][e], rel, y, e


def all_questions(world: dict) -> tuple:
    """Every one-slot question once, entity by entity: (q, rel, y, e) with q (E*R, dim),
    rel (E*R, 1), y (E*R, 1), e (E*R,)."""
    n_entities, n_relations = world["values"].shape
    e = np.repeat(np.arange(n_entities), n_relations)
    rel = np.tile(np.arange(n_relations), n_entities)[:, None]
    return world["names"][e], rel, world["values"][e[:, None], rel], e


def rewrite_facts(world: dict, seed: int) -> dict:
    """The same entities (same names and fact vectors) with every value drawn afresh from
    ``seed``: the world after its documents were rewritten."""
    rng = np.random.default_rng(seed)
    new = dict(world)
    new["values"] = rng.integers(0, world["n_values"], size=world["values"].shape)
    return new
