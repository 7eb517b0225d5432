"""How many cores this process may use: thread pools and the number of sources checked at once follow it."""

from __future__ import annotations

import os

# The CPU affinity, where the system has one (a container or taskset may allow fewer than cpu_count).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
