"""What happens to tasks, events and notes when the record they are about is deleted: they go to
the recycle bin with it and come back with it (as in Salesforce). Imported by the objects that
have activities, so they declare it without importing the activities themselves."""

from app.kit.recycle import Cascade


def activities_of(kind: str, *, person: bool = False) -> tuple[Cascade, ...]:
    """The cascades for a parent of type ``kind`` (``account``, ``lead``, ...): tasks and events
    name it in ``what`` (or ``who`` for a ``person``: a lead or a contact), notes as parent."""
    ref = "who" if person else "what"
    return (
        Cascade("tasks", f"{ref}_id", f"{ref}_type", kind),
        Cascade("events", f"{ref}_id", f"{ref}_type", kind),
        Cascade("notes", "parent_id", "parent_type", kind),
    )


__all__ = ["activities_of"]
