"""Keras callbacks the training tests share: a simulated Ctrl-C after an epoch, an epoch counter."""

from __future__ import annotations

from mnist_mlp.compat import keras


class StopAfterEpoch(keras.callbacks.Callback):
    """Ctrl-C right after epoch ``epoch`` (0-based) was checkpointed."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class CountEpochs(keras.callbacks.Callback):
    """Records the (0-based) number of every epoch that starts."""

    def __init__(self):
        super().__init__()
        self.started = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started.append(epoch)
