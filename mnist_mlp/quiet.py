"""Keep the C++ log lines of TensorFlow, absl and XLA out of the default output.

TensorFlow prints lines such as ``I0000 ... cudart_stub.cc:31] Could not find cuda drivers`` and
``WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`` from C++
before its own log level (``TF_CPP_MIN_LOG_LEVEL``) applies, and XLA its ``E0000 ... NodeDef
mentions attribute use_unbounded_threadpool`` line, straight to file descriptor 2 (TensorFlow
2.15: ``2024-01-01 00:00:00.000000: E ... Unable to register cuDNN factory``). While
``native_logs_hidden()`` is active, descriptor 2 goes through a pipe whose reader drops exactly
those lines (glog-format info, warning and error lines) and passes everything else on, in order.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] [^\]\s]+:\d+\] "  # TensorFlow <= 2.15
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)


@contextlib.contextmanager
def native_logs_hidden() -> Iterator[None]:
    """Filter descriptor 2 for the block (fatal ``F`` lines and all Python output pass)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as lines:
            for line in lines:
                if not NATIVE_LOG_LINE.match(line):
                    os.write(real_stderr, line)

    reader = threading.Thread(target=pump, name="native-log-filter", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # our write end closes: the reader drains what we wrote
        # Child processes may still hold a write end (multiprocessing's resource tracker lives as
        # long as we do), so there is no end of file to wait for: the reader, a daemon thread,
        # goes on filtering their lines until we exit, and keeps its descriptor open for that.
        reader.join(timeout=1)
        if not reader.is_alive():
            os.close(real_stderr)
