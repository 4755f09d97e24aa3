"""s30kit: the small helper package of the Sutskever-30 course kit.

Students and the autograder share it. Its parts:

* tools every assignment uses: the gradient check (``s30kit.gradcheck``), optimisers and a
  training loop (``s30kit.optim``), plot helpers (``s30kit.plots``), code lengths in bits
  (``s30kit.codelength``) and generic synthetic tasks (``s30kit.datasets``);
* blocks given to later assignments: layers (``s30kit.layers``) and an LSTM
  (``s30kit.recurrent``);
* per-assignment data, one module each: ``s30kit.data.<name>`` (``s30kit.data.char_rnn`` for
  02_char_rnn, ...).
"""

from s30kit.gradcheck import GradReport, check_layer, check_loss, rel_error

__all__ = ["GradReport", "check_layer", "check_loss", "rel_error"]
__version__ = "0.1.0"
