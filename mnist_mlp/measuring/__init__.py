"""Measuring: the FLOPs of a step, the GEMM peak, a job's efficiency, and the one reader of
pytest-benchmark JSON."""
