"""Webhook jobs: the sender (``webhooks.send``) and the fan-out consumer of the event
dispatcher live in service.py; importing this module registers them with the worker."""

from app.webhooks.service import fan_out, send

__all__ = ["fan_out", "send"]
