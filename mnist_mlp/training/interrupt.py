"""One Ctrl-C stops training on every backend, at the next batch or epoch boundary.

Python raises KeyboardInterrupt wherever the main thread happens to be; on JAX that is often
inside a numpy conversion in Keras's log handling, which swallows it, so a run would go on. While
training, ``sigint_stops_training()`` replaces the handler with one that only sets a flag, and
``StopOnInterrupt`` raises KeyboardInterrupt from plain Python at the next batch end (every
``steps_per_execution`` batches) or epoch end, after that epoch's checkpoint was written. A
second Ctrl-C raises at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from mnist_mlp.compat import keras

_requested = threading.Event()


def _on_sigint(signum, frame):
    if _requested.is_set():
        raise KeyboardInterrupt
    _requested.set()


@contextlib.contextmanager
def sigint_stops_training():
    """Install the flag-setting SIGINT handler for the block (main thread only)."""
    _requested.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()


class StopOnInterrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch or epoch end after a Ctrl-C."""

    def _check(self, *args, **kwargs):
        if _requested.is_set():
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_end = _check
