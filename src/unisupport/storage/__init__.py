"""Storage adapter: SQLAlchemy 2 tables, Alembic migrations, the transaction boundary.

SQLite by default (a file in the data folder, WAL, foreign keys on), PostgreSQL in
production through ``UNISUPPORT_DATABASE_URL=postgresql+psycopg://…``. Every table
holding a customer's data carries ``customer_id``; the repositories filter by it."""
