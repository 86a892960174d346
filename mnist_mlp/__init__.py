"""mnist_mlp: the seven MNIST multilayer perceptrons of a classic Keras notebook, built exactly,
trained with the notebook's recipe, gated against golden results and benchmarked.

Submodules import Keras lazily (through ``mnist_mlp.compat``), so ``mnist_mlp.notebook.data`` works
without paying TensorFlow's start-up cost.
"""

__version__ = "0.1.0"
