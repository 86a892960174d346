"""Training and its safety: the run plan, one (model, seed) trained and written resumably, the
checkpoints, locks and Ctrl-C that keep a run whole, the worker pool and its child processes, and
the result schema every later stage reads."""
