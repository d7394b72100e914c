"""picklists

Configurable picklist values (``picklist_values``), seeded with Salesforce's standard values:
lead statuses (with the converted one), opportunity stages (with probability, forecast category,
closed and won), lead sources, industries, ratings, account ownership, opportunity types,
campaign types and statuses.

Revision ID: b1c0ffee0001
Revises: 04dfaa558cd7
Create Date: 2026-11-23 18:12:17.686775
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1c0ffee0001"
down_revision: str | None = "04dfaa558cd7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Salesforce's standard values, seeded so that a fresh database has them. A frozen copy: the
# application reads the table, where administrators change them.
LEAD_STATUSES = [
    ("Open - Not Contacted", False),
    ("Working - Contacted", False),
    ("Closed - Converted", True),
    ("Closed - Not Converted", False),
]
# (name, probability, forecast category, closed, won), from app/opportunities/stages.py.
STAGES = [
    ("Prospecting", 10, "pipeline", False, False),
    ("Qualification", 10, "pipeline", False, False),
    ("Needs Analysis", 20, "pipeline", False, False),
    ("Value Proposition", 50, "pipeline", False, False),
    ("Id. Decision Makers", 60, "pipeline", False, False),
    ("Perception Analysis", 70, "pipeline", False, False),
    ("Proposal/Price Quote", 75, "pipeline", False, False),
    ("Negotiation/Review", 90, "best_case", False, False),
    ("Closed Won", 100, "closed", True, True),
    ("Closed Lost", 0, "omitted", True, False),
]
PLAIN = {
    # Shared with contacts.lead_source and opportunities.lead_source (LeadSource).
    ("leads", "lead_source"): [
        "Web",
        "Phone Inquiry",
        "Partner Referral",
        "Purchased List",
        "Advertisement",
        "Employee Referral",
        "External Referral",
        "Partner",
        "Public Relations",
        "Seminar - Internal",
        "Seminar - Partner",
        "Trade Show",
        "Word of mouth",
        "Other",
    ],
    # Shared with leads.industry (Industry).
    ("accounts", "industry"): [
        "Agriculture",
        "Apparel",
        "Banking",
        "Biotechnology",
        "Chemicals",
        "Communications",
        "Construction",
        "Consulting",
        "Education",
        "Electronics",
        "Energy",
        "Engineering",
        "Entertainment",
        "Environmental",
        "Finance",
        "Food & Beverage",
        "Government",
        "Healthcare",
        "Hospitality",
        "Insurance",
        "Machinery",
        "Manufacturing",
        "Media",
        "Not For Profit",
        "Other",
        "Recreation",
        "Retail",
        "Shipping",
        "Technology",
        "Telecommunications",
        "Transportation",
        "Utilities",
    ],
    # Shared with leads.rating (AccountRating).
    ("accounts", "rating"): ["Hot", "Warm", "Cold"],
    ("accounts", "ownership"): ["Public", "Private", "Subsidiary", "Other"],
    ("opportunities", "type"): [
        "Existing Customer - Upgrade",
        "Existing Customer - Replacement",
        "Existing Customer - Downgrade",
        "New Customer",
    ],
    ("campaigns", "type"): [
        "Advertisement",
        "Banner Ads",
        "Conference",
        "Direct Mail",
        "Email",
        "Partners",
        "Public Relations",
        "Referral Program",
        "Telemarketing",
        "Trade Show",
        "Webinar",
        "Other",
    ],
    ("campaigns", "status"): ["Planned", "In Progress", "Completed", "Aborted"],
}


def _rows() -> list[dict]:
    rows = []

    def add(obj: str, field: str, i: int, value: str, **attrs) -> None:
        rows.append(
            {
                "id": uuid.uuid4(),
                "object": obj,
                "field": field,
                "value": value,
                "label": value,
                "sort_order": (i + 1) * 10,
                "is_active": True,
                "is_default": False,
                "probability": None,
                "forecast_category": None,
                "is_closed": None,
                "is_won": None,
                "is_converted": None,
                **attrs,
            }
        )

    for i, (value, converted) in enumerate(LEAD_STATUSES):
        add("leads", "status", i, value, is_converted=converted, is_default=i == 0)
    for i, (value, probability, category, closed, won) in enumerate(STAGES):
        add(
            "opportunities",
            "stage",
            i,
            value,
            probability=probability,
            forecast_category=category,
            is_closed=closed,
            is_won=won,
            is_default=i == 0,
        )
    for (obj, field), values in PLAIN.items():
        for i, value in enumerate(values):
            add(obj, field, i, value)
    return rows


def upgrade() -> None:
    table = op.create_table(
        "picklist_values",
        sa.Column("object", sa.String(length=60), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("sort_order", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column(
            "forecast_category",
            sa.Enum(
                "pipeline",
                "best_case",
                "commit",
                "closed",
                "omitted",
                name="forecast_category",
                native_enum=False,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("is_closed", sa.Boolean(), nullable=True),
        sa.Column("is_won", sa.Boolean(), nullable=True),
        sa.Column("is_converted", sa.Boolean(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "NOT is_won OR is_closed", name=op.f("ck_picklist_values_won_is_closed")
        ),
        sa.CheckConstraint(
            "probability BETWEEN 0 AND 100", name=op.f("ck_picklist_values_probability_range")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_picklist_values")),
        sa.UniqueConstraint(
            "object", "field", "value", name=op.f("uq_picklist_values_object_field_value")
        ),
    )
    op.create_index(
        "uq_picklist_values_default",
        "picklist_values",
        ["object", "field"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.bulk_insert(table, _rows())


def downgrade() -> None:
    op.drop_index(
        "uq_picklist_values_default",
        table_name="picklist_values",
        postgresql_where=sa.text("is_default"),
    )
    op.drop_table("picklist_values")
