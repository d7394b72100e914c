"""The fast path: lean endpoints served from a route index, past FastAPI's routing and
dependency solver. Kept because ``bench.run`` shows it buys more than a tenth of a scenario's
rate (docs/PERFORMANCE.md, "Request path"); it reads FastAPI internals, here and nowhere else.

One seam: :func:`install`, called once by ``create_app``. With ``ACCORD_FASTPATH=off`` it does
nothing and FastAPI serves every request itself, lean endpoints included, with the same answers.
``pyproject.toml`` bounds FastAPI below the next minor, and ``tests/kit/test_fastpath.py`` fails,
naming the version, when an upgrade breaks what this reads.
"""

import logging
import os

from app.kit.fastpath import dispatch
from app.kit.fastpath.handlers import MARK, lean

logger = logging.getLogger("accord.fastpath")


def enabled() -> bool:
    return os.environ.get("ACCORD_FASTPATH", "on").strip().lower() not in ("off", "0", "false")


def install(app) -> bool:
    """The fast path in front of the app's routes; False when it is off or cannot be."""
    if not enabled():
        logger.info("fast path off (ACCORD_FASTPATH): FastAPI serves every request")
        return False
    return dispatch.install(app)


__all__ = ["MARK", "enabled", "install", "lean"]
