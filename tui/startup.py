"""The app's start without the cyclic garbage collector.

Starting builds a few hundred thousand objects that live as long as the app (Textual's classes and
stylesheets, a thousand runs' rows), and each full collection during the start walked all of them
again: a sixth of the time to the first paint. The collector is paused from before the imports
until the first paint, then the start's garbage is collected once and the collector runs as usual.
(Nothing is frozen out of later collections with gc.freeze: a widget alive at the first paint and
replaced later, like the key bar's keys, would then never be freed.)
"""

from __future__ import annotations

import gc

_paused = False


def pause_collection() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collection() -> None:
    """After the first paint; does nothing unless `pause_collection` paused it (tests, embedding)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.collect()
    gc.enable()
