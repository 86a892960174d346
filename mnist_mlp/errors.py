"""The one base of every expected failure: ``MnistMlpError``.

An expected failure (bad input, a missing or damaged file, a busy folder, a recipe that cannot
train) carries one line that names the problem and the fix; the CLI prints it and exits 2. Any
other exception is a bug: its traceback and exit 3. A failed gate is not an exception (exit 1).
"""


class MnistMlpError(Exception):
    """An expected failure whose message is one line naming the problem and the fix."""


# What a value of the wrong type or size raises inside a reader (a huge int to float, a string
# where a mapping belongs, deep nesting): the file is malformed, never the harness broken. Each
# reader turns these into its own MnistMlpError at its boundary.
MALFORMED = (TypeError, ValueError, OverflowError, RecursionError, AttributeError, KeyError, IndexError)


EXIT_GATE_FAILED = 1  # a gate failed, and nothing else: CI trusts it
EXIT_USAGE = 2  # an expected failure (MnistMlpError, a full disk): one line naming the fix
EXIT_INTERNAL = 3  # an uncaught exception: a bug to report, never a verdict on the models
