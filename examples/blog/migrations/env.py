"""Alembic's environment script for the blog example.

migls never imports or runs this file; `alembic upgrade` does. Every migration runs with a
`lock_timeout`, so that an ALTER TABLE waiting behind a long transaction gives up instead of
queueing every other query behind it.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool, text

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

# The application's MetaData would go here for autogenerate; the example has none.
target_metadata = None

LOCK_TIMEOUT = "5s"


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        context.run_migrations()


def run_migrations_online() -> None:
    """Connect to the database and run the migrations there."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
        # SQLAlchemy 2 began a transaction for the SET; end it, or Alembic's own
        # begin_transaction() nests inside it and nothing the migrations do is committed.
        connection.commit()
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
