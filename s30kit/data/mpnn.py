"""Small random molecule-like graphs with typed atoms and typed bonds, for 12_message_passing.

A graph has between ``min_nodes`` and ``max_nodes`` nodes: a random tree (each new node bonds to
an earlier node that still has fewer than 4 bonds, like a valence limit) plus a few extra bonds
that close rings. Every node has one of ``NODE_TYPES`` types, every bond one of ``EDGE_TYPES``
types. A batch is padded to ``max_nodes`` nodes, in the assignment's batch-first layout:

* ``x`` (B, N, NODE_TYPES): one-hot node types, all zeros at padded nodes;
* ``e`` (B, N, N, EDGE_TYPES): one-hot bond types, symmetric (``e[b, v, w] == e[b, w, v]``),
  all zeros where there is no bond, on the diagonal and at padded nodes;
* ``mask`` (B, N): 1.0 at real nodes, 0.0 at padded ones;
* ``y`` (B, N, len(hops)): the node-level targets, for each hop distance k in ``hops`` the number
  of nodes of type 1 exactly k bonds away (shortest path) from the node, 0 at padded nodes.

Every function is deterministic given its generator or seed and returns float64 arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NODE_TYPES", "EDGE_TYPES", "hop_distances", "random_graphs", "hop_targets"]

NODE_TYPES = 3
EDGE_TYPES = 2


def hop_distances(e: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shortest-path lengths (in bonds) between the nodes of each graph.

    Inputs: ``e`` (B, N, N, EDGE_TYPES), ``mask`` (B, N). Returns (B, N, N) int64: the distance
    from v to w, -1 when w cannot be reached from v or either node is padding."""
    adj = np.asarray(e).sum(axis=-1) > 0  # (B, N, N)
    B, N, _ = adj.shape
    dist = np.full((B, N, N), -1, dtype=np.int64)
    real = np.asarray(mask) > 0
    for b in range(B):
        for v in np.flatnonzero(real[b]):
            dist[b, v, v] = 0
            frontier, k = [v], 0
            while frontier:
                k += 1
                nxt = []
                for u in frontier:
                    for w in np.flatnonzero(adj[b, u]):
                        if dist[b, v, w] < 0:
                            dist[b, v, w] = k
                            nxt.append(w)
                frontier = nxt
    return dist


def hop_targets(x: np.ndarray, e: np.ndarray, mask: np.ndarray, hops=(1, 2, 3)) -> np.ndarray:
    """(B, N, len(hops)) float64: for each node and each k in ``hops``, the number of type-1 nodes
    exactly k bonds away from it (0 at padded nodes)."""
    dist = hop_distances(e, mask)  # (B, N, N)
    is_one = np.asarray(x)[:, :, 1] > 0  # (B, N)
    out = np.zeros(dist.shape[:2] + (len(hops),))
    for i, k in enumerate(hops):
        out[:, :, i] = np.sum((dist == k) & is_one[:, None, :], axis=2)
    return out * np.asarray(mask)[:, :, None]


def random_graphs(
    batch: int,
    rng: np.random.Generator,
    min_nodes: int = 6,
    max_nodes: int = 12,
    rings: int = 1,
    hops=(1, 2, 3),
):
    """A padded batch of random graphs: ``(x, e, mask, y)`` as described in the module docstring.

    Draws, per graph and in this order from ``rng``: the number of nodes, the node types, the
    tree (each new node's partner among the earlier nodes with fewer than 4 bonds), the bond
    types, then ``rings`` attempts to add a bond between two random unbonded nodes with fewer
    than 4 bonds each."""
    N = max_nodes
    x = np.zeros((batch, N, NODE_TYPES))
    e = np.zeros((batch, N, N, EDGE_TYPES))
    mask = np.zeros((batch, N))
    for b in range(batch):
        n = int(rng.integers(min_nodes, max_nodes + 1))
        mask[b, :n] = 1.0
        x[b, np.arange(n), rng.integers(0, NODE_TYPES, size=n)] = 1.0
        degree = np.zeros(n, dtype=int)
        bonds = []
        for v in range(1, n):
            free = np.flatnonzero(degree[:v] < 4)
            w = int(free[rng.integers(len(free))])
            bonds.append((v, w))
            degree[v] += 1
            degree[w] += 1
        for _ in range(rings):
            v, w = (int(i) for i in rng.integers(0, n, size=2))
            if v != w and (v, w) not in bonds and (w, v) not in bonds:
                if degree[v] < 4 and degree[w] < 4:
                    bonds.append((v, w))
                    degree[v] += 1
                    degree[w] += 1
        kinds = rng.integers(0, EDGE_TYPES, size=len(bonds))
        for (v, w), k in zip(bonds, kinds):
            e[b, v, w, k] = e[b, w, v, k] = 1.0
    return x, e, mask, hop_targets(x, e, mask, hops)
