"""s30kit: the small helper package of the Sutskever-30 course kit.

Students and the autograder share it: the gradient check (``s30kit.gradcheck``), the given
building blocks (``s30kit.layers``), optimisers and a training loop (``s30kit.optim``),
synthetic data (``s30kit.datasets``) and plot helpers (``s30kit.plots``).
"""

from s30kit.gradcheck import GradReport, check_layer, check_loss, rel_error

__all__ = ["GradReport", "check_layer", "check_loss", "rel_error"]
__version__ = "0.1.0"
