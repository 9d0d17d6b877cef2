"""The sandbox provider's idempotency keys, kept as Stripe keeps them: the first answer under
a key is saved and replayed to every retry with the same parameters, a refused request (bad
parameters) is not saved, the same key with other parameters is an error, and a key is
forgotten 24 hours after its first request (the same request sent again is then a new one)."""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tenure.payments.gateway import IdempotencyConflictError

# Stripe forgets an idempotency key 24 hours after its first request: the same request sent
# again after that is a new request (a payment made again, under a new id).
KEY_KEPT_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class _Saved:
    params: tuple[object, ...]
    response: object
    at: int  # when it was saved (the sandbox's clock): forgotten KEY_KEPT_SECONDS after


@dataclass(frozen=True, slots=True)
class StoredError:
    """A 5xx saved as a key's first answer: Stripe replays it to every retry of the key."""

    message: str


class SavedAnswers:
    """The answers saved under the keys not yet forgotten, oldest first."""

    def __init__(self) -> None:
        self._saved: dict[str, _Saved] = {}
        self._order: deque[str] = deque()  # the keys in `_saved`, oldest first

    def __contains__(self, key: object) -> bool:
        return key in self._saved

    def answer[T](
        self, key: str, params: tuple[object, ...], perform: Callable[[], T], now: Callable[[], int]
    ) -> T:
        """The answer saved under `key`, else what `perform` answers, saved at `now()`."""
        saved = self._saved.get(key)
        if saved is not None:
            if saved.params != params:
                raise IdempotencyConflictError(
                    f"Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with ({key})"
                )
            return saved.response  # type: ignore[return-value]
        response = perform()
        self._saved[key] = _Saved(params, response, now())
        self._order.append(key)
        return response

    def forget_old(self, now: Callable[[], int]) -> None:
        """Drops the answers KEY_KEPT_SECONDS old by `now()`, as Stripe prunes its keys."""
        order, saved = self._order, self._saved
        if not order:
            return
        cutoff = now() - KEY_KEPT_SECONDS
        while order and saved[order[0]].at <= cutoff:
            del saved[order.popleft()]
