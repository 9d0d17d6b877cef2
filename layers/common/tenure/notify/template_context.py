"""The email renderer's Jinja environment: templates looked up in a dict, and a context that
calls the renderer's own helpers and macros directly.

Each email renders two templates, and each of those asks for its layout and macros: six
template lookups, each through Jinja's locked LRU cache (about 5 µs). Templates never change
in a process (no auto-reload), so `EmailEnvironment` keeps what each name gave the first time.

Every `{{ t('key') }}` or `{{ m.p(...) }}` in a template goes through `Context.call`, which
first asks the callable (and its `__call__`) whether it wants the context, the evaluation
context or the environment passed in (`pass_context` and friends): about a tenth of an
email's rendering. The renderer's helpers and Jinja's macros never ask for any of them, so
for those the answer is known: they are called with the same arguments `Context.call` would
pass them (its own keyword arguments `_block_vars` and `_loop_vars` dropped). Any other
callable goes through `Context.call` as before.
"""

from collections.abc import Callable, MutableMapping
from types import MethodType
from typing import Any

from jinja2 import Environment, Template
from jinja2.runtime import Context, Macro

# The functions behind the bound methods a template may call directly (see `direct`).
_DIRECT: set[Callable[..., Any]] = set()


def direct[F: Callable[..., Any]](func: F) -> F:
    """Mark a method as one that takes nothing from Jinja (no `pass_context` or the like):
    bound, a template calls it without the context's checks."""
    if hasattr(func, "jinja_pass_arg"):
        raise TypeError(f"{func.__qualname__} asks Jinja for an argument: call it through Jinja")
    _DIRECT.add(func)
    return func


class DirectCallContext(Context):
    """`Context.call`, without the checks, for macros and the methods marked `direct`."""

    def call(self, obj: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        kind = type(obj)
        if kind is Macro or (kind is MethodType and obj.__func__ in _DIRECT):  # type: ignore[attr-defined]
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return obj(*args, **kwargs)
            except StopIteration:  # as Context.call answers it
                return self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(obj, *args, **kwargs)


class EmailEnvironment(Environment):
    """An Environment whose `get_template` answers a name (and importing template) it was
    asked before with the template it gave then. For templates that do not change while the
    process runs: the environment refuses `auto_reload`."""

    context_class = DirectCallContext

    def __init__(self, **options: Any) -> None:
        if options.get("auto_reload", True):
            raise ValueError("an EmailEnvironment keeps its templates: auto_reload=False")
        super().__init__(**options)
        self._loaded: dict[tuple[Any, ...], Template] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one dict, not Jinja's ChainMap over the environment's:
        every rendering and macro import copies them into its context, and a ChainMap is
        copied a key and a lookup through its maps at a time (a twentieth of a rendering).
        The environment's globals are read when a template loads: set them before."""
        return {**self.globals, **(d or {})}

    def get_template(
        self,
        name: str | Template,
        parent: str | None = None,
        globals: Any = None,  # Jinja's own name for it
    ) -> Template:
        if globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        # The environment and its loader in the key: an overlay shares this dict.
        key = (self, self.loader, name, parent)
        template = self._loaded.get(key)
        if template is None:
            template = self._loaded[key] = super().get_template(name, parent)
        return template
