"""Tasks, events and notes over HTTP: the standard operations of the resource machinery."""

from app.activities.repository import events, notes, tasks
from app.kit.resource import build_router

tasks_router = build_router(tasks)
events_router = build_router(events)
notes_router = build_router(notes)
