"""Wall time spent inside AWS calls during a simulation, to tell Tenure's own work from the
store's."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class AwsTimer:
    """Adds up wall time spent inside AWS calls, to tell Tenure's own work from the store's.

    Calls can overlap (the due index is read shard by shard in parallel), so this counts the
    time during which at least one call is in flight, not the sum of the calls."""

    seconds: float = 0.0
    calls: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    _in_flight: int = 0
    _since: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any) -> Any:
        call = client._make_api_call

        def timed(operation: str, params: dict[str, Any]) -> Any:
            with self._lock:
                if self._in_flight == 0:
                    self._since = time.perf_counter()
                self._in_flight += 1
            try:
                return call(operation, params)
            finally:
                with self._lock:
                    self._in_flight -= 1
                    if self._in_flight == 0:
                        self.seconds += time.perf_counter() - self._since
                    self.calls += 1
                    self.by_operation[operation] += 1

        client._make_api_call = timed
        return client
