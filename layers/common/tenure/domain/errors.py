"""Typed domain errors; adapters map them to HTTP statuses in one place."""


class DomainError(Exception):
    """Base of every business-rule violation."""


class IllegalTransitionError(DomainError):
    """A command was given to a subscription in a state that does not allow it."""

    def __init__(
        self, command: str, status: str, detail: str = "", entity: str = "subscription"
    ) -> None:
        self.command = command
        self.status = status
        self.entity = entity  # what was in the state: how a customer page names the refusal
        message = (
            f"cannot {command} {'an' if entity[0] in 'aeiou' else 'a'} {entity} that is {status}"
        )
        super().__init__(f"{message}: {detail}" if detail else message)


class ValidationFailedError(DomainError):
    """Input broke a business rule; `field` names where."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class FieldRuleError(ValueError):
    """A rule across a request model's fields, broken by one of them (`field`, a path as
    ValidationFailedError's: `amount`, `tiers[0].unit_amount`), raised in a pydantic model
    validator. pydantic places what such a validator raises on the model as a whole, so
    the field rides along for the edges to place the refusal where it belongs: the API's
    422 `loc` (`["body", "amount"]`), a scenario file's path (`plans[0].amount`). A
    ValueError, so that pydantic reports it as a validation error."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    @classmethod
    def of(cls, refused: ValidationFailedError) -> "FieldRuleError":
        """The domain's refusal, as a model validator raises it."""
        return cls(refused.field, str(refused).removeprefix(f"{refused.field}: "))


class NotFoundError(DomainError):
    """An id that does not exist."""

    def __init__(self, kind: str, entity_id: str) -> None:
        self.kind = kind
        self.entity_id = entity_id
        super().__init__(f"{kind} {entity_id!r} not found")


class AlreadyExistsError(DomainError):
    """An id that is taken."""

    def __init__(self, kind: str, entity_id: str) -> None:
        self.kind = kind
        self.entity_id = entity_id
        super().__init__(f"{kind} {entity_id!r} already exists")


class ConcurrencyError(DomainError):
    """Someone else changed the item since it was read; reload and retry."""


class StaleCopyError(ConcurrencyError):
    """A copy a change was made from (a notice's copy of its customer's contact or of its
    subscription) no longer matches the stored item, or the address it names was suppressed
    meanwhile: nothing was written; read the items and decide again. `what` says which
    check failed ("contact", "suppressed", "subscription", "late_payments")."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(detail)
