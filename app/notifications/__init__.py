"""In-app notifications per user. ``from app.notifications import notify``."""

from app.notifications.service import notify

__all__ = ["notify"]
