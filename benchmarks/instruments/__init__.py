"""The benchmarks' instruments, one ruler for every build measured: the code that pins cores and
sizes thread pools (``cpus``), counts a step's FLOPs and measures the machine's peak
(``roofline``) and calls the compiled train step as fit does (``train_step``). They live beside the
benchmark suite, not in the package under test, so an A/B (benchmarks/ab.py) measures the base and
the candidate ``mnist_mlp`` with this tree's instruments alike, as asv runs one benchmark suite
against every build: only the model library differs between the two sides."""
