"""The hub's store: SQLAlchemy Core tables, versioned Alembic migrations, and the one-owner rule
(only the hub process opens it). SQLite in WAL mode by default, PostgreSQL by URL."""
