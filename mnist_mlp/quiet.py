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

import atexit
import contextlib
import os
import re
import selectors
import sys
import threading
from collections.abc import Iterator

NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]\s]+:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] [^\]\s]+:\d+\] "  # TensorFlow <= 2.15
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)


POLL_S = 0.1  # how often the filter looks for the end of the process while the pipe is quiet


@contextlib.contextmanager
def native_logs_hidden() -> Iterator[None]:
    """Filter descriptor 2 for the block (fatal ``F`` lines and all Python output pass)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    exiting = threading.Event()
    reader = threading.Thread(target=_pump, args=(read_end, real_stderr, exiting),
                              name="native-log-filter", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # our write end closes: the reader drains what we wrote
        # Child processes may still hold a write end (multiprocessing's resource tracker lives as
        # long as we do), so there may be no end of file to wait for: the reader goes on filtering
        # their lines, and at exit passes on everything already in the pipe before it stops.
        reader.join(timeout=1)
        if reader.is_alive():
            atexit.register(_drain_at_exit, reader, exiting)
        else:
            os.close(real_stderr)


def _pump(read_end: int, real_stderr: int, exiting: threading.Event) -> None:
    """Pass on every line but native log lines, until end of file, or until the process exits
    and the pipe holds nothing more."""
    pending = b""
    selector = selectors.DefaultSelector()  # poll/epoll: any descriptor number
    selector.register(read_end, selectors.EVENT_READ)
    try:
        while True:
            if selector.select(POLL_S):
                chunk = os.read(read_end, 1 << 16)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                _write_all(real_stderr, b"".join(line + b"\n" for line in lines
                                                 if not NATIVE_LOG_LINE.match(line)))
            elif exiting.is_set():
                break
        if not NATIVE_LOG_LINE.match(pending):
            _write_all(real_stderr, pending)
    finally:
        selector.close()
        os.close(read_end)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a signal can cut one write short)."""
    while data:
        data = data[os.write(fd, data):]


def _drain_at_exit(reader: threading.Thread, exiting: threading.Event) -> None:
    """At exit, let the filter pass on what children wrote before the process ends."""
    exiting.set()
    reader.join(timeout=5)
