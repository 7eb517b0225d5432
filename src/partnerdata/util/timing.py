"""A stopwatch for the parts of a long step, so a run can say where its time went."""

from __future__ import annotations

import time


class Stopwatch:
    """``lap(name)`` adds the time since the previous lap (or the start) to ``parts[name]``."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name] = round(self.parts.get(name, 0.0) + now - self._last, 3)
        self._last = now
