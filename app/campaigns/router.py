"""Campaigns and campaign members over HTTP: the standard operations of the resource machinery."""

from app.campaigns.repository import campaigns, members
from app.kit.resource import build_router

campaigns_router = build_router(campaigns)
members_router = build_router(members)
