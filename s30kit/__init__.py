"""s30kit: the small helper package students install for the Sutskever-30 course kit.

It holds what no assignment grades, so nothing in it is an answer:

* plot helpers (``s30kit.plots``), code lengths in bits (``s30kit.codelength``) and generic
  synthetic tasks (``s30kit.datasets``);
* per-assignment data, one module each: ``s30kit.data.<name>`` (``s30kit.data.char_rnn`` for
  02_char_rnn, ...);
* ``require(f, g, ...)``, which an experiment cell calls first so that, while f or g is not
  written yet, it stops with a ``NotImplementedError`` naming them (``s30kit.firstrun``).

Ready-made blocks that some assignment *does* grade (the gradient check, the optimisers, the
layers, the LSTM) are not here: each assignment that may use them gets them in a ``given/``
folder beside its notebook (``from given.layers import affine_forward``), and the assignment
that grades them does not.
"""

from s30kit.firstrun import require

__all__ = ["require"]
__version__ = "0.1.0"
