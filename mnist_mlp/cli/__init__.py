"""The command line: ``mnist-mlp``'s parser (``main``), its argument types, the environment it
checks before any backend starts, and one handler per command."""
