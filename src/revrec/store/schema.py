"""The subledger's tables (SQLAlchemy Core). Migrations under store/migrations create them.

Money columns are BigInteger minor units; dates are DATE; every name follows the SPEC's words.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

books = sa.Table(
    "books",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("is_primary", sa.Boolean, nullable=False, default=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("independent", sa.Boolean, nullable=False, default=False),
    sa.Column("methods", sa.JSON, nullable=False, default=dict),
)

periods = sa.Table(
    "periods",
    metadata,
    sa.Column("book", sa.String(64), sa.ForeignKey("books.name"), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("status", sa.String(8), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("book", sa.String(64), primary_key=True),  # "" = every book
    sa.Column("scope", sa.String(16), primary_key=True),  # default | template | item
    sa.Column("scope_key", sa.String(128), primary_key=True),  # "" | template name | item code
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("gl_code", sa.String(64), nullable=False),
)

pob_templates = sa.Table(
    "pob_templates",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("method", sa.String(32), nullable=False),
    sa.Column("params", sa.JSON, nullable=False, default=dict),
    sa.Column("events", sa.JSON, nullable=False, default=list),
)

ssp = sa.Table(
    "ssp",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_code", sa.String(128), nullable=False, index=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("ssp", sa.BigInteger),  # unit price, minor units
    sa.Column("ssp_percent_micro", sa.BigInteger),  # percent of list price x 1e6
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_to", sa.Date),
)

mappings = sa.Table(
    "mappings",
    metadata,
    sa.Column("mapping", sa.String(64), primary_key=True),
    sa.Column("upload_type", sa.String(32), primary_key=True),
    sa.Column("attribute", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("upload_name", sa.String(128), nullable=False),
    sa.Column("required", sa.Boolean, nullable=False, default=False),
    sa.Column("type", sa.String(16), nullable=False, default="string"),
    sa.Column("strict", sa.Boolean, nullable=False, default=True),
)

contract_policies = sa.Table(
    "contract_policies",
    metadata,
    sa.Column("contract_id", sa.String(128), primary_key=True),
    sa.Column("modification_policy", sa.String(16), nullable=False),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("every", sa.String(32)),
    sa.Column("cron", sa.String(64)),
    sa.Column("last_run_at", sa.DateTime(timezone=True)),
    sa.Column("last_result", sa.Text),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("file_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("upload_type", sa.String(32), nullable=False),
    sa.Column("mapping", sa.String(64), nullable=False),
    sa.Column("event_name", sa.String(128)),
    sa.Column("uploaded_by", sa.String(64), nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
)

stage_rows = sa.Table(
    "stage_rows",
    metadata,
    sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.file_id"), nullable=False, index=True),
    sa.Column("tab", sa.String(16), nullable=False),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("accounting_date", sa.Date),
    sa.Column("period", sa.String(7)),
    sa.Column("messages", sa.Text, nullable=False, default="[]"),  # JSON list
    sa.Column("changed_by", sa.String(64)),
    sa.Column("changed_at", sa.DateTime(timezone=True)),
    # Only the rows that wait are indexed: marking a million rows processed then takes them out
    # of a small index instead of moving each inside a big one.
    sa.Index(
        "ix_stage_rows_pending",
        "tab",
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index(
        "ix_stage_rows_future",
        "period",
        sqlite_where=sa.text("status = 'future'"),
        postgresql_where=sa.text("status = 'future'"),
    ),
)

# The uploaded rows' attributes as uploaded (after the mapping's renames), per file in chunks
# of Arrow IPC (zstd): columns `line` and one text column per attribute. Kept out of stage_rows
# so that a stage row stays narrow: its status changes cost a small row rewrite.
stage_payloads = sa.Table(
    "stage_payloads",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.file_id"), primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

# What the import's validators made of each good row of a file (amounts in minor units, dates,
# flags, resolved templates), per file in chunks of Arrow IPC (zstd): the columns the validators
# return, `line` the file line. Processing reads these rather than validating the text again.
stage_values = sa.Table(
    "stage_values",
    metadata,
    sa.Column("file_id", sa.Integer, sa.ForeignKey("files.file_id"), primary_key=True),
    sa.Column("chunk", sa.Integer, primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

# The legacy schedules export's input (SPEC §10), kept as processing accepts it: per batch of
# accepted billings of billing-driven lines, Arrow IPC (lz4) sorted by doc_line_id, with the
# line's service dates and template and the attributes uploaded with the billing. None of those
# change once a billing is stored, so a chunk is written once and never rewritten (decision 93).
legacy_rows = sa.Table(
    "legacy_rows",
    metadata,
    sa.Column("chunk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("contract_id", sa.String(128), primary_key=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("billing_driven", sa.Boolean, nullable=False, default=False),
)

line_versions = sa.Table(
    "line_versions",
    metadata,
    sa.Column("line_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("contract_id", sa.String(128), nullable=False, index=True),
    sa.Column("line_no", sa.BigInteger, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("item_code", sa.String(128)),
    sa.Column("pob_template", sa.String(128), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("quantity_micro", sa.BigInteger, nullable=False),
    sa.Column("list_price", sa.BigInteger),
    sa.Column("ssp_unit", sa.BigInteger),
    sa.Column("exclude", sa.Boolean, nullable=False, default=False),
    sa.Column("residual", sa.Boolean, nullable=False, default=False),
    sa.Column("start", sa.Date, nullable=False),
    sa.Column("end", sa.Date),  # exclusive
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("modification_policy", sa.String(16)),
    sa.Column("period", sa.String(7), nullable=False),  # accounting period
    sa.Column("attributes", sa.Text, nullable=False, default="{}"),  # free attributes, JSON
    sa.Column("stage_row_id", sa.BigInteger),
)

allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("line_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("allocated", sa.BigInteger, nullable=False),
)

billings = sa.Table(
    "billings",
    metadata,
    sa.Column("doc_line_id", sa.String(128), primary_key=True),
    sa.Column("doc_type", sa.String(3), nullable=False),
    sa.Column("doc_number", sa.String(128), nullable=False),
    sa.Column("doc_date", sa.Date, nullable=False),
    sa.Column("line_id", sa.String(128), nullable=False, index=True),
    sa.Column("customer_id", sa.String(128), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),  # signed: CM and IVC negative
    sa.Column("ref_doc_line_id", sa.String(128)),
    sa.Column("period", sa.String(7), nullable=False),  # accounting period
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("attributes", sa.Text, nullable=False, default="{}"),
    sa.Column("stage_row_id", sa.BigInteger),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("event_id", sa.String(128), primary_key=True),
    sa.Column("event_name", sa.String(128), nullable=False),
    sa.Column("line_id", sa.String(128), nullable=False, index=True),
    sa.Column("event_date", sa.Date, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(24)),
    sa.Column("value_micro", sa.BigInteger),
    sa.Column("period", sa.String(7), nullable=False),  # accounting period
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("stage_row_id", sa.BigInteger),
)

costs = sa.Table(
    "costs",
    metadata,
    sa.Column("cost_id", sa.String(128), primary_key=True),
    sa.Column("cost_type", sa.String(64), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("cost_date", sa.Date, nullable=False),
    sa.Column("line_id", sa.String(128)),
    sa.Column("contract_id", sa.String(128)),
    sa.Column("amortization", sa.String(16), nullable=False),
    sa.Column("amortization_months", sa.Integer),
    sa.Column("expense_immediately", sa.Boolean, nullable=False, default=False),
    sa.Column("period", sa.String(7), nullable=False),  # accounting period
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("stage_row_id", sa.BigInteger),
)

dirty_lines = sa.Table(
    "dirty_lines",
    metadata,
    sa.Column("line_id", sa.String(128), primary_key=True),
    sa.Column("contract_id", sa.String(128), nullable=False),
)

postings = sa.Table(
    "postings",
    metadata,
    sa.Column("book", sa.String(64), primary_key=True),
    sa.Column("line_id", sa.String(128), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
)

# Contract cost postings per book, cost, period and kind (capitalize, amortize, expense): what
# closed periods posted (never rewritten) and the open period's (replaced by each revenue run).
cost_postings = sa.Table(
    "cost_postings",
    metadata,
    sa.Column("book", sa.String(64), primary_key=True),
    sa.Column("cost_id", sa.String(128), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("kind", sa.String(12), primary_key=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
)

# The journal card of a book and period (SPEC §6): draft -> approved -> transferred ->
# summarized, who moved it when, and the GL export files with their SHA-256.
journals = sa.Table(
    "journals",
    metadata,
    sa.Column("book", sa.String(64), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("approved_by", sa.String(64)),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("transferred_by", sa.String(64)),
    sa.Column("transferred_at", sa.DateTime(timezone=True)),
    sa.Column("summarized_by", sa.String(64)),
    sa.Column("summarized_at", sa.DateTime(timezone=True)),
    sa.Column("summary_file", sa.Text),
    sa.Column("summary_sha256", sa.String(64)),
    sa.Column("detail_file", sa.Text),
    sa.Column("detail_sha256", sa.String(64)),
    # The report figures the journal was approved with (JSON) and the audit entry they were
    # computed after (store.audit.basis_mark): the close reuses them while it is the newest.
    sa.Column("figures", sa.Text),
    sa.Column("figures_mark", sa.BigInteger),
)

# Journal lines per book and period (SPEC §6); the open period's lines of a contract are replaced
# by each revenue run while the journal is a draft; a closed period's are never written.
journal_lines = sa.Table(
    "journal_lines",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("book", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),  # the account role
    sa.Column("gl_code", sa.String(64)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("debit", sa.BigInteger, nullable=False),
    sa.Column("credit", sa.BigInteger, nullable=False),
    sa.Column("contract_id", sa.String(128), nullable=False),
    sa.Column("line_id", sa.String(128)),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("source_id", sa.String(128), nullable=False),
    sa.Index("ix_journal_lines_book_period_contract", "book", "period", "contract_id"),
)

# Balances by account stored when a journal is summarized: the period's debits and credits and
# the closing balance (debit - credit through the period): the subledger's trial balance.
account_balances = sa.Table(
    "account_balances",
    metadata,
    sa.Column("book", sa.String(64), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("account", sa.String(32), primary_key=True),
    sa.Column("gl_code", sa.String(64), primary_key=True),
    sa.Column("currency", sa.String(3), primary_key=True),
    sa.Column("debit", sa.BigInteger, nullable=False),
    sa.Column("credit", sa.BigInteger, nullable=False),
    sa.Column("balance", sa.BigInteger, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity", sa.String(255), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    # The accounting period the entry concerns, when it concerns one (a close, a journal, a run).
    sa.Column("period", sa.String(7)),
    # The hash chain (store.audit): the previous entry's hash, and this entry's.
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The web app's and API's users (SPEC §2): a role (vocab.ROLES) and an argon2 password hash.
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# API tokens for scripts: the SHA-256 of the token (the token itself is shown once, when made).
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
