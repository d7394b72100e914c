"""Picklists: the configurable values of records' picklist fields (app/models/picklists.py)."""
