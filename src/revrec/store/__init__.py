"""The subledger's store: SQLAlchemy Core tables, Alembic migrations, bulk frame moves."""
