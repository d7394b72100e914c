"""Contacts over HTTP: the standard operations of the resource machinery."""

from app.contacts.repository import records
from app.kit.resource import build_router

router = build_router(records)
