"""Garbage collection for a long-running server process.

Building the app leaves hundreds of thousands of objects the collector tracks (routes, schemas,
models, SQLAlchemy metadata) for the life of the process, and each full collection walks them
all, stalling every request in flight. After startup they are moved out of the collector's
sight (``gc.freeze``), and the young generation grows larger before it is collected (a request
allocates a few thousand objects). Measurements: docs/PERFORMANCE.md.

Only for processes that serve: tests build many apps in one process, and frozen objects are
never freed.
"""

import gc

# Young objects allowed before a collection; the older generations keep their defaults.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    """Collect once, then freeze what startup built and raise the young threshold."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
