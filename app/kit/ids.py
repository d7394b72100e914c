"""Identifiers: time-ordered UUID v7 for every primary key."""

import uuid

from uuid_utils import compat


def new_id() -> uuid.UUID:
    return compat.uuid7()
