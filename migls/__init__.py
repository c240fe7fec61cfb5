"""migls: the language server and linter for Alembic migration scripts."""

__version__ = "0.1.0"
