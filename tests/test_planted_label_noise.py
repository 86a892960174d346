"""The label-noise plant of benchmarks/planted_defects.py reaches the pool's workers: the training
function it puts in place must pickle (the pool sends it to each worker by reference)."""

from __future__ import annotations

import pickle

import planted_defects

from mnist_mlp.training import train


def test_the_planted_training_function_pickles_by_reference(monkeypatch):
    """Seen: 'Can't pickle local object plant_in_process.<locals>.train_and_evaluate' (exit 3)."""
    monkeypatch.setattr(train, "train_and_evaluate", train.train_and_evaluate)  # restored after
    original = train.train_and_evaluate
    planted_defects.plant_in_process("label_noise:arch1_relu:0.0037:1003")
    planted = train.train_and_evaluate
    assert planted is not original
    assert pickle.loads(pickle.dumps(planted)) is planted
