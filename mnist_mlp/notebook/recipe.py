"""The notebook's training recipe as data; every field can be overridden, defaults are the notebook's."""

from __future__ import annotations

import dataclasses

from mnist_mlp.errors import MnistMlpError

MAX_COUNT = 2**31 - 1  # epochs, batches and steps: the backends count them in 32-bit integers


class RecipeError(MnistMlpError, ValueError):
    """A recipe value that cannot train a model (epochs < 1, batch size < 1, ...)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Adam (Keras defaults), categorical cross-entropy, batch 128, 20 epochs, shuffled, validated
    on the test set each epoch, as the notebook's ``model.fit`` calls.

    ``seed`` makes a run reproducible (the notebook used none; we default to 0 so the gate is
    repeatable): it fixes the initial weights and every epoch's order (``mnist_mlp.notebook.draws``) and
    seeds the backend's Dropout masks. ``steps_per_execution`` and ``jit_compile`` change speed,
    not the math: several steps per compiled call cut the per-step Python/dispatch overhead, and
    every value trains the same model bit for bit (tests/test_steps_per_execution.py); the default
    is the fastest measured on JAX and TensorFlow (docs/performance.md); the PyTorch backend does
    not support it and runs 1 (``compat.compile_options``). ``jit_compile`` may change float
    rounding (XLA fuses operations), so unlike ``SPEED_ONLY`` it stays part of a run's identity.
    """

    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 0.001
    seed: int | None = 0
    steps_per_execution: int = 32
    jit_compile: bool | str = "auto"

    def __post_init__(self):
        for field in ("epochs", "batch_size", "steps_per_execution"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_COUNT:
                raise RecipeError(f"{field} must be a whole number from 1 to {MAX_COUNT}, "
                                  f"got {str(value)[:24]}")
        rate = self.learning_rate
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate < float("inf"):
            raise RecipeError(f"learning_rate must be a finite number > 0, got {rate!r}")
        if self.seed is not None and (not isinstance(self.seed, int) or isinstance(self.seed, bool)
                                      or not 0 <= self.seed < 2**32):
            raise RecipeError(f"seed must be a whole number in [0, 2**32) or none, got {self.seed!r}")
        if self.jit_compile not in (True, False, "auto"):
            raise RecipeError(f"jit_compile must be true, false or 'auto', got {self.jit_compile!r}")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# The notebook's recipe (epochs, batch size, learning rate) with what this project adds: seed 0
# and 32 steps per compiled call (speed only). golden/notebook/recipe.json holds the notebook's own.
DEFAULT_RECIPE = Recipe()
# Fields that change how fast a model trains, never what it learns: a run resumes, and a finished
# result is reused, whatever their value.
SPEED_ONLY = ("steps_per_execution",)
