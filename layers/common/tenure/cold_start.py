"""A Lambda container's cold start without the cyclic garbage collector's passes over it.

A handler module's imports build some 90,000 objects (modules, classes, functions) that live
as long as the container and leave almost no cyclic garbage (a few hundred objects). The
collector still walks them while they are built, about a hundred passes (15-20 ms of CPU
time of the webhooks function's 300 ms import), and again in each full collection of the
warm container.

Each functions/*/app.py imports this module first. When it is the process's first module
of the layer (a cold start: Lambda's, or a fresh interpreter importing a handler, as the
bench and the cold-start test do), importing it pauses the collector; `done()`, the last
line of the handler module, freezes what exists then (`gc.freeze`: never walked again, its
few cycles never freed) and resumes the collector. In a process that already holds the
layer (the simulator, `tenure serve`, the tests, which load handlers among their own
objects) it does nothing: freezing those could keep their cycles for the process's life.
"""

import gc
import sys

_paused = gc.isenabled() and not any(
    name.startswith("tenure.") for name in sys.modules if name != __name__
)
if _paused:
    gc.disable()


def done() -> None:
    """The handler module is loaded: freeze what its import built, resume the collector."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
