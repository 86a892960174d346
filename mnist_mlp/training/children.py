"""Child processes die with their parent: the pool's workers and the GEMM probes call
``die_with_parent`` first thing, so a parent killed even by SIGKILL leaves none running on.

Linux sends the signal when the *thread* that started the child ends: start children from a
thread that lives as long as they do (the main thread). Elsewhere the request is a no-op; the
children then end as their parent's pipes close.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when ``parent`` dies, even by SIGKILL (Linux); if it has died
    already (before the request took effect), die now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
