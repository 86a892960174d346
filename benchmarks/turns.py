"""Turn-taking between the two builds of an A/B, round by round (benchmarks/ab.py).

``benchmarks/ab.py`` starts one benchmark process per build at the same time, on the same CPUs,
and hands them the core in turns: one timed round of the base, one of the candidate, and so on
(the order alternating every round). Adjacent rounds of the two builds are a fraction of a second
apart, so the machine's slow phases, which on a shared VM last seconds, hit both sides of a pair
alike. The process is told its two pipe ends in ``MNIST_MLP_AB_TURNS=GO_FD,READY_FD``; before
measuring the machine's peak (benchmarks/conftest.py) and before every round (warm-ups included)
it writes one byte to READY ("ready for my turn") and reads one byte from GO (its turn); whatever
it does until it next asks (the peak, building and compiling a model) has the CPUs to itself too.
Without the variable, ``from_env`` is None and rounds run back to back.
"""

from __future__ import annotations

import os

ENV = "MNIST_MLP_AB_TURNS"
TOKEN = b"."


class CoordinatorGone(RuntimeError):
    """The A/B coordinator closed its end: the run was cancelled."""


class Turns:
    """This process's side of the turn-taking protocol (``wait`` is pytest-benchmark's setup)."""

    def __init__(self, go_fd: int, ready_fd: int):
        self.go_fd, self.ready_fd = go_fd, ready_fd

    def wait(self) -> None:
        """Say this process is ready for a round, then block until it is its turn."""
        os.write(self.ready_fd, TOKEN)
        if os.read(self.go_fd, 1) != TOKEN:
            raise CoordinatorGone("benchmarks/ab.py stopped handing out turns")


def from_env() -> Turns | None:
    value = os.environ.get(ENV)
    if not value:
        return None
    go_fd, ready_fd = (int(part) for part in value.split(","))
    return Turns(go_fd, ready_fd)


# This process's turns (None outside benchmarks/ab.py): read once, used by conftest's peak
# measurement and by every timed round.
THIS_PROCESS = from_env()
