"""How long to wait before trying again: exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delays that double from ``initial_s`` up to ``max_s``, each scaled by a random factor.

    The factor, uniform in [1 - jitter, 1], keeps many clients that lost the same server
    from coming back at the same instant. ``delay_s(0)`` is the first retry's delay.
    """

    initial_s: float = 1.0
    max_s: float = 60.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay_s(self, attempt: int) -> float:
        ceiling_s: float = min(self.max_s, self.initial_s * 2.0 ** min(attempt, 32))
        return ceiling_s * float(self.rng.uniform(1.0 - self.jitter, 1.0))
