"""Run numbers that never repeat across simulator starts, in this process or the next.

Skyvern's ids are 18-digit snowflakes that grow with time. The simulator's are too: a
number is the current wall time in microseconds above a fixed base, bumped past the last
one handed out in this process (so two simulators in one process never share a number) and
past any number a store already holds (so a wall clock set back cannot reuse one). A seed
therefore no longer decides ids; outputs depend on the seed and the task, not on the id.
"""

from __future__ import annotations

import threading
import time

_BASE = 400_000_000_000_000_000
_lock = threading.Lock()
_last = 0


def next_run_number(floor: int = 0) -> int:
    """A number larger than every one handed out in this process and larger than `floor`."""
    global _last
    with _lock:
        number = max(_last + 1, floor + 1, _BASE + time.time_ns() // 1000)
        _last = number
        return number
