"""Alembic environment: the engine comes from the caller (``Database.migrate``) or,
from the alembic command line, from ``UNISUPPORT_DATABASE_URL``."""

from alembic import context

from unisupport.settings import Settings
from unisupport.storage import tables  # noqa: F401  (registers every table)
from unisupport.storage.base import Base
from unisupport.storage.tables.saved_views import described_by_models

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from unisupport.storage.database import make_engine

    engine = make_engine(Settings.from_env().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Lets a migration be generated for some tables only (several are written in parallel).
        # The search table is the migration's own per dialect (0019): never compared.
        include_name=config.attributes.get("include_name") or described_by_models,
    )
    with context.begin_transaction():
        context.run_migrations()
