"""Test-only: plant ``$MNIST_MLP_PLANT`` (benchmarks/planted_defects.py) in this process at start-up.

On ``PYTHONPATH`` only for the candidate side of a planted upgrade verdict (``benchmarks/upgrade.py
--plant``), so every process of that side, pool workers included, trains with the defect.
"""

import os
import sys

if os.environ.get("MNIST_MLP_PLANT"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import planted_defects

    planted_defects.plant_in_process(os.environ["MNIST_MLP_PLANT"])
