"""Custom fields: typed, validated values kept with every record, defined per object."""
