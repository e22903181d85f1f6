"""The SPEC's closed sets of names, each defined once: upload types, stage tabs and statuses, jobs,
policies, methods and their parameters, schedule types, document types, event actions and kinds.

Plain tuples and dicts of strings: no logic, no imports of ours.
"""

from __future__ import annotations

# §4.1 upload types, their stage tabs (§4.4), their keys and accounting dates (§4.5, §4.6).
UPLOAD_TYPES = ("sales_order", "billing", "cost", "event")
TRANSACTION_TYPES = ("sales_order", "billing", "cost")
TABS = ("contracts", "documents", "cost", "events")
TAB_OF_TYPE = {
    "sales_order": "contracts",
    "billing": "documents",
    "cost": "cost",
    "event": "events",
}
KEY_OF_TYPE = {
    "sales_order": "so_line_id",
    "billing": "doc_line_id",
    "cost": "cost_id",
    "event": "event_id",
}
DATE_OF_TYPE = {
    "sales_order": "order_date",
    "billing": "doc_date",
    "cost": "cost_date",
    "event": "event_date",
}
STATUSES = ("pending", "future", "error", "processed", "deleted")

# §2 scheduled jobs, in the order `revrec process` runs them, and the job of each stage tab.
JOBS = ("transaction_import", "event_import", "revenue_process")
JOB_OF_TAB = {
    "contracts": "transaction_import",
    "documents": "transaction_import",
    "cost": "transaction_import",
    "events": "event_import",
}

# §3 modification policies (the first is the default).
POLICIES = ("catch_up", "prospective")
SSP_METHODS = ("residual",)

# §2 recognition methods and their parameters.
TIME_METHODS = ("ratable_daily", "ratable_monthly", "point_in_time")
METHODS = (*TIME_METHODS, "event", "upon_billing")
CONVENTIONS = ("prorate_days", "full_month", "mid_month")
POINTS = ("start", "end", "range_end")

# §3 a billing-driven line's schedule_type: (method, at).
SCHEDULE_TYPES = {
    "evenly": ("ratable_daily", None),
    "at_range_start": ("point_in_time", "start"),
    "at_range_end": ("point_in_time", "range_end"),
}
DEFAULT_SCHEDULE_TYPE = "evenly"

# §4.1 billing document types; the last three refer to an earlier document line.
DOC_TYPES = ("INV", "IVC", "CM", "CMC")
REFERENCING = ("IVC", "CM", "CMC")

# §4.1 costs.
AMORTIZATIONS = ("follow_revenue", "straight_line")

# §5.2 event actions (the first is the default) and how a release is measured.
EVENT_ACTIONS = ("release", "hold", "remove_hold", "accelerate", "expire")
HOLD_ACTIONS = ("hold", "remove_hold", "accelerate", "expire")
PERCENT_KINDS = ("percent", "cumulative_percent")
EVENT_KINDS = (*PERCENT_KINDS, "quantity")

# The journal card's states, in the order of Transfer JE (SPEC §6).
JOURNAL_STATES = ("draft", "approved", "transferred", "summarized")
# A journal line's source (SPEC §6).
JOURNAL_SOURCES = ("billing", "revenue", "reclass", "cost", "amortization")

# The web app's and API's roles (SPEC §2), each allowed what the one before it is, and more.
ROLES = ("viewer", "accountant", "admin")
